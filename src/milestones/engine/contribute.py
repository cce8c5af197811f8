"""One event, every target listening to it: enrolment, period, KPI, day rules, progress.

SPEC §6, §8 and §9.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from milestones.domain.customer_periods import CustomerLayout, CustomerPeriods
from milestones.domain.event_context import EventContexts
from milestones.domain.events import Event
from milestones.domain.group_progress import (
    GroupPeriodState,
    achieved_levels,
    period_outcome,
    period_outcomes,
    period_state,
    streak_statuses_of,
    tracks_group_progress,
)
from milestones.domain.kpis import DayRule, Reading, passes_filters, read
from milestones.domain.orgs import Org
from milestones.domain.outcomes import ContributionKind
from milestones.domain.periods import EvaluationType, PeriodWindow
from milestones.domain.placement import LaidCycles, Placement, place
from milestones.domain.progress import Move, UserTarget, apply_amount
from milestones.domain.streaks import StreakStatus
from milestones.domain.target_groups import EnrolmentMethod, Period, TargetGroup
from milestones.engine.catalogue import TrackedTarget
from milestones.engine.working_set import LedgerEntry, WorkingSet

if TYPE_CHECKING:
    from milestones.engine.anchors import AnchorMover


# Effects, placements, moves and ledger entries are made for every target an event reaches
# (some sixty per event in the benchmark): plain slotted dataclasses, as a frozen one's
# ``__init__`` costs three times as much. Nothing changes them once the event is answered.
@dataclass(slots=True)
class Effect:
    """What an event did to one user target (and, for some groups, to the group as a whole)."""

    tracked: TrackedTarget
    user_target: UserTarget
    period: Period
    move: Move
    kind: ContributionKind = ContributionKind.EVENT
    capped: Decimal | None = None
    excess: Decimal | None = None
    group_state: GroupPeriodState | None = None
    group_achieved_now: bool = False
    group_revoked: bool = False
    streaks_achieved: tuple[StreakStatus, ...] = ()
    streaks_revoked: tuple[StreakStatus, ...] = ()
    # Streak statuses name user targets by id; new ones get their real id only when saved.
    streak_user_targets: tuple[tuple[int, UserTarget], ...] = ()

    @property
    def achieves_or_revokes(self) -> bool:
        """Whether something was achieved or taken back: the target, a milestone, a streak
        level or the group as a whole (what ``sideEffects=achievements`` shows)."""
        move = self.move
        return bool(
            move.achieved_now
            or move.milestones_now
            or self.streaks_achieved
            or self.group_achieved_now
            or move.revoked
            or move.milestones_revoked
            or self.streaks_revoked
            or self.group_revoked
        )

    def streak_user_target_id(self, status: StreakStatus) -> int | None:
        """The saved id of the user target that completed a level."""
        for provisional_id, user_target in self.streak_user_targets:
            if status.achieved_user_target_id == provisional_id:
                return user_target.id
        return status.achieved_user_target_id


class GroupWatch:
    """Notes a group's state before an event's moves, and says afterwards what changed."""

    def __init__(self, ws: WorkingSet, user_id: int, now: datetime) -> None:
        self.ws = ws
        self.user_id = user_id
        self.now = now
        self._periods: dict[tuple[int, int], GroupPeriodState] = {}

    def before(self, group: TargetGroup, period_id: int) -> None:
        """Call before moving a user target of ``group`` in ``period_id``."""
        if not tracks_group_progress(group):
            return
        key = (group.id, period_id)
        if key not in self._periods:
            self._periods[key] = period_state(group, self.ws, self.user_id, period_id)

    def annotate(self, effects: list[Effect], at: datetime) -> list[Effect]:
        """The effects with the group's changes attached to the last effect of each group.

        A group achieved by this event is achieved at the event's time (with a SUM
        threshold that can be later than any of its targets' own achievements).
        """
        if not self._periods:  # no unified or streak group moved
            return effects
        last: dict[tuple[int, int], int] = {}
        for index, effect in enumerate(effects):
            last[(effect.tracked.group.id, effect.period.id)] = index
        flipped: dict[int, dict[int, GroupPeriodState]] = {}
        last_of_group: dict[int, int] = {}
        for (group_id, period_id), index in last.items():
            effect = effects[index]
            group = effect.tracked.group
            if not tracks_group_progress(group):
                continue
            before = self._periods[(group_id, period_id)]
            after = period_state(group, self.ws, self.user_id, period_id)
            key = (group_id, period_id, self.user_id)
            if after.achieved and not before.achieved:
                after = replace(after, achieved_at=at)
                self.ws.record_group_achievement(key, at)
            elif before.achieved and not after.achieved:
                self.ws.record_group_achievement(key, None)
            effect.group_state = after
            effect.group_achieved_now = after.achieved and not before.achieved
            effect.group_revoked = before.achieved and not after.achieved
            if after.achieved != before.achieved:
                flipped.setdefault(group_id, {})[period_id] = before
            last_of_group[group_id] = index
        for group_id, befores in flipped.items():
            effect = effects[last_of_group[group_id]]
            group = effect.tracked.group
            if group.tracking_type.is_streak:
                self._with_streaks(effect, group, befores)
        return effects

    def _with_streaks(
        self, effect: Effect, group: TargetGroup, befores: dict[int, GroupPeriodState]
    ) -> None:
        """Streak levels can only move when a period's achievement flips: report what moved."""
        windows = self._customer_windows(effect.tracked, group)
        outcomes = period_outcomes(group, self.ws, self.user_id, self.now, windows)
        # Before the event only the flipped periods differ.
        earlier_outcomes = [
            period_outcome(
                group,
                self.ws,
                self.user_id,
                self.now,
                period,
                befores[period.id],
                windows[index] if windows is not None else None,
            )
            if period.id in befores
            else outcome
            for index, (period, outcome) in enumerate(zip(group.periods, outcomes, strict=True))
        ]
        record = self.ws.care_of(group.id, self.user_id)
        statuses = streak_statuses_of(group, outcomes, record, self.now)
        earlier = streak_statuses_of(group, earlier_outcomes, record, self.now)
        was, now = achieved_levels(earlier), achieved_levels(statuses)
        effect.streaks_achieved = tuple(s for s in statuses if s.rule.id in now - was)
        effect.streaks_revoked = tuple(s for s in statuses if s.rule.id in was - now)
        effect.streak_user_targets = tuple(
            (s.achieved_user_target_id, self.ws.by_id[s.achieved_user_target_id])
            for s in statuses
            if s.achieved_user_target_id in self.ws.by_id
        )

    def _customer_windows(
        self, tracked: TrackedTarget, group: TargetGroup
    ) -> list[PeriodWindow] | None:
        """A per-customer group's windows of the customer, in period order (else None)."""
        if tracked.customer_periods is None:
            return None
        layout = tracked.customer_periods.layout(self.ws.zones.get(self.user_id, ()))
        return layout.in_order_of(group.periods)


