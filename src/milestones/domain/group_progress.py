"""Where a customer stands on a group as a whole: unified achievement and streak levels (§11).

Both are derived from the customer's user targets each time, so late events and
revocations re-evaluate them without any stored state to repair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from milestones.domain.periods import PeriodWindow
from milestones.domain.progress import UserTarget
from milestones.domain.streaks import (
    NO_RECORD,
    CareRecord,
    PeriodOutcome,
    StreakRule,
    StreakState,
    StreakStatus,
    Walk,
    statuses_of,
    walk,
)
from milestones.domain.target_groups import (
    Aggregation,
    CombinationType,
    Period,
    Target,
    TargetGroup,
    TrackingType,
)

ZERO = Decimal(0)
_NEVER = datetime.max.replace(tzinfo=UTC)


class UserTargetLookup(Protocol):
    """Finds a customer's user target of a target in a period (the working set, or a read)."""

    def find(self, target_id: int, period_id: int, user_id: int) -> UserTarget | None: ...

    def group_achieved_at(self, group_id: int, period_id: int, user_id: int) -> datetime | None:
        """When the group as a whole was achieved in the period, if that was recorded."""
        ...

    def care_of(self, group_id: int, user_id: int) -> CareRecord:
        """The freezes granted and repairs made for the customer in a streak group (§17)."""
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


def _counted_targets(group: TargetGroup) -> list[Target]:
    """The targets a period's achievement counts: the active ones (all, if none is)."""
    return [target for target in group.targets if target.active] or list(group.targets)


def period_state(
    group: TargetGroup, lookup: UserTargetLookup, user_id: int, period_id: int
) -> GroupPeriodState:
    """A period is achieved by the group: every target (ALL, the default) or any target (ANY)
    achieved; with SUM, Σ values ≥ threshold; with COUNT, that many targets achieved."""
    targets = _counted_targets(group)
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
    group: TargetGroup,
    lookup: UserTargetLookup,
    user_id: int,
    now: datetime,
    windows: Sequence[PeriodWindow] | None = None,
) -> list[StreakStatus]:
    """The customer's status on each streak level of a streak group."""
    return statuses_of(group_rules(group), streak_walk(group, lookup, user_id, now, windows))


def streak_walk(
    group: TargetGroup,
    lookup: UserTargetLookup,
    user_id: int,
    now: datetime,
    windows: Sequence[PeriodWindow] | None = None,
) -> Walk:
    """The customer's streak in the group at ``now``: each period's outcome (freezes and
    repairs applied), the run, freezes held, when the run would reset, whether at risk."""
    outcomes = period_outcomes(group, lookup, user_id, now, windows)
    return walk_of(group, outcomes, lookup.care_of(group.id, user_id), now)


def walk_of(
    group: TargetGroup, outcomes: list[PeriodOutcome], record: CareRecord, now: datetime
) -> Walk:
    """:func:`~milestones.domain.streaks.walk` with the group's levels and care settings."""
    return walk(
        group_rules(group),
        outcomes,
        continuous=group.tracking_type is TrackingType.STREAKS,
        care=group.care_timeline,
        record=record,
        now=now,
    )


def period_outcomes(
    group: TargetGroup,
    lookup: UserTargetLookup,
    user_id: int,
    now: datetime,
    windows: Sequence[PeriodWindow] | None = None,
) -> list[PeriodOutcome]:
    """What each period of a streak group holds for the customer, in order; ``windows``
    are the customer's own windows of the periods where they differ from the group's.

    A streak group has a period a day or a week for years, and a customer has achieved a
    target in few of them: a period where no target is achieved is not achieved by any
    rule of :func:`period_state`, so its outcome is written without asking it.
    """
    targets = _counted_targets(group)
    find = lookup.find
    outcomes: list[PeriodOutcome] = []
    for index, period in enumerate(group.periods):
        period_id = period.id
        if any(
            (ut := find(target.id, period_id, user_id)) is not None and ut.achieved_at is not None
            for target in targets
        ):
            state = period_state(group, lookup, user_id, period_id)
        else:
            state = GroupPeriodState(period_id, False, None)
        window = windows[index] if windows is not None else None
        outcomes.append(period_outcome(group, lookup, user_id, now, period, state, window))
    return outcomes


def period_outcome(
    group: TargetGroup,
    lookup: UserTargetLookup,
    user_id: int,
    now: datetime,
    period: Period,
    state: GroupPeriodState,
    window: PeriodWindow | None = None,
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
    window = window or period.window
    return PeriodOutcome(
        position=period.position,
        achieved_at=state.achieved_at,
        user_target_id=user_target.id if user_target else None,
        ended=now >= window.ends_at,
        period_id=period.id,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        started=now >= window.starts_at,
    )


def streak_statuses_of(
    group: TargetGroup,
    outcomes: list[PeriodOutcome],
    record: CareRecord = NO_RECORD,
    now: datetime | None = None,
) -> list[StreakStatus]:
    """The group's streak levels over its periods' outcomes."""
    return statuses_of(group_rules(group), walk_of(group, outcomes, record, now or _NEVER))


def group_rules(group: TargetGroup) -> list[StreakRule]:
    return [StreakRule(level.id, level.name, level.target_count) for level in group.streaks]


def achieved_levels(statuses: Sequence[StreakStatus]) -> set[int]:
    return {status.rule.id for status in statuses if status.status == StreakState.ACHIEVED}
