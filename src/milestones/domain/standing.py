"""A customer's standing in a group: the periods they see and when each runs (SPEC §5, §12).

Pure rules, no storage: a group and what is known of the customer in, rows out.

* FIXED: the group's periods; a period is current when it contains now. A
  ``periodZone: CUSTOMER`` group shows the customer's own windows, cut in their zones
  (:mod:`milestones.domain.customer_periods`); a user target shows its stored window.
* CYCLIC: the customer's own cycles, laid out from their anchor (their earliest accepted
  qualifying event), the last one clipped at the group's end; a customer without an anchor sees the
  group's stored slots spanning its dates, slot 1 current while the group runs.
* AGNOSTIC: every slot spans the group's dates; the current slot is the one being filled
  (the first below its value, or the last once all are full), while the group runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from milestones.domain.customer_periods import ZoneHistory, customer_layout
from milestones.domain.enrolment import EnrolmentRecord
from milestones.domain.group_progress import (
    GroupPeriodState,
    group_rules,
    period_state,
    streak_walk,
)
from milestones.domain.periods import EvaluationType, PeriodWindow
from milestones.domain.placement import (
    customer_windows,
    cut_per_customer,
    is_current,
    slot_being_filled,
)
from milestones.domain.progress import UserTarget
from milestones.domain.streaks import NO_RECORD, CareRecord, StreakStatus, Walk, statuses_of
from milestones.domain.target_groups import (
    EnrolmentMethod,
    Period,
    Target,
    TargetGroup,
)


@dataclass(frozen=True, slots=True)
class Known:
    """What is stored about one customer, indexed for the layout."""

    user_targets: dict[tuple[int, int], UserTarget]
    anchors: dict[int, datetime]
    enrolments: dict[int, list[EnrolmentRecord]]
    audiences: frozenset[int]
    progressed: frozenset[int]
    group_achievements: dict[tuple[int, int], datetime]
    care: dict[int, CareRecord] = field(default_factory=dict)  # streak care, by group
    # Per org, the customer's zone history (oldest first): their per-customer windows.
    zones: dict[int, ZoneHistory] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        user_targets: list[UserTarget],
        anchors: dict[int, datetime],
        enrolments: list[EnrolmentRecord],
        audiences: set[int],
        group_achievements: dict[tuple[int, int], datetime] | None = None,
        care: dict[int, CareRecord] | None = None,
        zones: dict[int, ZoneHistory] | None = None,
    ) -> Known:
        """Index a customer's stored standing."""
        by_target: dict[int, list[EnrolmentRecord]] = {}
        for record in enrolments:
            by_target.setdefault(record.target_id, []).append(record)
        return cls(
            user_targets={(ut.target_id, ut.period_id): ut for ut in user_targets},
            anchors=anchors,
            enrolments=by_target,
            audiences=frozenset(audiences),
            progressed=frozenset(ut.target_id for ut in user_targets),
            group_achievements=group_achievements or {},
            care=care or {},
            zones=zones or {},
        )

    def touches(self, group: TargetGroup) -> bool:
        """Whether anything is stored for the customer on ``group``'s targets."""
        return group.id in self.care or any(
            target.id in self.progressed or target.id in self.enrolments for target in group.targets
        )

    def can_join(self, target: Target) -> bool:
        """Enrolled in (progress or an enrolment) or enrollable for ``target`` (SPEC §8)."""
        method = target.enrolment_method
        if method is EnrolmentMethod.TRANSACTION or target.id in self.enrolments:
            return True
        if target.id in self.progressed:
            return True
        if method is EnrolmentMethod.AUDIENCE_FILTER:
            wanted = {int(str(item["audienceGroupId"])) for item in target.audience_filter}
            return bool(wanted & self.audiences)
        return False


@dataclass(frozen=True, slots=True)
class Row:
    """One entry of ``targets[]``: a target in one period (or cycle, or slot)."""

    target: Target
    period: Period
    window: PeriodWindow
    exclusive_end: bool
    current: bool
    user_target: UserTarget | None
    target_value: Decimal
    enrolled_at: datetime | None


