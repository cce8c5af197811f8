"""Periods of a target group (spec §5): the time windows a milestone or streak is counted in.

Boundaries are computed in the group's IANA zone and held as UTC instants. A period covers
``starts_at`` (inclusive) up to ``ends_at`` (exclusive); for display its last instant is
``ends_at - 1 ms`` (a local day runs 00:00:00.000 to 23:59:59.999).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from milestones.domain.calendar import (
    FrequencyType,
    PeriodRuleError,
    end_of_local_day,
    local_instant,
    local_midnight,
    shift,
)

__all__ = [
    "MAX_PERIODS",
    "EvaluationType",
    "FrequencyType",
    "PeriodRuleError",
    "PeriodSpec",
    "PeriodStatus",
    "PeriodWindow",
    "agnostic_slots",
    "cyclic_periods",
    "first_containing",
    "fixed_periods",
    "group_close",
    "local_midnight",
    "period_containing",
    "running_period",
    "shift",
]

MAX_PERIODS = 100
_MILLISECOND = timedelta(milliseconds=1)
_ROLLING_HOURS = {FrequencyType.DAILY: 24, FrequencyType.WEEKLY: 7 * 24, FrequencyType.CUSTOM: 24}


class EvaluationType(StrEnum):
    """How a group's periods are laid out in time."""

    FIXED_CALENDAR_WINDOW = "FIXED_CALENDAR_WINDOW"
    CYCLIC_WINDOW = "CYCLIC_WINDOW"
    PERIOD_AGNOSTIC_WINDOW = "PERIOD_AGNOSTIC_WINDOW"


class PeriodStatus(StrEnum):
    """Where a period stands relative to the clock."""

    NOT_STARTED = "NOT_STARTED"
    RUNNING = "RUNNING"
    ENDED = "ENDED"


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")


