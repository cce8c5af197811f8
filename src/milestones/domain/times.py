"""Reading request datetimes and writing response ones, exactly as the API shows them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?)?$"
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Far enough for any programme, near enough that zone arithmetic never overflows.
MIN_YEAR = 1900
MAX_YEAR = 2999


class TimeFormatError(ValueError):
    """A datetime text that is not ISO 8601."""


def parse_local_or_instant(text: str, zone: ZoneInfo) -> tuple[datetime, bool]:
    """ISO 8601 text -> (aware instant, whether a time of day was given).

    No offset means the given zone's local time.

    >>> parse_local_or_instant("2024-10-24T23:59:00.000", ZoneInfo("Asia/Kolkata"))[0].isoformat()
    '2024-10-24T23:59:00+05:30'
    """
    match = _ISO.match(text.strip())
    if match is None:
        raise TimeFormatError(
            f"'{text[:40]}' is not an ISO 8601 date or datetime (e.g. 2024-10-24T23:59:00.000)"
        )
    raw_offset = match["offset"]
    if raw_offset and raw_offset != "Z" and ":" not in raw_offset:
        raw_offset = f"{raw_offset[:3]}:{raw_offset[3:]}"
    candidate = (
        match["date"]
        + ("T" + match["time"] if match["time"] else "")
        + (("+00:00" if raw_offset == "Z" else raw_offset) if raw_offset else "")
    )
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError as exc:
        raise TimeFormatError(f"'{text[:40]}' is not a valid date: {exc}") from exc
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise TimeFormatError(f"'{text[:40]}' is outside the years {MIN_YEAR} to {MAX_YEAR}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    has_time = match["time"] is not None
    return parsed, has_time


def parse_day(text: str, zone: ZoneInfo) -> date | datetime:
    """A period bound: a plain date, or an aware datetime when a time of day is given."""
    instant, has_time = parse_local_or_instant(text, zone)
    local = instant.astimezone(zone)
    if not has_time or (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return local.date()
    return instant


@lru_cache(maxsize=8192)
def utc_text(instant: datetime) -> str:
    """``2024-08-27T09:43:41.000Z`` (period boundaries repeat, so answers are remembered)."""
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@lru_cache(maxsize=8192)
def offset_text(instant: datetime, zone: ZoneInfo) -> str:
    """``2024-04-02T10:35:15.000+0530``: the instant in ``zone``'s offset.

    A user view writes one per target (``enrolledOn``), so answers are remembered (a
    customer's targets share their enrolment times) and the usual case is formatted
    directly, without ``strftime``; a year before 1000 (which ``%Y`` does not pad) or an
    offset with seconds (``%z`` writes ``+001932``, Amsterdam before 1937) take the
    ``strftime`` path, so the text is the same either way.

    >>> offset_text(datetime(2024, 4, 2, 5, 5, 15, 123456, tzinfo=UTC), ZoneInfo("Asia/Kolkata"))
    '2024-04-02T10:35:15.123+0530'
    >>> offset_text(datetime(2024, 1, 2, 5, tzinfo=UTC), ZoneInfo("America/St_Johns"))
    '2024-01-02T01:30:00.000-0330'
    """
    local = instant.astimezone(zone)
    offset = local.utcoffset()
    seconds = 0 if offset is None else offset.days * 86_400 + offset.seconds
    if local.year < 1000 or offset is None or offset.microseconds or seconds % 60:
        return (
            local.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{local.microsecond // 1000:03d}"
            + local.strftime("%z")
        )
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return (
        f"{local.year}-{local.month:02d}-{local.day:02d}T{local.hour:02d}:{local.minute:02d}:"
        f"{local.second:02d}.{local.microsecond // 1000:03d}"
        f"{'-' if seconds < 0 else '+'}{hours:02d}{minutes:02d}"
    )


def epoch_ms(instant: datetime) -> int:
    """Milliseconds since the epoch, in exact integer arithmetic."""
    return (instant - _EPOCH) // timedelta(milliseconds=1)
