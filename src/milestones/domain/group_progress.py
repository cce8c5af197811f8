"""Where a customer stands on a group as a whole: unified achievement and streak levels (§11).

Both are derived from the customer's user targets each time, so late events and
revocations re-evaluate them without any stored state to repair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from milestones.domain.periods import PeriodStatus
from milestones.domain.progress import UserTarget
from milestones.domain.streaks import (
    PeriodOutcome,
    StreakRule,
    StreakState,
    StreakStatus,
    streak_statuses,
)
from milestones.domain.target_groups import (
    Aggregation,
    CombinationType,
    Period,
    TargetGroup,
    TrackingType,
)

ZERO = Decimal(0)


class UserTargetLookup(Protocol):
    """Finds a customer's user target of a target in a period (the working set, or a read)."""

    def find(self, target_id: int, period_id: int, user_id: int) -> UserTarget | None: ...

    def group_achieved_at(self, group_id: int, period_id: int, user_id: int) -> datetime | None:
        """When the group as a whole was achieved in the period, if that was recorded."""
        ...


@dataclass(frozen=True, slots=True)
class GroupPeriodState:
    """Whether a unified group as a whole is achieved in one period, and since when."""

    period_id: int
    achieved: bool
    achieved_at: datetime | None


_GROUP_PROGRESS = frozenset(
    (TrackingType.UNIFIED, TrackingType.STREAKS, TrackingType.NON_CONTINUOUS_STREAKS)
)


def tracks_group_progress(group: TargetGroup) -> bool:
    return group.tracking_type in _GROUP_PROGRESS


def period_state(
    group: TargetGroup, lookup: UserTargetLookup, user_id: int, period_id: int
) -> GroupPeriodState:
    """A period is achieved by the group: every target (ALL, the default) or any target (ANY)
    achieved; with SUM, Σ values ≥ threshold; with COUNT, that many targets achieved."""
    targets = [target for target in group.targets if target.active] or list(group.targets)
    found = [lookup.find(target.id, period_id, user_id) for target in targets]
    achieved_times = [
        ut.achieved_at for ut in found if ut is not None and ut.achieved_at is not None
    ]
    if group.tracking_type is not TrackingType.UNIFIED:
        combined = len(achieved_times) == len(targets)
    elif group.combination_type is CombinationType.ANY:
        combined = bool(achieved_times)
    else:
        combined = len(achieved_times) == len(targets)
    threshold = group.unified_threshold
    if combined and group.unified_aggregation is Aggregation.SUM and threshold is not None:
        combined = sum((ut.achieved_value for ut in found if ut is not None), ZERO) >= threshold
    if group.unified_aggregation is Aggregation.COUNT and threshold is not None:
        combined = len(achieved_times) >= threshold
    if not combined or not achieved_times:
        return GroupPeriodState(period_id, False, None)
    recorded = lookup.group_achieved_at(group.id, period_id, user_id)
    if recorded is not None:
        return GroupPeriodState(period_id, True, recorded)
    if group.combination_type is CombinationType.ANY and group.unified_aggregation is None:
        return GroupPeriodState(period_id, True, min(achieved_times))
    return GroupPeriodState(period_id, True, max(achieved_times))


def streak_progress(
    group: TargetGroup, lookup: UserTargetLookup, user_id: int, now: datetime
) -> list[StreakStatus]:
    """The customer's status on each streak level of a streak group."""
    return streak_statuses_of(group, period_outcomes(group, lookup, user_id, now))


def period_outcomes(
    group: TargetGroup, lookup: UserTargetLookup, user_id: int, now: datetime
) -> list[PeriodOutcome]:
    """What each period of a streak group holds for the customer, in order."""
    return [
        period_outcome(
            group, lookup, user_id, now, period, period_state(group, lookup, user_id, period.id)
        )
        for period in group.periods
    ]


def period_outcome(
    group: TargetGroup,
    lookup: UserTargetLookup,
    user_id: int,
    now: datetime,
    period: Period,
    state: GroupPeriodState,
) -> PeriodOutcome:
    """One period's outcome: its achievement, and the user target that made it."""
    user_target = (
        next(
            (
                ut
                for target in group.targets
                if (ut := lookup.find(target.id, period.id, user_id)) is not None
                and ut.achieved_at == state.achieved_at
            ),
            None,
        )
        if state.achieved
        else None
    )
    return PeriodOutcome(
        position=period.position,
        achieved_at=state.achieved_at,
        user_target_id=user_target.id if user_target else None,
        ended=period.status(now) is PeriodStatus.ENDED,
    )


def streak_statuses_of(group: TargetGroup, outcomes: list[PeriodOutcome]) -> list[StreakStatus]:
    """The group's streak levels over its periods' outcomes."""
    rules = [StreakRule(level.id, level.name, level.target_count) for level in group.streaks]
    continuous = group.tracking_type is TrackingType.STREAKS
    return streak_statuses(rules, outcomes, continuous=continuous)


def achieved_levels(statuses: Sequence[StreakStatus]) -> set[int]:
    return {status.rule.id for status in statuses if status.status == StreakState.ACHIEVED}
