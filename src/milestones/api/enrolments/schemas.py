"""Request body of ``POST /v3.1/targetGroups/{groupId}/targets/{targetId}/enroll``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, StrictBool, StrictInt, WithJsonSchema

from milestones.api.target_groups.schemas import Input, Str, exact_number

UserId = Annotated[StrictInt, Field(ge=1, le=2**62)]
PositiveAmount = Annotated[
    Decimal,
    BeforeValidator(exact_number),
    Field(gt=0),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0}),
]
NonNegativeAmount = Annotated[
    Decimal,
    BeforeValidator(exact_number),
    Field(ge=0),
    WithJsonSchema({"type": "number", "minimum": 0}),
]


class EnrolmentIn(Input):
    """One customer into one IMPORT target, for one period or (no ``periodRefCode``) for all."""

    userId: UserId
    periodRefCode: Annotated[Str, Field(min_length=1, max_length=100)] | None = None
    targetValue: PositiveAmount | None = None
    initialValue: NonNegativeAmount | None = None
    resetStreak: StrictBool = False
