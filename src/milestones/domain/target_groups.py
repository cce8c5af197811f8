"""Target groups as the engine knows them: tracking types, targets, periods, triggers, streaks.

A group is created once, in full, and read many times; these types are what
the repositories return and what the engine (events) and the user view read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from milestones.domain.care_settings import NO_CARE, CareTimeline, StreakCare
from milestones.domain.periods import (
    EvaluationType,
    FrequencyType,
    PeriodStatus,
    PeriodWindow,
    cyclic_periods,
    group_close,
)


class TrackingType(StrEnum):
    DEFAULT = "DEFAULT"
    UNIFIED = "UNIFIED"
    STREAKS = "STREAKS"
    NON_CONTINUOUS_STREAKS = "NON_CONTINUOUS_STREAKS"
    CAPPING = "CAPPING"

    @property
    def is_streak(self) -> bool:
        return self in _STREAK_TYPES  # asked per group of every user view and batch


_STREAK_TYPES = frozenset((TrackingType.STREAKS, TrackingType.NON_CONTINUOUS_STREAKS))


class TargetEntity(StrEnum):
    TRANSACTION = "TRANSACTION"
    LINEITEM = "LINEITEM"
    EVENT = "EVENT"
    REWARDS = "REWARDS"
    ALTERNATE_CURRENCIES = "ALTERNATE_CURRENCIES"
    POINTS = "POINTS"


class EnrolmentMethod(StrEnum):
    TRANSACTION = "TRANSACTION"
    IMPORT = "IMPORT"
    AUDIENCE_FILTER = "AUDIENCE_FILTER"


class CombinationType(StrEnum):
    ALL = "ALL"
    ANY = "ANY"


class Aggregation(StrEnum):
    SUM = "SUM"
    COUNT = "COUNT"


class AggregateFunction(StrEnum):
    SUM = "SUM"
    COUNT = "COUNT"
    MAX = "MAX"


class TriggerValueType(StrEnum):
    PERCENTAGE = "PERCENTAGE"
    ABSOLUTE = "ABSOLUTE"


class FilterEntity(StrEnum):
    STORE = "STORE"
    ZONE = "ZONE"
    CONCEPT = "CONCEPT"


# Which KPIs (targetType) each entity can measure (SPEC §6.2).
TARGET_TYPES: dict[TargetEntity, frozenset[str]] = {
    TargetEntity.TRANSACTION: frozenset(
        {"COUNT", "SALES", "GROSS_SALES", "QUANTITY", "VISIT", "EXTENDED_FIELD"}
    ),
    TargetEntity.LINEITEM: frozenset(
        {"COUNT", "SALES", "GROSS_SALES", "QUANTITY", "EXTENDED_FIELD"}
    ),
    TargetEntity.EVENT: frozenset({"COUNT", "VISIT", "EVENT_ATTRIBUTE", "EXTENDED_FIELD"}),
    TargetEntity.REWARDS: frozenset({"COUNT", "VISIT"}),
    TargetEntity.ALTERNATE_CURRENCIES: frozenset(
        {"ALL", "REGULAR", "PROMOTION", "ALL_POINTS", "REGULAR_POINTS", "PROMOTIONAL_POINTS"}
    ),
    TargetEntity.POINTS: frozenset(
        {"ALL", "REGULAR", "PROMOTION", "ALL_POINTS", "REGULAR_POINTS", "PROMOTIONAL_POINTS"}
    ),
}

# The event a target listens to when it names none; EVENT targets must name theirs.
DEFAULT_EVENT_NAMES: dict[TargetEntity, str] = {
    TargetEntity.TRANSACTION: "TransactionAdd",
    TargetEntity.LINEITEM: "TransactionAdd",
    TargetEntity.ALTERNATE_CURRENCIES: "PointsEarned",
    TargetEntity.POINTS: "PointsEarned",
    TargetEntity.REWARDS: "RewardIssued",
}

ATTRIBUTE_KPIS = frozenset({"EXTENDED_FIELD", "EVENT_ATTRIBUTE"})
SYSTEM_TRIGGER_NAME = "targetAchieved"
# In the refCodes of a new cyclic or agnostic group's slots; the repository puts the id in.
GROUP_ID_PLACEHOLDER = "{group_id}"


@dataclass(frozen=True, slots=True)
class Audit:
    """Who made or last changed a record, and when (API client ids)."""

    created_at: datetime
    created_by: int
    updated_at: datetime
    updated_by: int


@dataclass(frozen=True, slots=True)
class Period:
    """One stored period (or, for cyclic and agnostic groups, one slot)."""

    id: int
    position: int
    window: PeriodWindow
    description: str | None
    active: bool
    audit: Audit

    @property
    def ref_code(self) -> str:
        return self.window.ref_code

    def status(self, now: datetime) -> PeriodStatus:
        return self.window.status(now)


@dataclass(frozen=True, slots=True)
class DefaultValue:
    """A target's value for one period."""

    id: int
    period_id: int
    value: Decimal


@dataclass(frozen=True, slots=True)
class MilestoneTrigger:
    """A threshold inside a target: PERCENTAGE of the period's value, or ABSOLUTE."""

    id: int
    name: str
    trigger_type: str
    value_type: TriggerValueType
    value: Decimal
    is_active: bool