def rows_of(
    group: TargetGroup,
    targets: list[Target],
    known: Known,
    now: datetime,
    periods: list[Period] | None = None,
) -> list[Row]:
    """Every period of ``targets`` the customer can be in, in period order, then target order.

    ``periods`` narrows a FIXED group's layout to those periods (the ones containing ``now``
    when only current rows are wanted); other groups, and per-customer ones (whose running
    period is the customer's own), always lay out all their periods.
    """
    per_customer = cut_per_customer(group)
    fixed = group.evaluation_type is EvaluationType.FIXED_CALENDAR_WINDOW
    if periods is not None and fixed and not per_customer:
        windows = [(period, period.window) for period in periods]
    else:
        zones = known.zones.get(group.org_id, ())
        windows = customer_windows(group, known.anchors.get(group.id), zones)
    exclusive = group.evaluation_type is EvaluationType.CYCLIC_WINDOW
    stored_window = exclusive or per_customer
    rows = []
    for period, period_window in windows:
        for target in targets:
            user_target = known.user_targets.get((target.id, period.id))
            window = period_window
            if user_target is not None and stored_window:
                window = PeriodWindow(window.ref_code, user_target.starts_at, user_target.ends_at)
            enrolment = _enrolment(known.enrolments.get(target.id, []), period.id)
            rows.append(
                Row(
                    target=target,
                    period=period,
                    window=window,
                    exclusive_end=exclusive,
                    current=_is_current(group, target, period, window, known, now),
                    user_target=user_target,
                    target_value=target_value(target, period, user_target, enrolment),
                    enrolled_at=enrolment.enrolled_at if enrolment else None,
                )
            )
    return rows


class _KnownLookup:
    """The engine's user-target lookup over one customer's stored standing."""

    def __init__(self, known: Known) -> None:
        self.known = known

    def find(self, target_id: int, period_id: int, user_id: int) -> UserTarget | None:
        return self.known.user_targets.get((target_id, period_id))

    def group_achieved_at(self, group_id: int, period_id: int, user_id: int) -> datetime | None:
        return self.known.group_achievements.get((group_id, period_id))

    def care_of(self, group_id: int, user_id: int) -> CareRecord:
        return self.known.care.get(group_id, NO_RECORD)


def streaks_of(group: TargetGroup, known: Known, now: datetime) -> list[StreakStatus]:
    """The streak levels of a streak group, by the same rule the engine reports them."""
    return statuses_of(group_rules(group), streak_of(group, known, now))


def streak_of(group: TargetGroup, known: Known, now: datetime) -> Walk:
    """The customer's streak in a streak group (§17): outcomes, run, freezes, risk; a
    per-customer group's periods end when the customer's own windows do."""
    windows = None
    if cut_per_customer(group):
        zones = known.zones.get(group.org_id, ())
        windows = customer_layout(group, zones).in_order_of(group.periods)
    return streak_walk(group, _KnownLookup(known), 0, now, windows)


def group_periods_of(group: TargetGroup, known: Known, rows: list[Row]) -> list[GroupPeriodState]:
    """Whether a unified group as a whole is achieved in each period shown."""
    return group_periods_in(group, known, list(dict.fromkeys(row.period.id for row in rows)))


def group_periods_in(
    group: TargetGroup, known: Known, period_ids: list[int]
) -> list[GroupPeriodState]:
    """Whether a unified group as a whole is achieved in each of ``period_ids``."""
    lookup = _KnownLookup(known)
    return [period_state(group, lookup, 0, period_id) for period_id in period_ids]


def _is_current(
    group: TargetGroup,
    target: Target,
    period: Period,
    window: PeriodWindow,
    known: Known,
    now: datetime,
) -> bool:
    def filling() -> Period:
        return slot_being_filled(
            group.periods, lambda slot: known.user_targets.get((target.id, slot.id))
        )

    return is_current(group, period, window, group.id in known.anchors, filling, now)


def _enrolment(records: list[EnrolmentRecord], period_id: int) -> EnrolmentRecord | None:
    """The enrolment naming this period, else the one for every period."""
    named = [record for record in records if record.period_id == period_id]
    every = [record for record in records if record.period_id is None]
    chosen = named or every
    return chosen[0] if chosen else None


def target_value(
    target: Target,
    period: Period,
    user_target: UserTarget | None,
    enrolment: EnrolmentRecord | None,
) -> Decimal:
    if user_target is not None:
        return user_target.target_value
    if enrolment is not None and enrolment.target_value is not None:
        return enrolment.target_value
    for value in target.default_values:
        if value.period_id == period.id:
            return value.value
    return Decimal(0)
