"""Where an event lands, and which period runs now (SPEC §5): the engine and the user view
both call these, and nothing else places events.

- FIXED: the group's period containing the instant (periods are sorted and disjoint); for
  a ``periodZone: CUSTOMER`` group, the customer's own window of it, laid out from their
  zone history by :mod:`milestones.domain.customer_periods`.
- CYCLIC: the customer's cycle containing it, laid out from their anchor (their earliest
  accepted qualifying event); without an anchor, nothing is placed yet.
- AGNOSTIC: every slot spans the group's dates; value flows into the slots in order, so
  the slot being filled is the first below its value, or the last once all are full.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from milestones.domain.customer_periods import CustomerLayout, ZoneHistory, customer_layout
from milestones.domain.periods import EvaluationType, PeriodWindow, first_containing
from milestones.domain.progress import UserTarget
from milestones.domain.target_groups import Period, TargetGroup


# Made for every target an event reaches: a plain slotted dataclass (see engine.Effect).
@dataclass(slots=True)
class Placement:
    """Where a target counts an event: the period (or cycle, or slot) and its window, and for
    a per-customer group the customer's zone of that period (their VISIT days)."""

    period: Period
    window: PeriodWindow
    zone: ZoneInfo | None = None


def cut_per_customer(group: TargetGroup) -> bool:
    """Whether each customer lives ``group``'s periods in their own zone (SPEC §17)."""
    return group.care.per_customer and group.evaluation_type is EvaluationType.FIXED_CALENDAR_WINDOW


def starts_of(periods: Sequence[Period]) -> tuple[datetime, ...]:
    """The periods' starts, for :func:`fixed_period_at` (worked out once, kept)."""
    return tuple(period.window.starts_at for period in periods)


def fixed_period_at(
    periods: Sequence[Period], starts: Sequence[datetime], instant: datetime
) -> Period | None:
    """The FIXED period containing ``instant``, by bisection of ``starts`` (:func:`starts_of`
    the sorted, disjoint ``periods``)."""
    index = bisect_right(starts, instant) - 1
    if index < 0:
        return None
    period = periods[index]
    return period if period.window.contains(instant) else None


class LaidCycles:
    """A customer's cycles of a CYCLIC group from one anchor, worked out as they are first
    read and kept, so the targets and events of a batch lay them out once.

    >>> from datetime import UTC
    >>> windows = iter([PeriodWindow("c1", datetime(2024, 1, 1, tzinfo=UTC),
    ...                              datetime(2024, 1, 2, tzinfo=UTC))])
    >>> laid = LaidCycles(windows)
    >>> [w.ref_code for w in laid], [w.ref_code for w in laid]
    (['c1'], ['c1'])
    """

    __slots__ = ("_kept", "_source")

    def __init__(self, cycles: Iterator[PeriodWindow]) -> None:
        self._kept: list[PeriodWindow] = []
        self._source: Iterator[PeriodWindow] | None = cycles

    def __iter__(self) -> Iterator[PeriodWindow]:
        position = 0
        while True:
            if position < len(self._kept):
                yield self._kept[position]
            elif self._source is None:
                return
            else:
                window = next(self._source, None)
                if window is None:
                    self._source = None
                    return
                self._kept.append(window)
                yield window
            position += 1


def place(
    group: TargetGroup,
    periods: Sequence[Period],
    starts: Sequence[datetime],
    anchor: datetime | None,
    instant: datetime,
    cycles: Iterable[PeriodWindow] | None = None,
    layout: CustomerLayout | None = None,
) -> Placement | None:
    """The customer's FIXED period or CYCLIC cycle holding ``instant``, if any.

    ``cycles``, when given, are the customer's cycles from ``anchor`` already laid out
    (:class:`LaidCycles`); ``layout``, the customer's windows of a per-customer group
    (:func:`cut_per_customer`). AGNOSTIC groups are not placed one event at a time: their
    slots hold the flow of the customer's total (see :func:`slot_being_filled`).
    """
    if layout is not None:
        index = layout.index_at(instant)
        if index is None:
            return None
        return Placement(layout.periods[index], layout.windows[index], layout.zones[index])
    if group.evaluation_type is EvaluationType.FIXED_CALENDAR_WINDOW:
        period = fixed_period_at(periods, starts, instant)
        return None if period is None else Placement(period, period.window)
    if anchor is None:
        return None
    return in_cycles(periods, group.cycles_from(anchor) if cycles is None else cycles, instant)


def in_cycles(
    periods: Sequence[Period], cycles: Iterable[PeriodWindow], instant: datetime
) -> Placement | None:
    """The cycle of ``cycles`` (a customer's, in order) holding ``instant``, with its period."""
    found = first_containing(cycles, instant)
    if found is None:
        return None
    position, window = found
    return Placement(periods[position - 1], window)


def customer_windows(
    group: TargetGroup, anchor: datetime | None, zones: ZoneHistory = ()
) -> list[tuple[Period, PeriodWindow]]:
    """Every period of the group as the customer lives it: a CYCLIC customer's own cycles
    (from their anchor; without one, the group's stored slots), a per-customer group's
    windows cut in the customer's zones (``zones``, their history), else the group's periods."""
    if cut_per_customer(group):
        return customer_layout(group, zones).pairs()
    if group.evaluation_type is not EvaluationType.CYCLIC_WINDOW or anchor is None:
        return [(period, period.window) for period in group.periods]
    return list(zip(group.periods, group.cycles_from(anchor), strict=False))


def slot_being_filled(
    periods: Sequence[Period], held: Callable[[Period], UserTarget | None]
) -> Period:
    """The AGNOSTIC slot value flows into next: the first below its value, else the last.

    After a return that keeps achievements, an achieved slot can be filling again.
    """
    for period in periods:
        user_target = held(period)
        if user_target is None or user_target.achieved_value < user_target.target_value:
            return period
    return periods[-1]


def is_current(
    group: TargetGroup,
    period: Period,
    window: PeriodWindow,
    anchored: bool,
    filling: Callable[[], Period],
    now: datetime,
) -> bool:
    """Whether ``period`` (shown with ``window``) is the customer's running one at ``now``.

    A CYCLIC customer without an anchor sees slot 1 running while the group runs; an
    AGNOSTIC group runs the slot being filled (``filling``, asked only then).
    """
    if not window.contains(now):
        return False
    evaluation = group.evaluation_type
    if evaluation is EvaluationType.FIXED_CALENDAR_WINDOW:
        return True
    if evaluation is EvaluationType.CYCLIC_WINDOW:
        return anchored or period.position == group.periods[0].position
    return period.id == filling().id


__all__ = [
    "Placement",
    "customer_windows",
    "cut_per_customer",
    "fixed_period_at",
    "in_cycles",
    "is_current",
    "place",
    "slot_being_filled",
    "starts_of",
]