@dataclass(frozen=True, slots=True)
class Target:
    """What is measured: entity, KPI, event, expression, filters and per-period values."""

    id: int
    group_id: int
    position: int
    name: str
    description: str | None
    active: bool
    entity: TargetEntity
    target_type: str
    event_name: str
    expression: str
    expression_json: str
    filters: list[dict[str, object]]
    enrolment_method: EnrolmentMethod
    audience_filter: list[dict[str, object]]
    extended_field_info: dict[str, object] | None
    alternate_currency_identifier: str | None
    program_id: int | None
    default_values: list[DefaultValue]
    triggers: list[MilestoneTrigger]
    audit: Audit


@dataclass(frozen=True, slots=True)
class StreakLevel:
    """A level of a streak group: achieve the target in ``target_count`` periods."""

    id: int
    name: str
    target_count: int
    audit: Audit


@dataclass(frozen=True, slots=True)
class TargetGroup:
    """A milestone: its schedule, its targets, and for streak groups its levels."""

    id: int
    org_id: int
    name: str
    description: str | None
    active: bool
    preferred_till_id: int | None
    tracking_type: TrackingType
    evaluation_type: EvaluationType
    frequency_type: FrequencyType
    frequency: int
    total_periods: int
    recurring_cycles: int
    cycle_start: datetime | None
    cycle_end: datetime | None
    time_zone: str
    combination_type: CombinationType | None
    unified_aggregation: Aggregation | None
    unified_threshold: Decimal | None
    leaderboard_enabled: bool
    user_created: bool
    audit: Audit
    periods: list[Period] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    streaks: list[StreakLevel] = field(default_factory=list)
    care: StreakCare = NO_CARE
    care_before: tuple[tuple[datetime, StreakCare], ...] = ()  # replaced settings, by until

    @property
    def care_timeline(self) -> CareTimeline:
        return CareTimeline(self.care, self.care_before)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def closes_at(self) -> datetime | None:
        """The exclusive end of the group's dates (``targetCycleEndDate`` as
        :func:`group_close` reads it), where CYCLIC cycles and AGNOSTIC slots stop."""
        return None if self.cycle_end is None else group_close(self.cycle_end, self.zone)

    def cycles_from(self, anchor: datetime) -> Iterator[PeriodWindow]:
        """A customer's cycles of this CYCLIC group, cycle 1 starting at ``anchor``; the last
        one is clipped at the group's end (SPEC §5). Worked out as they are read."""
        return cyclic_periods(
            group_id=self.id,
            zone=self.zone,
            frequency_type=self.frequency_type,
            frequency=self.frequency,
            total_periods=len(self.periods),
            first_event_at=anchor,
            group_end=self.closes_at,
        )

    def active_period(self, now: datetime) -> Period | None:
        """The running period of a fixed-window group (cyclic and agnostic ones have none)."""
        if self.evaluation_type is not EvaluationType.FIXED_CALENDAR_WINDOW:
            return None
        for period in self.periods:
            if period.status(now) is PeriodStatus.RUNNING:
                return period
        return None

    def rule_expression(self) -> str | None:
        """For UNIFIED groups: ``(31132 & 31133)`` for ALL, ``(31132 | 31133)`` for ANY."""
        if self.tracking_type is not TrackingType.UNIFIED:
            return None
        joiner = " | " if self.combination_type is CombinationType.ANY else " & "
        return "(" + joiner.join(str(target.id) for target in self.targets) + ")"


@dataclass(frozen=True, slots=True)
class TriggerDraft:
    name: str
    trigger_type: str
    value_type: TriggerValueType
    value: Decimal
    is_active: bool


@dataclass(frozen=True, slots=True)
class TargetDraft:
    """A validated target, ready to store; ``default_values`` follow the period order."""

    name: str
    description: str | None
    active: bool
    entity: TargetEntity
    target_type: str
    event_name: str
    expression: str
    expression_json: str
    filters: list[dict[str, object]]
    enrolment_method: EnrolmentMethod
    audience_filter: list[dict[str, object]]
    extended_field_info: dict[str, object] | None
    alternate_currency_identifier: str | None
    program_id: int | None
    default_values: list[Decimal]
    triggers: list[TriggerDraft]


@dataclass(frozen=True, slots=True)
class PeriodDraft:
    window: PeriodWindow
    description: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class GroupDraft:
    """A validated target group, ready to store in one transaction.

    Cyclic and agnostic groups store one slot per period; their refCodes need the
    group id, so ``periods`` of those groups carry placeholder windows that the
    repository renames after the insert.
    """

    org_id: int
    name: str
    description: str | None
    active: bool
    preferred_till_id: int | None
    tracking_type: TrackingType
    evaluation_type: EvaluationType
    frequency_type: FrequencyType
    frequency: int
    total_periods: int
    recurring_cycles: int
    cycle_start: datetime | None
    cycle_end: datetime | None
    time_zone: str
    combination_type: CombinationType | None
    unified_aggregation: Aggregation | None
    unified_threshold: Decimal | None
    leaderboard_enabled: bool
    user_created: bool
    periods: list[PeriodDraft]
    targets: list[TargetDraft]
    streaks: list[tuple[str, int]]
    care: StreakCare = NO_CARE
