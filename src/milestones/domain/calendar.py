"""Calendar arithmetic for periods: local days as UTC instants, and month-clamped date shifts.

Everything here is DST-safe: a local day is found through the group's IANA zone, never by
adding 24 hours, and a date shift is pure calendar arithmetic on local dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from milestones.domain.errors import InvalidInput

_MICROSECOND = timedelta(microseconds=1)


class FrequencyType(StrEnum):
    """The unit a period is measured in; ``frequency`` says how many units make one period."""

    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    HALF_YEARLY = "HALF_YEARLY"
    YEARLY = "YEARLY"
    CUSTOM = "CUSTOM"


_DAYS_PER_UNIT = {FrequencyType.DAILY: 1, FrequencyType.WEEKLY: 7}
_MONTHS_PER_UNIT = {
    FrequencyType.MONTHLY: 1,
    FrequencyType.QUARTERLY: 3,
    FrequencyType.HALF_YEARLY: 6,
    FrequencyType.YEARLY: 12,
}


class PeriodRuleError(InvalidInput):
    """A period definition breaks a rule of spec §5; ``field`` names the input at fault.

    >>> PeriodRuleError("must be at least 1", "totalPeriods").field
    'totalPeriods'
    """

    field: str

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field)

    def __reduce__(self) -> tuple[type[PeriodRuleError], tuple[str, str]]:
        return (type(self), (self.message, self.field))


def _wall(moment: datetime) -> tuple[date, time]:
    """The local date and wall-clock time of an aware datetime (no naive value escapes)."""
    return moment.date(), moment.time()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant the local ``day`` starts in ``zone``.

    DST-safe: on a day whose midnight does not exist (clocks jump 00:00 -> 01:00), the day
    starts at the first instant that does exist. An ambiguous midnight is its first occurrence.

    >>> local_midnight(date(2024, 9, 8), ZoneInfo("America/Santiago")).isoformat()
    '2024-09-08T04:00:00+00:00'
    """
    candidate = datetime(day.year, day.month, day.day, tzinfo=zone)
    instant = candidate.astimezone(UTC)
    if _wall(instant.astimezone(zone)) == (day, time(0)):
        return instant
    # Midnight falls in a gap. With fold=1 the gap time reads with the post-transition offset,
    # which lands before the transition (still on the previous local day); fold=0 lands at or
    # after it. Bisect for the first instant whose local date is ``day``.
    before = candidate.replace(fold=1).astimezone(UTC)
    after = instant
    while after - before > _MICROSECOND:
        middle = before + (after - before) // 2
        if middle.astimezone(zone).date() >= day:
            after = middle
        else:
            before = middle
    return after


def local_instant(day: date, wall_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``wall_time`` on the local ``day``.

    A wall time skipped by DST is pushed forward by the gap; an ambiguous one is its first
    occurrence (``fold=0``).
    """
    return datetime.combine(day, wall_time.replace(tzinfo=None, fold=0), tzinfo=zone).astimezone(
        UTC
    )


def end_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """The first UTC instant after the local ``day`` (the exclusive end of that day)."""
    return local_midnight(day + timedelta(days=1), zone)


def _days_in_month(year: int, month: int) -> int:
    # Not stdlib ``calendar``: this module's name shadows it when its folder is on sys.path.
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("date value out of range")
    month = month0 + 1
    return date(year, month, min(day.day, _days_in_month(year, month)))


def shift(day: date, frequency_type: FrequencyType, units: int) -> date:
    """``day`` moved by ``units`` of ``frequency_type``, clamping to the month end.

    DAILY counts days, WEEKLY 7-day weeks, MONTHLY months, QUARTERLY 3 months, HALF_YEARLY 6
    months and YEARLY 12 months. CUSTOM has no calendar unit and raises ``PeriodRuleError``;
    a result outside years 1..9999 raises ``OverflowError``.

    >>> shift(date(2024, 1, 31), FrequencyType.MONTHLY, 1)
    datetime.date(2024, 2, 29)
    """
    if frequency_type in _DAYS_PER_UNIT:
        return day + timedelta(days=_DAYS_PER_UNIT[frequency_type] * units)
    if frequency_type in _MONTHS_PER_UNIT:
        return _add_months(day, _MONTHS_PER_UNIT[frequency_type] * units)
    raise PeriodRuleError(
        "CUSTOM periods have no calendar unit; give explicit periods or a "
        "targetCycleStartDate..targetCycleEndDate range",
        "frequencyType",
    )