class OutOfWindow(Exception):
    """The event's period has ended, retro buffer included."""


class _TooLate:
    """A FIXED placement whose period has ended, retro buffer included."""


_TOO_LATE = _TooLate()
_UNPLACED = object()
_ZERO = Decimal(0)


class Contributor:
    """Applies events of one batch to the working set."""

    def __init__(self, working_set: WorkingSet, org: Org, now: datetime) -> None:
        self.ws = working_set
        self.org = org
        self.now = now
        self.retro = timedelta(days=org.retro_buffer_days)
        self.watch = GroupWatch(working_set, 0, now)
        self.anchors: AnchorMover | None = None  # moves CYCLIC anchors to earlier events
        self.re_anchored = False  # the event being applied moved an anchor
        # Customers' cycles by (group, anchor), laid out once for the whole batch.
        self._cycles: dict[tuple[int, datetime], LaidCycles] = {}
        # Per-customer groups: each customer's windows by (group, customer), once per batch.
        self._layouts: dict[tuple[int, int], CustomerLayout] = {}
        # The event being applied: its FIXED period per group (every target of a group
        # shares the group's periods), or _TOO_LATE.
        self._fixed: dict[int, Placement | _TooLate | None] = {}

    def apply(
        self, event: Event, index: int, listening: list[TrackedTarget]
    ) -> tuple[list[Effect], bool]:
        """The effects of ``event``, and whether a target refused it only for being too late."""
        effects: list[Effect] = []
        too_late = False
        self.begin(event.user_id)
        contexts = EventContexts(event, self.ws.custom_fields.get(event.user_id))
        readings: dict[Hashable, Reading | None] = {}
        for tracked in listening:
            if tracked.filtered and not passes_filters(tracked.target.filters, event):
                continue
            if not tracked.everyone and not self._enrollable(tracked, event):
                continue
            key = tracked.reading_key
            if key in readings:
                reading = readings[key]
            else:
                reading = readings[key] = read(tracked.target, tracked.expression, event, contexts)
            if reading is None:
                continue
            try:
                effects.extend(self._count(tracked, event, index, reading))
            except OutOfWindow:
                too_late = True
        effects = self.watch.annotate(effects, event.event_time)
        if self.re_anchored and self.anchors is not None:
            effects.extend(self.anchors.finish(self))
            self.re_anchored = False
        return effects, too_late

    def begin(self, user_id: int) -> None:
        """Start watching ``user_id``'s groups for one event's moves (see :class:`GroupWatch`)."""
        self.watch = GroupWatch(self.ws, user_id, self.now)
        self._fixed = {}

    def _enrollable(self, tracked: TrackedTarget, event: Event) -> bool:
        method = tracked.target.enrolment_method
        if method is EnrolmentMethod.TRANSACTION:
            return True
        if method is EnrolmentMethod.IMPORT:
            return bool(self.ws.enrolments_of(tracked.id, event.user_id))
        return self.ws.is_member(tracked.audience_ids, event.user_id)

    def _count(
        self, tracked: TrackedTarget, event: Event, index: int, reading: Reading
    ) -> list[Effect]:
        evaluation = tracked.evaluation
        if evaluation is EvaluationType.PERIOD_AGNOSTIC_WINDOW:
            return self._fill_slots(tracked, event, index, reading)
        if evaluation is EvaluationType.FIXED_CALENDAR_WINDOW:
            placement = self._fixed_place(tracked, event)
        else:
            placement = self._cyclic_place(tracked, event)
        if placement is None:
            return []
        user_target = self.user_target(tracked, placement.period, placement.window, event.user_id)
        amount = (
            reading.amount
            if reading.day_rule is None
            else self._after_day_rules(tracked, user_target, event, reading, placement.zone)
        )
        if amount == 0:
            return []
        return [self.move(tracked, user_target, placement.period, event.event_time, index, amount)]

    def _fixed_place(self, tracked: TrackedTarget, event: Event) -> Placement | None:
        """The group's period holding the event: the same for each of the group's targets."""
        group_id = tracked.group.id
        found = self._fixed.get(group_id, _UNPLACED)
        if found is _UNPLACED:
            found = self.place_at(tracked, event.user_id, event.event_time)
            if found is not None and self._too_late(found.window):
                found = _TOO_LATE
            self._fixed[group_id] = found
        if found is _TOO_LATE:
            raise OutOfWindow
        return found  # type: ignore[return-value]

    def _cyclic_place(self, tracked: TrackedTarget, event: Event) -> Placement | None:
        if self._anchor(tracked, event) is None:
            return None
        placement = self.place_at(tracked, event.user_id, event.event_time)
        if placement is not None:
            self._check_open(placement.window)
        return placement

    def place_at(self, tracked: TrackedTarget, user_id: int, instant: datetime) -> Placement | None:
        """The customer's fixed period or cycle of ``tracked`` that holds ``instant``, if any."""
        group = tracked.group
        if tracked.customer_periods is not None:
            layout = self.layout_of(tracked.customer_periods, group.id, user_id)
            return place(group, tracked.periods, tracked.starts, None, instant, layout=layout)
        anchor = self.ws.anchors.get((group.id, user_id))
        cycles = None
        if anchor is not None and tracked.evaluation is EvaluationType.CYCLIC_WINDOW:
            cycles = self.cycles_of(group, anchor)
        return place(group, tracked.periods, tracked.starts, anchor, instant, cycles)

    def layout_of(self, periods: CustomerPeriods, group_id: int, user_id: int) -> CustomerLayout:
        """The customer's windows of a per-customer group, from their zone history."""
        key = (group_id, user_id)
        found = self._layouts.get(key)
        if found is None:
            found = self._layouts[key] = periods.layout(self.ws.zones.get(user_id, ()))
        return found

    def cycles_of(self, group: TargetGroup, anchor: datetime) -> LaidCycles:
        """The customer's cycles of ``group`` from ``anchor`` (laid out once per batch)."""
        key = (group.id, anchor)
        found = self._cycles.get(key)
        if found is None:
            found = self._cycles[key] = LaidCycles(group.cycles_from(anchor))
        return found

    def _anchor(self, tracked: TrackedTarget, event: Event) -> datetime | None:
        """Where the customer's cycle 1 of the group starts; set by their first event."""
        key = (tracked.group.id, event.user_id)
        anchor = self.ws.anchors.get(key)
        if anchor is None:
            anchor = self._first_anchor(tracked, event)
            if anchor is not None:
                self.ws.set_anchor(tracked.group.id, event.user_id, anchor)
        elif event.event_time < anchor and self.anchors is not None:
            anchor = self.anchors.earlier(self, tracked, event, anchor)
        return anchor

    def _first_anchor(self, tracked: TrackedTarget, event: Event) -> datetime | None:
        """Cycle 1 starts at enrolment for imported customers, else at this first event if it
        is accepted (an event too late for its own cycle 1 anchors nothing)."""
        group = tracked.group
        start, end = group.cycle_start, group.closes_at
        if tracked.target.enrolment_method is EnrolmentMethod.IMPORT:
            enrolled = min(e.enrolled_at for e in self.ws.enrolments_of(tracked.id, event.user_id))
            return max(enrolled, start) if start is not None else enrolled
        if start is not None and event.event_time < start:
            return None
        if end is not None and event.event_time >= end:
            return None
        first = next(iter(self.cycles_of(group, event.event_time)), None)
        if first is not None:
            self._check_open(first)
        return event.event_time

    def _too_late(self, window: PeriodWindow) -> bool:
        return self.now >= window.ends_at + self.retro

    def _check_open(self, window: PeriodWindow) -> None:
        if self._too_late(window):
            raise OutOfWindow

    def user_target(
        self, tracked: TrackedTarget, period: Period, window: PeriodWindow, user_id: int
    ) -> UserTarget:
        """The customer's user target of ``tracked`` in ``period``, made when missing."""
        target_id = tracked.target.id
        found = self.ws.find(target_id, period.id, user_id)
        if found is not None:
            return found
        value = tracked.values.get(period.id, _ZERO)
        enrolled_at = self.now
        initial = _ZERO
        for enrolment in self.ws.enrolments_of(target_id, user_id):
            if enrolment.period_id not in (None, period.id):
                continue
            enrolled_at = enrolment.enrolled_at
            if enrolment.target_value is not None:
                value = enrolment.target_value
            names_period = enrolment.period_id == period.id
            if enrolment.initial_value is not None and (
                names_period or window.contains(enrolment.enrolled_at)
            ):
                initial = enrolment.initial_value
            if names_period:
                break
        return self.ws.add(
            UserTarget(
                0,
                target_id,
                period.id,
                user_id,
                period.position,
                window.starts_at,
                window.ends_at,
                value,
                initial,
                None,
                enrolled_at,
            )
        )

    def _after_day_rules(
        self,
        tracked: TrackedTarget,
        user_target: UserTarget,
        event: Event,
        reading: Reading,
        zone: ZoneInfo | None = None,
    ) -> Decimal:
        """VISIT counts once a local day, MAX only what beats the day's best; the day is cut
        in ``zone`` (a per-customer group's zone of the customer's period), else the group's."""
        if reading.day_rule is None:
            return reading.amount
        day_key = event.event_time.astimezone(zone or tracked.zone).date().isoformat()
        day = self.ws.day(user_target, day_key)
        if reading.day_rule is DayRule.VISIT:
            if day.visited:
                return Decimal(0)
            day.visited = day.dirty = True
            return reading.amount
        previous = day.max_value
        if previous is not None and reading.amount <= previous:
            return Decimal(0)
        day.max_value = reading.amount
        day.dirty = True
        return reading.amount - (previous or Decimal(0))

    def _fill_slots(
        self, tracked: TrackedTarget, event: Event, index: int, reading: Reading
    ) -> list[Effect]:
        """Agnostic windows: the reading joins the customer's total, which flows into slots."""
        # Every slot spans the group's dates (stored at creation, to its closes_at).
        window = tracked.periods[0].window
        if not window.contains(event.event_time):
            return []
        self._check_open(window)
        first = self.user_target(tracked, tracked.periods[0], window, event.user_id)
        amount = self._after_day_rules(tracked, first, event, reading)
        if amount == 0:
            return []
        return self.reflow(tracked, event.user_id, amount, event.event_time, index)

    def reflow(
        self,
        tracked: TrackedTarget,
        user_id: int,
        amount: Decimal,
        at: datetime,
        index: int,
        kind: ContributionKind = ContributionKind.EVENT,
        revoke: bool = False,
    ) -> list[Effect]:
        """Agnostic slots hold the flow of the customer's net total (§5, §10).

        ``amount`` joins the total; slot 1 then holds min(total, its value), slot 2 the next
        share, and so on, the last slot keeping what is left. One effect per slot that moved.
        """
        slots = tracked.periods
        window = slots[0].window
        held = [self.ws.find(tracked.id, period.id, user_id) for period in slots]
        left = sum((ut.achieved_value for ut in held if ut is not None), amount)
        effects: list[Effect] = []
        for position, period in enumerate(slots):
            user_target = held[position]
            last = position == len(slots) - 1
            if user_target is None:
                if left <= 0:
                    continue
                user_target = self.user_target(tracked, period, window, user_id)
            share = left if last else min(max(left, Decimal(0)), user_target.target_value)
            left -= share
            move = share - user_target.achieved_value
            if move != 0:
                effects.append(
                    self.move(tracked, user_target, period, at, index, move, kind, revoke)
                )
        return effects

    def move(
        self,
        tracked: TrackedTarget,
        user_target: UserTarget,
        period: Period,
        at: datetime,
        index: int,
        amount: Decimal,
        kind: ContributionKind = ContributionKind.EVENT,
        revoke: bool = False,
    ) -> Effect:
        if tracked.tracks_group:
            self.watch.before(tracked.group, period.id)
        capped: Decimal | None = None
        excess: Decimal | None = None
        if tracked.capping and kind == ContributionKind.EVENT and amount > 0:
            # Count only up to the period's value; the answer says what did not count, and the
            # ledger keeps it (EXCESS), for a return takes back excess first (§10).
            capped = min(amount, user_target.remaining)
            excess = amount - capped
            amount = capped
            if excess:
                self.ws.record(LedgerEntry(index, user_target, excess, ContributionKind.EXCESS))
        move = apply_amount(user_target, amount, at, tracked.target.triggers, revoke=revoke)
        if amount != 0 or excess:
            # A capped contribution that counted nothing keeps its (zero) row beside its
            # EXCESS row: a re-placement replays the two together.
            self.ws.record(LedgerEntry(index, user_target, amount, kind))
        if move.milestones_now:
            self.ws.milestones_added.extend((user_target, t.id, at) for t in move.milestones_now)
        if move.milestones_revoked:
            self.ws.milestones_removed.extend((user_target, t.id) for t in move.milestones_revoked)
        if capped is None:
            return Effect(tracked, user_target, period, move, kind)
        return Effect(tracked, user_target, period, move, kind, capped, excess)
