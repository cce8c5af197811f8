"""A customer's own periods of a ``periodZone: CUSTOMER`` group (SPEC §17).

Each period of the group is a range of local dates (cut in the group's zone). A customer
lives those dates in their own zone, and the zone they hold can change:

- position k is cut in ``z_k``, the zone in force at the end of the customer's window
  k-1 (for k = 1: at the start of period 1). A change applies from the customer's next
  period; the running and finished periods never move.
- window k runs from local midnight of its first date in ``z_k`` to local midnight after
  its last date, except that when ``z_k`` differs from ``z_(k-1)`` it starts where window
  k-1 ends: the windows stay contiguous (no gap, no overlap). If that start is not before
  its end the window is empty (it starts where it ends) and nothing lands in it; the
  window after an empty one starts where the last non-empty one ended, if its own
  midnight is earlier.
- in the group's own zone a window is the period's stored window, so a customer without
  a zone lives exactly the group's periods.

A zone history is ``[(changed_at, zone)]`` oldest first; ``None`` (a cleared zone), and
the time before the first change, mean the group's zone.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from milestones.domain.calendar import local_midnight
from milestones.domain.periods import PeriodWindow
from milestones.domain.target_groups import Period, TargetGroup

ZoneHistory = Sequence[tuple[datetime, str | None]]
"""A customer's zone changes, oldest first: when, and the zone held from then (None: the
group's)."""


@dataclass(frozen=True, slots=True)
class CustomerLayout:
    """One customer's windows of a per-customer group, in period order, with their zones.

    >>> from milestones.domain.target_groups import Audit
    >>> from datetime import UTC, date
    >>> audit = Audit(datetime(2024, 1, 1, tzinfo=UTC), 1, datetime(2024, 1, 1, tzinfo=UTC), 1)
    >>> def day(n: int) -> Period:
    ...     start = datetime(2024, 3, 29 + n, tzinfo=UTC)
    ...     return Period(n, n, PeriodWindow(f"Cycle_{n}", start, start + timedelta(days=1)),
    ...                   None, True, audit)
    >>> berlin = lay_out([day(1), day(2)], ZoneInfo("UTC"), [(datetime(2024, 1, 1, tzinfo=UTC),
    ...                                                        "Europe/Berlin")])
    >>> [(w.starts_at.isoformat(), w.ends_at - w.starts_at) for w in berlin.windows]
    [('2024-03-29T23:00:00+00:00', datetime.timedelta(days=1)), \
('2024-03-30T23:00:00+00:00', datetime.timedelta(seconds=82800))]
    """

    periods: tuple[Period, ...]
    windows: tuple[PeriodWindow, ...]
    zones: tuple[ZoneInfo, ...]
    starts: tuple[datetime, ...]

    def index_at(self, instant: datetime) -> int | None:
        """The index of the window holding ``instant`` (by bisection), if any."""
        index = bisect_right(self.starts, instant) - 1
        if index < 0 or not self.windows[index].contains(instant):
            return None
        return index

    def in_order_of(self, periods: Sequence[Period]) -> list[PeriodWindow]:
        """The customer's windows of ``periods``, in that order (the streak walk's)."""
        by_id = {
            period.id: window for period, window in zip(self.periods, self.windows, strict=True)
        }
        return [by_id[period.id] for period in periods]

    def pairs(self) -> list[tuple[Period, PeriodWindow]]:
        """Every period with the customer's window of it."""
        return list(zip(self.periods, self.windows, strict=True))


def zone_in_force(history: ZoneHistory, instant: datetime, group_zone: ZoneInfo) -> ZoneInfo:
    """The zone a customer holds at ``instant``: the last change at or before it.

    >>> from datetime import UTC
    >>> history = [(datetime(2024, 5, 1, tzinfo=UTC), "Asia/Tokyo")]
    >>> utc = ZoneInfo("UTC")
    >>> str(zone_in_force(history, datetime(2024, 4, 30, tzinfo=UTC), utc))
    'UTC'
    >>> str(zone_in_force(history, datetime(2024, 5, 1, tzinfo=UTC), utc))
    'Asia/Tokyo'
    """
    index = bisect_right([changed_at for changed_at, _ in history], instant) - 1
    if index < 0:
        return group_zone
    name = history[index][1]
    return group_zone if name is None else _zone(name)


def single_zone(
    history: ZoneHistory, first_start: datetime, group_zone: ZoneInfo
) -> ZoneInfo | None:
    """The one zone that cuts every period, when the history leaves only one; else None.

    Every change at or before the first period starts is past before any window is cut.
    """
    zones = {
        group_zone if name is None else _zone(name)
        for changed_at, name in history
        if changed_at > first_start
    }
    zones.add(zone_in_force(history, first_start, group_zone))
    return zones.pop() if len(zones) == 1 else None


