"""What the console's pages show, read through the API's own services and repositories.

A customer's standing is the user view's read (:func:`read_standing`, the catalogue cache,
:func:`rows_of`, :func:`streak_of`); a group's periods are the stored group's; nothing
here decides a rule of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection

from milestones.api.user_view.prepared import ViewCache
from milestones.api.user_view.service import read_standing, scoped_prepared
from milestones.domain.periods import EvaluationType, PeriodStatus
from milestones.domain.progress import threshold
from milestones.domain.standing import Known, Row, rows_of, streak_of
from milestones.domain.streaks import PeriodResult, Walk
from milestones.domain.target_groups import (
    SYSTEM_TRIGGER_NAME,
    Period,
    Target,
    TargetGroup,
    TrackingType,
)
from milestones.engine.catalogue import CatalogueCache
from milestones.store.console_reads import (
    CustomerEvent,
    PeriodFigures,
    group_figures,
    latest_events,
)
from milestones.store.target_groups import GroupFilter, TargetGroupRepository

MAX_GROUPS = 500


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """A line of the groups page."""

    group: TargetGroup
    running: Period | None
    figures: PeriodFigures  # the running period's, else every period's added up

    @property
    def achieved(self) -> int:
        return self.figures.group_achieved if whole_group(self.group) else self.figures.achieved


def whole_group(group: TargetGroup) -> bool:
    """Whether the group is achieved as a whole (UNIFIED), not target by target."""
    return group.tracking_type is TrackingType.UNIFIED


def summaries(connection: Connection, org_id: int, now: datetime) -> list[GroupSummary]:
    """Every group of the org (newest first), with the figures of its running period."""
    where = GroupFilter(org_ids=[org_id], include_user_created=True)
    groups, _ = TargetGroupRepository(connection).page(where, MAX_GROUPS, 0)
    figures = group_figures(connection, org_id, [group.id for group in groups])
    found = []
    for group in groups:
        running = group.active_period(now)
        per_period = figures.get(group.id, {})
        if running is not None:
            shown = per_period.get(running.id, PeriodFigures())
        else:
            shown = _added(per_period.values())
        found.append(GroupSummary(group, running, shown))
    return found


def _added(figures: Iterable[PeriodFigures]) -> PeriodFigures:
    """Periods' figures summed: a customer counts once per period they are in."""
    total = PeriodFigures()
    for entry in figures:
        total.with_progress += entry.with_progress
        total.achieved += entry.achieved
        total.group_achieved += entry.group_achieved
    return total


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a funnel: its label, count and length (0 to 1 of the longest)."""

    label: str
    count: int
    share: float


@dataclass(frozen=True, slots=True)
class PeriodFunnel:
    period: Period
    status: PeriodStatus
    bars: list[Bar]


def funnels(connection: Connection, group: TargetGroup, now: datetime) -> list[PeriodFunnel]:
    """Per period of the group: customers with progress, each trigger reached, achieved."""
    figures = group_figures(connection, group.org_id, [group.id]).get(group.id, {})
    found = []
    for period in group.periods:
        entry = figures.get(period.id, PeriodFigures())
        counts: list[tuple[str, int]] = [("Customers with progress", entry.with_progress)]
        several = len(group.targets) > 1
        for target in group.targets:
            for trigger in target.triggers:
                if trigger.name == SYSTEM_TRIGGER_NAME:
                    continue  # the target's own achievement: the "Achieved" bar
                label = f"Reached {trigger.name}" + (f" ({target.name})" if several else "")
                counts.append((label, entry.by_trigger.get(trigger.id, 0)))
        if whole_group(group):
            counts.append(("Achieved the group", entry.group_achieved))
        else:
            for target in group.targets:
                did = entry.by_target.get(target.id, (0, 0))[1]
                counts.append((f"Achieved {target.name}" if several else "Achieved", did))
        longest = max((count for _, count in counts), default=0) or 1
        bars = [Bar(label, count, count / longest) for label, count in counts]
        found.append(PeriodFunnel(period, period.status(now), bars))
    return found


@dataclass(frozen=True, slots=True)
class Mark:
    """A trigger on a progress bar: where it sits (0 to 1), its name, whether reached."""

    name: str
    at: float
    value: Decimal
    reached_at: datetime | None


@dataclass(frozen=True, slots=True)
class Progress:
    """One target in one period for the customer, ready to draw."""

    row: Row
    share: float
    marks: list[Mark]

    @property
    def achieved_value(self) -> Decimal:
        return self.row.user_target.achieved_value if self.row.user_target else Decimal(0)


@dataclass(frozen=True, slots=True)
class Day:
    """A period on the streak calendar: its refCode, first day, and outcome for the customer."""

    period_id: int
    ref_code: str
    starts: date
    result: PeriodResult


@dataclass(frozen=True, slots=True)
class CustomerGroup:
    """A group the customer is in: their progress bars and, for a streak group, the walk."""

    group: TargetGroup
    progress: list[Progress]
    walk: Walk | None
    calendar: list[Day] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Moved:
    """What one ledger entry of an event moved, in words."""

    group_name: str
    target_name: str
    period: str
    amount: Decimal
    kind: str


@dataclass(frozen=True, slots=True)
class ShownEvent:
    event: CustomerEvent
    moved: list[Moved]


@dataclass(frozen=True, slots=True)
class CustomerPage:
    user_id: int
    groups: list[CustomerGroup]
    untouched: list[TargetGroup]
    events: list[ShownEvent] = field(default_factory=list)


def customer_page(
    connection: Connection,
    org_id: int,
    user_id: int,
    now: datetime,
    cache: CatalogueCache,
    views: ViewCache,
) -> CustomerPage:
    """The customer's standing in every group of the org, as the user view reads it, and
    their latest events with what each contributed."""
    prepared, keys = scoped_prepared(connection, [org_id], cache, views)
    groups = [entry.group for entry in prepared]
    care_groups = [
        g.id for g in groups if g.tracking_type.is_streak and (g.care.freezes or g.care.repairs)
    ]
    _, known = read_standing(
        connection,
        [org_id],
        user_id,
        keys.cyclic_group_ids,
        keys.audience_ids,
        keys.whole_target_ids,
        care_groups,
    )
    shown, untouched = [], []
    for group in groups:
        if not known.touches(group):
            untouched.append(group)
            continue
        targets = [t for t in group.targets if known.can_join(t)]
        rows = [
            row
            for row in rows_of(group, targets, known, now)
            if row.user_target is not None or row.current
        ]
        walk = streak_of(group, known, now) if group.tracking_type.is_streak else None
        calendar = _calendar(group, walk) if walk else []
        shown.append(CustomerGroup(group, [_progress(row) for row in rows], walk, calendar))
    events = [
        ShownEvent(event, _moved(event, groups, known))
        for event in latest_events(connection, org_id, user_id)
    ]
    return CustomerPage(user_id, shown, untouched, events)


def _calendar(group: TargetGroup, walk: Walk) -> list[Day]:
    """The walk's periods in order, each with the outcome the walk gave it."""
    periods = {period.id: period for period in group.periods}
    zone = group.zone
    days = []
    for step in walk.steps:
        period = periods.get(step.outcome.period_id)
        if period is None:
            continue
        starts = step.outcome.starts_at or period.window.starts_at
        days.append(Day(period.id, period.ref_code, starts.astimezone(zone).date(), step.result))
    return days