@dataclass(frozen=True, slots=True)
class PeriodWindow:
    """One period: ``starts_at`` (inclusive) to ``ends_at`` (exclusive), both UTC.

    >>> april = PeriodWindow("Cycle_1", datetime(2024, 4, 1, tzinfo=UTC),
    ...                      datetime(2024, 5, 1, tzinfo=UTC))
    >>> april.status(datetime(2024, 5, 1, tzinfo=UTC))
    <PeriodStatus.ENDED: 'ENDED'>
    >>> april.end_date(ZoneInfo("UTC")), april.last_instant.isoformat()
    (datetime.date(2024, 4, 30), '2024-04-30T23:59:59.999000+00:00')
    """

    ref_code: str
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.starts_at, "starts_at")
        _require_aware(self.ends_at, "ends_at")
        object.__setattr__(self, "starts_at", self.starts_at.astimezone(UTC))
        object.__setattr__(self, "ends_at", self.ends_at.astimezone(UTC))
        if self.ends_at <= self.starts_at:
            raise ValueError(f"period {self.ref_code!r} must end after it starts")

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` falls inside the period (start inclusive, end exclusive)."""
        # Called for every target an event reaches: Python's own refusal to compare a
        # naive datetime with an aware one is the check, and it is free when none is naive.
        try:
            return self.starts_at <= instant < self.ends_at
        except TypeError:
            _require_aware(instant, "instant")
            raise

    def status(self, now: datetime) -> PeriodStatus:
        """NOT_STARTED before ``starts_at``, RUNNING until ``ends_at``, ENDED from then on."""
        try:
            if now < self.starts_at:
                return PeriodStatus.NOT_STARTED
        except TypeError:
            _require_aware(now, "now")
            raise
        if now < self.ends_at:
            return PeriodStatus.RUNNING
        return PeriodStatus.ENDED

    def start_date(self, zone: ZoneInfo) -> date:
        """The local date the period starts on."""
        return self.starts_at.astimezone(zone).date()

    def end_date(self, zone: ZoneInfo) -> date:
        """The last local date the period covers (the date of ``last_instant``)."""
        return self.last_instant.astimezone(zone).date()

    @property
    def last_instant(self) -> datetime:
        """The last millisecond of the period, for display (``ends_at - 1 ms``)."""
        return self.ends_at - _MILLISECOND


@dataclass(frozen=True, slots=True)
class PeriodSpec:
    """One explicit period as the API received it; datetimes here are already aware.

    >>> PeriodSpec("Q1", date(2024, 1, 1), date(2024, 3, 31)).ref_code
    'Q1'
    """

    ref_code: str
    start: date | datetime
    end: date | datetime


@lru_cache(maxsize=4096)  # asked for every cyclic or agnostic event; a pure function
def group_close(end: datetime, zone: ZoneInfo) -> datetime:
    """The exclusive end of a group's dates, from its ``targetCycleEndDate`` (``end``).

    An end written in the last minute of a local day (``23:59``, ``23:59:59``,
    ``23:59:59.999``) means "to the end of that day", so the day's last second counts; any
    other instant, a local midnight among them, ends the group exactly there.

    >>> kolkata = ZoneInfo("Asia/Kolkata")
    >>> group_close(datetime(2024, 8, 26, 23, 59, 59, tzinfo=kolkata), kolkata).isoformat()
    '2024-08-26T18:30:00+00:00'
    >>> group_close(datetime(2024, 8, 26, 15, 0, tzinfo=kolkata), kolkata).isoformat()
    '2024-08-26T09:30:00+00:00'
    """
    _require_aware(end, "end")
    local = end.astimezone(zone)
    if local.hour == 23 and local.minute == 59:
        return end_of_local_day(local.date(), zone)
    return end.astimezone(UTC)


def _starting_instant(moment: datetime, zone: ZoneInfo) -> datetime:
    """Local midnight of ``moment``'s local date if it is at 00:00:00.000 there, else itself."""
    local = moment.astimezone(zone)
    if local.time() == time(0):
        return local_midnight(local.date(), zone)
    return moment.astimezone(UTC)


def _local_date(value: date | datetime, zone: ZoneInfo) -> date:
    if isinstance(value, datetime):
        return value.astimezone(zone).date()
    return value


def _check_total(total_periods: int) -> None:
    if not 1 <= total_periods <= MAX_PERIODS:
        raise PeriodRuleError(
            f"totalPeriods must be between 1 and {MAX_PERIODS}, got {total_periods}",
            "totalPeriods",
        )


def _units_per_period(frequency: int) -> int:
    if frequency < 0:
        raise PeriodRuleError(f"frequency must be 0 or more, got {frequency}", "frequency")
    return max(frequency, 1)


def _out_of_range() -> PeriodRuleError:
    return PeriodRuleError(
        "the periods would run outside years 1..9999; lower totalPeriods or frequency",
        "totalPeriods",
    )


def _explicit_periods(explicit: Sequence[PeriodSpec], zone: ZoneInfo) -> list[PeriodWindow]:
    if len(explicit) > MAX_PERIODS:
        raise PeriodRuleError(
            f"at most {MAX_PERIODS} periods are allowed, got {len(explicit)}", "periods"
        )
    indexed: list[tuple[int, PeriodWindow]] = []
    seen: dict[str, int] = {}
    for index, spec in enumerate(explicit):
        field = f"periods[{index}]"
        if not spec.ref_code.strip():
            raise PeriodRuleError("refCode must not be blank", f"{field}.refCode")
        if spec.ref_code in seen:
            raise PeriodRuleError(
                f"refCode {spec.ref_code!r} is already used by periods[{seen[spec.ref_code]}]",
                f"{field}.refCode",
            )
        seen[spec.ref_code] = index
        for name, value in (("startDate", spec.start), ("endDate", spec.end)):
            if isinstance(value, datetime) and value.utcoffset() is None:
                raise PeriodRuleError(f"{name} must carry a time zone", f"{field}.{name}")
        first_day, last_day = _local_date(spec.start, zone), _local_date(spec.end, zone)
        if first_day > last_day:
            raise PeriodRuleError(
                f"period {spec.ref_code!r} ends on {last_day} before it starts on {first_day}; "
                "endDate must be on or after startDate",
                f"{field}.endDate",
            )
        try:
            starts_at = (
                _starting_instant(spec.start, zone)
                if isinstance(spec.start, datetime)
                else local_midnight(first_day, zone)
            )
            ends_at = end_of_local_day(last_day, zone)
        except (OverflowError, ValueError):
            raise PeriodRuleError(
                "dates must lie within years 1..9999", f"{field}.endDate"
            ) from None
        indexed.append((index, PeriodWindow(spec.ref_code, starts_at, ends_at)))
    indexed.sort(key=lambda item: (item[1].starts_at, item[1].ends_at))
    for (earlier_index, earlier), (index, later) in pairwise(indexed):
        if later.starts_at < earlier.ends_at:
            raise PeriodRuleError(
                f"period {later.ref_code!r} ({later.start_date(zone)}..{later.end_date(zone)}) "
                f"overlaps period {earlier.ref_code!r} "
                f"({earlier.start_date(zone)}..{earlier.end_date(zone)}, periods[{earlier_index}])"
                "; periods must not share any day",
                f"periods[{index}].startDate",
            )
    return [window for _, window in indexed]


def fixed_periods(
    *,
    zone: ZoneInfo,
    frequency_type: FrequencyType,
    frequency: int,
    total_periods: int,
    cycle_start: datetime | None,
    cycle_end: datetime | None,
    explicit: Sequence[PeriodSpec],
) -> list[PeriodWindow]:
    """The periods of a FIXED_CALENDAR_WINDOW group, the same for every customer.

    * ``explicit`` given: those periods as whole local days (a start with a local time of day
      starts at that instant), validated (<= 100, start <= end, no overlap), in start order.
    * CUSTOM without ``explicit``: one period ``Cycle_1`` from ``cycle_start`` (local midnight
      of its date, or the instant itself if it has a local time of day) to the end of
      ``cycle_end``'s local date; ``cycle_end`` must be after ``cycle_start``.
    * otherwise ``total_periods`` generated periods ``Cycle_1..Cycle_N``: period n starts on
      the local date ``shift(anchor, frequency_type, (n - 1) * frequency)`` (frequency 0 counts
      as 1; always from the anchor, month ends clamped) and ends the local day before the next
      one starts. The anchor is ``cycle_start``'s local date; if ``cycle_start`` has a local
      time of day, period 1 starts at that instant.

    >>> [p.end_date(ZoneInfo("UTC")) for p in fixed_periods(
    ...     zone=ZoneInfo("UTC"), frequency_type=FrequencyType.MONTHLY, frequency=1,
    ...     total_periods=2, cycle_start=datetime(2024, 1, 31, tzinfo=UTC), cycle_end=None,
    ...     explicit=[])]
    [datetime.date(2024, 2, 28), datetime.date(2024, 3, 30)]
    """
    if explicit:
        return _explicit_periods(explicit, zone)
    if cycle_start is None:
        raise PeriodRuleError(
            "targetCycleStartDate is required when periods are not given", "targetCycleStartDate"
        )
    _require_aware(cycle_start, "cycle_start")
    if frequency_type is FrequencyType.CUSTOM:
        if cycle_end is None or cycle_end <= cycle_start:
            raise PeriodRuleError(
                "a CUSTOM group without periods needs a targetCycleEndDate after "
                "targetCycleStartDate",
                "targetCycleEndDate",
            )
        try:
            ends_at = end_of_local_day(cycle_end.astimezone(zone).date(), zone)
        except (OverflowError, ValueError):
            raise _out_of_range() from None
        return [PeriodWindow("Cycle_1", _starting_instant(cycle_start, zone), ends_at)]
    _check_total(total_periods)
    units = _units_per_period(frequency)
    anchor = cycle_start.astimezone(zone).date()
    try:
        boundaries = [
            local_midnight(shift(anchor, frequency_type, n * units), zone)
            for n in range(1, total_periods + 1)
        ]
    except (OverflowError, ValueError):
        raise _out_of_range() from None
    starts = [_starting_instant(cycle_start, zone), *boundaries[:-1]]
    return [
        PeriodWindow(f"Cycle_{n}", starts_at, ends_at)
        for n, (starts_at, ends_at) in enumerate(zip(starts, boundaries, strict=True), start=1)
    ]


def cyclic_periods(
    *,
    group_id: int,
    zone: ZoneInfo,
    frequency_type: FrequencyType,
    frequency: int,
    total_periods: int,
    first_event_at: datetime,
    group_end: datetime | None,
) -> Iterator[PeriodWindow]:
    """The per-customer cycles of a CYCLIC_WINDOW group, ``PERIOD_G_<groupId>_<n>``.

    Cycle 1 starts at ``first_event_at``; cycles run back to back, each ``frequency`` (0 counts
    as 1) units long, cycle n starting (n - 1) units after cycle 1's start:

    * DAILY is a rolling 24 h, WEEKLY 7 x 24 h (exact elapsed time, DST does not matter);
    * CUSTOM counts ``frequency`` as days, rolled like DAILY (24 h each);
    * MONTHLY, QUARTERLY, HALF_YEARLY, YEARLY land on the same local day and wall time in
      ``zone``, clamped to the month end (a wall time skipped by DST moves forward by the gap).

    At most ``total_periods`` cycles; none starts at or after ``group_end`` (exclusive), and
    the last one is clipped to it.

    The settings are checked at once; the cycles are worked out as they are asked for, so a
    caller after the cycle holding one instant (:func:`first_containing`) stops there.
    """
    _require_aware(first_event_at, "first_event_at")
    if group_end is not None:
        _require_aware(group_end, "group_end")
    _check_total(total_periods)
    units = _units_per_period(frequency)
    first = first_event_at.astimezone(UTC)
    local = first.astimezone(zone)

    def cycle_start(n: int) -> datetime:
        if n == 1:
            return first
        if frequency_type in _ROLLING_HOURS:
            return first + timedelta(hours=_ROLLING_HOURS[frequency_type] * units * (n - 1))
        day = shift(local.date(), frequency_type, units * (n - 1))
        return local_instant(day, local.time(), zone)

    def cycles() -> Iterator[PeriodWindow]:
        try:
            starts_at = cycle_start(1)
            for n in range(1, total_periods + 1):
                if group_end is not None and starts_at >= group_end:
                    return
                next_start = cycle_start(n + 1)
                ends_at = next_start if group_end is None else min(next_start, group_end)
                yield PeriodWindow(f"PERIOD_G_{group_id}_{n}", starts_at, ends_at)
                starts_at = next_start
        except (OverflowError, ValueError):
            raise _out_of_range() from None

    return cycles()


def first_containing(
    windows: Iterable[PeriodWindow], instant: datetime
) -> tuple[int, PeriodWindow] | None:
    """The position (from 1) and window of the first of ``windows`` (in order, back to back)
    that contains ``instant``, or None; ``windows`` is read no further than that."""
    _require_aware(instant, "instant")
    for position, window in enumerate(windows, start=1):
        if instant < window.starts_at:
            return None
        if instant < window.ends_at:
            return position, window
    return None


def agnostic_slots(
    *, group_id: int, total_periods: int, group_start: datetime, group_end: datetime
) -> list[PeriodWindow]:
    """The slots of a PERIOD_AGNOSTIC_WINDOW group: each spans ``group_start..group_end``."""
    _require_aware(group_start, "group_start")
    _require_aware(group_end, "group_end")
    _check_total(total_periods)
    if group_end <= group_start:
        raise PeriodRuleError(
            "targetCycleEndDate must be after targetCycleStartDate", "targetCycleEndDate"
        )
    return [
        PeriodWindow(f"PERIOD_G_{group_id}_{n}", group_start, group_end)
        for n in range(1, total_periods + 1)
    ]


def period_containing(periods: Sequence[PeriodWindow], instant: datetime) -> PeriodWindow | None:
    """The period of ``periods`` (sorted by start) that contains ``instant``, or None.

    Among periods with the same start (agnostic slots) the first one is returned.
    """
    _require_aware(instant, "instant")
    index = bisect_right(periods, instant, key=lambda period: period.starts_at) - 1
    if index < 0 or not periods[index].contains(instant):
        return None
    while index > 0 and periods[index - 1].starts_at == periods[index].starts_at:
        index -= 1
    return periods[index]


def running_period(periods: Sequence[PeriodWindow], now: datetime) -> PeriodWindow | None:
    """The period of ``periods`` (sorted by start) whose status at ``now`` is RUNNING."""
    return period_containing(periods, now)