def lay_out(
    periods: Sequence[Period], group_zone: ZoneInfo, history: ZoneHistory
) -> CustomerLayout:
    """The customer's windows of ``periods`` (sorted FIXED periods of the group)."""
    windows: list[PeriodWindow] = []
    zones: list[ZoneInfo] = []
    previous: PeriodWindow | None = None
    for period in periods:
        at = period.window.starts_at if previous is None else previous.ends_at
        zone = zone_in_force(history, at, group_zone)
        window = _window_in(period, group_zone, zone)
        # After an empty window the zone is unchanged but its midnight can lie before where
        # the last window ended: joined too, so that no two windows ever overlap.
        if previous is not None and (zone != zones[-1] or window.starts_at < previous.ends_at):
            window = _joined(window, previous.ends_at)
        windows.append(window)
        zones.append(zone)
        previous = window
    return CustomerLayout(
        tuple(periods), tuple(windows), tuple(zones), tuple(w.starts_at for w in windows)
    )


def _window_in(period: Period, group_zone: ZoneInfo, zone: ZoneInfo) -> PeriodWindow:
    """The period's local dates, cut in ``zone`` (the stored window in the group's zone)."""
    window = period.window
    if zone == group_zone:
        return window
    first = window.start_date(group_zone)
    after = window.end_date(group_zone) + timedelta(days=1)
    return PeriodWindow(window.ref_code, local_midnight(first, zone), local_midnight(after, zone))


def _joined(window: PeriodWindow, start: datetime) -> PeriodWindow:
    """``window`` starting at ``start`` (where the previous one ends), empty if none is left."""
    if start < window.ends_at:
        return PeriodWindow(window.ref_code, start, window.ends_at)
    return empty_window(window.ref_code, start)


def empty_window(ref_code: str, at: datetime) -> PeriodWindow:
    """A window that starts where it ends (``at``): it contains no instant.

    :class:`PeriodWindow` refuses one on purpose (no stored period is empty); a customer's
    window squeezed out by a zone change is the one empty window there is.

    >>> from datetime import UTC
    >>> empty = empty_window("Cycle_2", datetime(2024, 1, 2, tzinfo=UTC))
    >>> empty.contains(datetime(2024, 1, 2, tzinfo=UTC)), empty.starts_at == empty.ends_at
    (False, True)
    """
    window = object.__new__(PeriodWindow)
    object.__setattr__(window, "ref_code", ref_code)
    object.__setattr__(window, "starts_at", at)
    object.__setattr__(window, "ends_at", at)
    return window


class CustomerPeriods:
    """Layouts of one per-customer group, kept per zone for customers who held a single zone
    all along (most of them: the ingestion path asks for every event)."""

    __slots__ = ("_by_zone", "_lock", "group_zone", "periods")

    def __init__(self, group: TargetGroup) -> None:
        self.periods: tuple[Period, ...] = tuple(
            sorted(group.periods, key=lambda period: period.window.starts_at)
        )
        self.group_zone = group.zone
        self._by_zone: dict[str, CustomerLayout] = {}
        self._lock = threading.Lock()

    def layout(self, history: ZoneHistory) -> CustomerLayout:
        """The customer's windows: a kept per-zone layout when one zone cuts them all."""
        if not self.periods:
            return CustomerLayout((), (), (), ())
        zone = single_zone(history, self.periods[0].window.starts_at, self.group_zone)
        if zone is None:
            return lay_out(self.periods, self.group_zone, history)
        key = str(zone)
        found = self._by_zone.get(key)
        if found is None:
            first_start = self.periods[0].window.starts_at
            since = [] if zone == self.group_zone else [(first_start, key)]
            made = lay_out(self.periods, self.group_zone, since)
            with self._lock:
                found = self._by_zone.setdefault(key, made)
        return found

    def at(
        self, history: ZoneHistory, instant: datetime
    ) -> tuple[Period, PeriodWindow, ZoneInfo] | None:
        """The customer's period holding ``instant``, with its window and zone."""
        layout = self.layout(history)
        index = layout.index_at(instant)
        if index is None:
            return None
        return layout.periods[index], layout.windows[index], layout.zones[index]


def customer_layout(group: TargetGroup, history: ZoneHistory) -> CustomerLayout:
    """Every window of one customer (the user view, the sweeper): laid out afresh."""
    periods = sorted(group.periods, key=lambda period: period.window.starts_at)
    return lay_out(periods, group.zone, history)


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


__all__ = [
    "CustomerLayout",
    "CustomerPeriods",
    "ZoneHistory",
    "customer_layout",
    "empty_window",
    "lay_out",
    "single_zone",
    "zone_in_force",
]