def _progress(row: Row) -> Progress:
    value = row.target_value
    achieved = row.user_target.achieved_value if row.user_target else Decimal(0)
    share = float(min(achieved / value, Decimal(1))) if value > 0 else (1.0 if achieved else 0.0)
    reached = row.user_target.milestones if row.user_target else {}
    marks = []
    for trigger in row.target.triggers:
        if not trigger.is_active or trigger.name == SYSTEM_TRIGGER_NAME:
            continue  # the system trigger is the bar's end
        at = threshold(trigger, value)  # where the engine achieves it
        place = float(min(at / value, Decimal(1))) if value > 0 else 1.0
        marks.append(Mark(trigger.name, place, at, reached.get(trigger.id)))
    return Progress(row, share, marks)


def _moved(event: CustomerEvent, groups: list[TargetGroup], known: Known) -> list[Moved]:
    by_id = {ut.id: ut for ut in known.user_targets.values()}
    targets: dict[int, tuple[TargetGroup, Target]] = {
        target.id: (group, target) for group in groups for target in group.targets
    }
    moved = []
    for entry in event.contributions:
        user_target = by_id.get(entry.user_target_id)
        if user_target is None or user_target.target_id not in targets:
            moved.append(
                Moved("", f"user target {entry.user_target_id}", "", entry.amount, entry.kind.value)
            )
            continue
        group, target = targets[user_target.target_id]
        period = next((p.ref_code for p in group.periods if p.id == user_target.period_id), "")
        moved.append(Moved(group.name, target.name, period, entry.amount, entry.kind.value))
    return moved


def fixed(group: TargetGroup) -> bool:
    return group.evaluation_type is EvaluationType.FIXED_CALENDAR_WINDOW
