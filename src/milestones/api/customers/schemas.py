"""Request body of ``PUT /v3/customers/{userId}``: profiles, loyalty type, source, custom fields.

Types are strict; custom fields and channel attributes hold JSON scalars only, with
numbers kept exact (a JSON ``0.1`` is the decimal 0.1).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from milestones.api.target_groups.schemas import MAX_AMOUNT, Input, Str, number_problem

MAX_CUSTOM_FIELDS = 100
MAX_ATTRIBUTES = 20
MAX_NAME_LENGTH = 100
MAX_TEXT_LENGTH = 1000
MAX_ZONE_LENGTH = 64  # customer_zones.zone
_NUMBER_LIMIT = MAX_AMOUNT


def _scalar(name: str, value: object) -> object:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT_LENGTH or "\x00" in value:
            raise ValueError(f"'{name}' must be text of at most {MAX_TEXT_LENGTH} characters")
        return value
    if isinstance(value, int):
        if not -_NUMBER_LIMIT < value < _NUMBER_LIMIT:
            raise ValueError(f"'{name}' must be a finite number below 10^15")
        return value
    if isinstance(value, float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        problem = number_problem(number)
        if problem is not None:
            raise ValueError(f"'{name}' {problem}")
        return number
    raise ValueError(f"'{name}' must be a string, a number, a boolean or null")


def _scalars(limit: int) -> Any:
    def check(value: object) -> dict[str, object]:
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        if len(value) > limit:
            raise ValueError(f"at most {limit} fields are allowed, got {len(value)}")
        checked: dict[str, object] = {}
        for name, item in value.items():
            if not 1 <= len(name) <= MAX_NAME_LENGTH or "\x00" in name:
                raise ValueError(f"field names must be 1 to {MAX_NAME_LENGTH} characters")
            checked[name] = _scalar(name, item)
        return checked

    return check


def _scalar_map_schema(limit: int) -> dict[str, object]:
    return {
        "type": "object",
        "maxProperties": limit,
        "propertyNames": {"minLength": 1, "maxLength": MAX_NAME_LENGTH},
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    }


CustomFields = Annotated[
    dict[str, Any],
    BeforeValidator(_scalars(MAX_CUSTOM_FIELDS)),
    WithJsonSchema(_scalar_map_schema(MAX_CUSTOM_FIELDS)),
]
Attributes = Annotated[
    dict[str, Any],
    BeforeValidator(_scalars(MAX_ATTRIBUTES)),
    WithJsonSchema(_scalar_map_schema(MAX_ATTRIBUTES)),
]


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"'{value}' is not an IANA time zone (e.g. Europe/Berlin)") from exc
    return value


ZoneName = Annotated[
    Str, Field(min_length=1, max_length=MAX_ZONE_LENGTH), AfterValidator(_zone_name)
]
Name = Annotated[Str, Field(max_length=MAX_NAME_LENGTH)]
Word = Annotated[Str, Field(min_length=1, max_length=50)]


class CommChannelIn(Input):
    """A way to reach the customer: ``{"type": "mobile", "value": "918111255499"}``."""

    type: Word
    value: Annotated[Str, Field(min_length=1, max_length=320)]
    accountId: Name | None = None
    primary: StrictBool = False
    verified: StrictBool = False
    subscribed: StrictBool | None = None
    attributes: Attributes | None = None


class ProfileIn(Input):
    """One profile of the customer (the seeds show one, from the ``instore`` source)."""

    firstName: Name | None = None
    lastName: Name | None = None
    commChannels: Annotated[list[CommChannelIn], Field(max_length=20)] = []
    source: Word | None = None
    accountId: Name = ""
    orgSourceId: Annotated[StrictInt, Field(ge=-1, le=2**62)] = -1


class CustomerIn(Input):
    """Body of ``PUT /v3/customers/{userId}``; fields left out keep their stored value."""

    profiles: Annotated[list[ProfileIn], Field(max_length=10)] | None = None
    loyaltyType: Word | None = None
    source: Word | None = None
    customFields: CustomFields | None = None
    # IANA; null clears it (the groups' zones again). Left out, the stored zone stays.
    timeZone: ZoneName | None = None

    @property
    def sets_zone(self) -> bool:
        """Whether the body names ``timeZone`` (a null clears it; left out, it stays)."""
        return "timeZone" in self.model_fields_set
