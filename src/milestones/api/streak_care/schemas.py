"""Request bodies of the streak-care endpoints (SPEC §17)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

from milestones.api.target_groups.schemas import Input

MAX_GRANT = 100
GroupId = Annotated[StrictInt, Field(ge=1, le=2**62)]


class FreezeGrantIn(Input):
    """Body of ``POST /v3.1/users/{userId}/streakFreezes``."""

    targetGroupId: GroupId
    count: Annotated[StrictInt, Field(ge=1, le=MAX_GRANT)] = 1


class RepairIn(Input):
    """Body of ``POST /v3.1/users/{userId}/streaks/repair``."""

    targetGroupId: GroupId
    periodId: Annotated[StrictInt, Field(ge=1, le=2**62)]
