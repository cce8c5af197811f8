"""What a client asks for when it creates or changes a target group, as plain values.

The API maps its request bodies to these; the rules (:mod:`milestones.domain.group_rules`,
:mod:`milestones.domain.group_updates`) check them. Enums and numbers arrive typed; dates
stay text, because they are read in the group's zone, which the rules settle first.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from milestones.domain.periods import EvaluationType, FrequencyType
from milestones.domain.streak_care import CareInput
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


@dataclass(frozen=True, slots=True)
class PeriodInput:
    """One explicit period; ``id`` names a stored one when a group is changed.

    >>> PeriodInput("Q1", "2024-01-01", "2024-03-31").active
    True
    """

    ref_code: str
    start_date: str
    end_date: str
    description: str | None = None
    active: bool = True
    id: int | None = None


@dataclass(frozen=True, slots=True)
class TriggerInput:
    """A milestone trigger of a target."""

    name: str
    value_type: TriggerValueType
    value: Decimal
    is_active: bool = True


@dataclass(frozen=True, slots=True)
class FilterInput:
    """Stores, zones or concepts a target is limited to."""

    entity_type: FilterEntity
    entity_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ExtendedFieldInput:
    """The attribute an EXTENDED_FIELD or EVENT_ATTRIBUTE target measures."""

    name: str | None = None
    aggregate_function: AggregateFunction | None = None
    aggregate_window: str | None = None


@dataclass(frozen=True, slots=True)
class DefaultValueInput:
    """A target value, for the period ``period_id`` names or for the one at its position."""

    value: Decimal
    period_id: int | None = None


@dataclass(frozen=True, slots=True)
class TargetInput:
    """One target of a new group."""

    name: str
    entity: TargetEntity
    target_type: str
    description: str | None = None
    active: bool = True
    event_name: str | None = None
    expression: str | bool | None = None
    expression_json: str | dict[str, object] | None = None
    filters: tuple[FilterInput, ...] = ()
    enrolment_method: EnrolmentMethod = EnrolmentMethod.TRANSACTION
    audience_group_ids: tuple[int, ...] = ()
    default_value: Decimal | None = None
    default_values: tuple[DefaultValueInput, ...] | None = None
    extended_field: ExtendedFieldInput | None = None
    triggers: tuple[TriggerInput, ...] = ()
    alternate_currency_identifier: str | None = None
    program_id: int | None = None


@dataclass(frozen=True, slots=True)
class StreakInput:
    """A streak level: the target reached in ``target_count`` periods."""

    name: str
    target_count: int


@dataclass(frozen=True, slots=True)
class GroupInput:
    """A new target group, as asked for; ``time_zone_name`` None means the org's zone."""

    name: str
    tracking_type: TrackingType
    evaluation_type: EvaluationType
    frequency_type: FrequencyType
    frequency: int
    total_periods: int
    recurring_cycles: int
    targets: tuple[TargetInput, ...]
    description: str | None = None
    active: bool = True
    preferred_till_id: int | None = None
    cycle_start: str | None = None
    cycle_end: str | None = None
    time_zone_name: str | None = None
    periods: tuple[PeriodInput, ...] = ()
    streaks: tuple[StreakInput, ...] = ()
    combination_type: CombinationType | None = None
    unified_aggregation: Aggregation | None = None
    unified_threshold: Decimal | None = None
    leaderboard_enabled: bool = False
    user_created: bool = False
    care: CareInput | None = None


@dataclass(frozen=True, slots=True)
class TargetEdit:
    """Changes to one stored target; None leaves a field as it is."""

    id: int
    name: str | None = None
    description: str | None = None
    active: bool | None = None
    expression: str | bool | None = None
    expression_json: str | dict[str, object] | None = None
    default_value: Decimal | None = None
    default_values: tuple[DefaultValueInput, ...] | None = None
    entity: TargetEntity | None = None
    target_type: str | None = None
    event_name: str | None = None
    enrolment_method: EnrolmentMethod | None = None


@dataclass(frozen=True, slots=True)
class GroupEdit:
    """Changes to a stored group; None leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    active: bool | None = None
    tracking_type: TrackingType | None = None
    evaluation_type: EvaluationType | None = None
    frequency_type: FrequencyType | None = None
    frequency: int | None = None
    total_periods: int | None = None
    recurring_cycles: int | None = None
    time_zone_name: str | None = None
    periods: tuple[PeriodInput, ...] | None = None
    targets: tuple[TargetEdit, ...] | None = None
    care: CareInput | None = None
