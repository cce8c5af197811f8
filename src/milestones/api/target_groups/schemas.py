"""Request bodies of the target-group API, in the seeds' field names.

Types are strict (a string is not a number, ``"yes"`` is not a boolean); fields
the server makes (``id``, ``attribution``, ``createdOn``...) are accepted and
ignored, so a group read back can be sent again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from milestones.domain.care_settings import PeriodZone
from milestones.domain.periods import EvaluationType, FrequencyType
from milestones.domain.target_groups import (
    AggregateFunction,
    Aggregation,
    CombinationType,
    EnrolmentMethod,
    FilterEntity,
    TargetEntity,
    TrackingType,
    TriggerValueType,
)

MAX_AMOUNT = Decimal(10) ** 15
_MILLI = Decimal("0.001")


def number_problem(number: Decimal) -> str | None:
    """What keeps a decimal from being a KPI value (SPEC §2), or None.

    Only comparisons here: arithmetic on ``1E+999999999`` would overflow the context.
    """
    if not number.is_finite():
        return "must be a finite number"
    if number.copy_abs() >= MAX_AMOUNT:
        return "must be below 10^15 in absolute value"
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3 and number != number.quantize(_MILLI):
        return "must have at most 3 decimal places"
    return None


_MAX_INT = int(MAX_AMOUNT)  # the same bound, compared without a Decimal


def exact_number(value: object) -> Decimal:
    """A JSON number as an exact decimal with at most 3 places, below 10^15."""
    if type(value) is int and -_MAX_INT < value < _MAX_INT:
        # The common case (a whole amount), checked in a fifth of the time of the rest.
        return Decimal(value).quantize(_MILLI)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise ValueError("must be a number")
    if isinstance(value, int) and not -MAX_AMOUNT < value < MAX_AMOUNT:
        raise ValueError("must be below 10^15 in absolute value")
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    problem = number_problem(number)
    if problem is not None:
        raise ValueError(problem)
    return number.quantize(_MILLI)


def non_negative_number(value: object) -> Decimal:
    """:func:`exact_number`, and 0 or more."""
    number = exact_number(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def no_nul(value: str) -> str:
    """Text PostgreSQL can store: no NUL characters."""
    if "\x00" in value:
        raise ValueError("text may not contain NUL (\\u0000) characters")
    return value


def tracking_type(value: object) -> object:
    return "STREAKS" if value == "STREAK" else value


Str = Annotated[StrictStr, AfterValidator(no_nul)]
Amount = Annotated[Decimal, BeforeValidator(exact_number), WithJsonSchema({"type": "number"})]
NonNegativeAmount = Annotated[
    Decimal,
    BeforeValidator(non_negative_number),
    WithJsonSchema({"type": "number", "minimum": 0}),
]


MAX_EXPRESSION = 2000
MAX_EXPRESSION_JSON = 20000


def _expression(value: object) -> str | bool | None:
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValueError("must be text or a boolean")
    if len(value) > MAX_EXPRESSION:
        raise ValueError(f"expression is longer than {MAX_EXPRESSION:,} characters")
    return no_nul(value)


def _expression_json(value: object) -> str | dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a JSON object, or JSON text")
    if len(value) > MAX_EXPRESSION_JSON:
        raise ValueError(f"expressionJson is longer than {MAX_EXPRESSION_JSON:,} characters")
    return no_nul(value)


# One validator each, not a union: a union's errors name pydantic's inner validators.
Expression = Annotated[
    str | bool | None,
    PlainValidator(_expression),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_EXPRESSION},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]
ExpressionJson = Annotated[
    str | dict[str, Any] | None,
    PlainValidator(_expression_json),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_EXPRESSION_JSON},
                {"type": "object"},
                {"type": "null"},
            ]
        }
    ),
]
Id = Annotated[StrictInt, Field(ge=0, le=2**62)]
Text255 = Annotated[Str, Field(max_length=255)]


class Input(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class PeriodIn(Input):
    id: Id | None = None
    refCode: Annotated[Str, Field(min_length=1, max_length=100)]
    startDate: Annotated[Str, Field(max_length=40)]
    endDate: Annotated[Str, Field(max_length=40)]
    description: Text255 | None = None
    active: StrictBool = True
    periodStatus: Any = None


class TriggerIn(Input):
    triggerName: Annotated[Str, Field(min_length=1, max_length=200)]
    triggerValueType: TriggerValueType
    triggerValue: Amount
    isActive: StrictBool = True


class FilterIn(Input):
    entityType: FilterEntity
    entityIds: Annotated[list[Id], Field(max_length=10_000)] = []


class AudienceFilterIn(Input):
    audienceGroupId: Id


class ExtendedFieldInfoIn(Input):
    name: Annotated[Str, Field(min_length=1, max_length=200)] | None = None
    aggregateFunction: AggregateFunction | None = None
    aggregateWindow: Annotated[Str, Field(max_length=50)] | None = None


class DefaultValueIn(Input):
    periodId: Id | None = None
    defaultValue: Amount


class TargetIn(Input):
    id: Id | None = None
    name: Annotated[Str, Field(min_length=1, max_length=200)]
    description: Text255 | None = None
    active: StrictBool = True
    targetEntity: TargetEntity
    targetType: Annotated[Str, Field(min_length=1, max_length=40)]
    eventName: Annotated[Str, Field(min_length=1, max_length=200)] | None = None
    expression: Expression = None
    expressionJson: ExpressionJson = None
    filters: Annotated[list[FilterIn], Field(max_length=10)] = []
    enrolmentMethod: EnrolmentMethod = EnrolmentMethod.TRANSACTION
    targetAudienceFilter: Annotated[list[AudienceFilterIn], Field(max_length=20)] = []
    defaultValue: Amount | None = None
    defaultValues: Annotated[list[DefaultValueIn], Field(max_length=100)] | None = None
    extendedFieldInfo: ExtendedFieldInfoIn | None = None
    targetMilestoneTriggers: Annotated[list[TriggerIn], Field(max_length=20)] = []
    alternateCurrencyIdentifier: Annotated[Str, Field(min_length=1, max_length=200)] | None = None
    programId: Id | None = None


class StreakIn(Input):
    name: Annotated[Str, Field(min_length=1, max_length=200)]
    targetCountOfSequence: StrictInt


class StreakFreezesIn(Input):
    """``streakFreezes`` (§17): hold up to ``maxHeld``; one granted every
    ``grantEveryAchieved`` achieved periods (left out: granted only by support)."""

    maxHeld: StrictInt
    grantEveryAchieved: StrictInt | None = None


class CareIn(Input):
    """The streak-care fields (§17), shared by create and PUT."""

    streakFreezes: StreakFreezesIn | None = None
    repairWindowDays: StrictInt | None = None
    maxRepairs: StrictInt | None = None
    atRiskHours: StrictInt | None = None
    periodZone: PeriodZone | None = None


class UnifiedIn(Input):
    aggregation: Aggregation | None = None
    thresholdValue: Amount | None = None


class TargetGroupCreate(CareIn):
    """Body of ``POST /v3/targetGroups``."""

    name: Annotated[Str, Field(min_length=1)]
    description: Text255 | None = None
    active: StrictBool = True
    preferredTillId: Id | None = None
    trackingType: Annotated[TrackingType, BeforeValidator(tracking_type)]
    targetEvaluationType: EvaluationType
    frequencyType: FrequencyType
    frequency: Annotated[StrictInt, Field(ge=0, le=1000)]
    totalPeriods: Annotated[StrictInt, Field(ge=1, le=100)]
    recurringCycles: Annotated[StrictInt, Field(ge=-1, le=100)]
    targetCycleStartDate: Annotated[Str, Field(max_length=40)] | None = Field(
        default=None, validation_alias=AliasChoices("targetCycleStartDate", "fromDate")
    )
    targetCycleEndDate: Annotated[Str, Field(max_length=40)] | None = Field(
        default=None, validation_alias=AliasChoices("targetCycleEndDate", "toDate")
    )
    timeZoneName: Annotated[Str, Field(min_length=1, max_length=64)] | None = None
    periods: Annotated[list[PeriodIn], Field(max_length=100)] = []
    targets: Annotated[list[TargetIn], Field(min_length=1, max_length=50)]
    streaks: Annotated[list[StreakIn], Field(max_length=10)] = []
    combinationType: CombinationType | None = None
    unifiedTargetExpression: UnifiedIn | None = None
    leaderboardEnabled: StrictBool = False
    userCreated: StrictBool = False
    # A BACKFILL job made with the group, in its transaction (SPEC §16).
    backfill: StrictBool = False


class TargetUpdate(Input):
    id: Id
    name: Annotated[Str, Field(min_length=1, max_length=200)] | None = None
    description: Text255 | None = None
    active: StrictBool | None = None
    expression: Expression = None
    expressionJson: ExpressionJson = None
    defaultValue: Amount | None = None
    defaultValues: Annotated[list[DefaultValueIn], Field(max_length=100)] | None = None
    targetEntity: TargetEntity | None = None
    targetType: Str | None = None
    eventName: Str | None = None
    enrolmentMethod: EnrolmentMethod | None = None


class TargetGroupUpdate(CareIn):
    """Body of ``PUT /v3/targetGroups/{id}``: only what does not rewrite history may change."""

    name: Str | None = None
    description: Text255 | None = None
    active: StrictBool | None = None
    trackingType: Annotated[TrackingType, BeforeValidator(tracking_type)] | None = None
    targetEvaluationType: EvaluationType | None = None
    frequencyType: FrequencyType | None = None
    frequency: StrictInt | None = None
    totalPeriods: StrictInt | None = None
    recurringCycles: StrictInt | None = None
    timeZoneName: Str | None = None
    periods: Annotated[list[PeriodIn], Field(max_length=100)] | None = None
    targets: Annotated[list[TargetUpdate], Field(max_length=50)] | None = None


TrackingFilter = Literal[
    "DEFAULT", "UNIFIED", "STREAKS", "STREAK", "NON_CONTINUOUS_STREAKS", "CAPPING"
]
