"""``offset_text`` writes what ``strftime`` would, for every zone and instant."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from milestones.domain.times import offset_text

ZONES = [
    "UTC",
    "Asia/Kolkata",
    "America/St_Johns",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Europe/Amsterdam",  # +00:19:32 before 1937: an offset with seconds
    "Africa/Monrovia",  # -00:44:30 before 1972
    "Pacific/Kiritimati",
]


def by_strftime(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return (
        local.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{local.microsecond // 1000:03d}"
        + local.strftime("%z")
    )


@given(
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    st.sampled_from(ZONES),
)
def test_offset_text_is_what_strftime_writes(naive: datetime, name: str) -> None:
    instant = naive.replace(tzinfo=UTC)
    zone = ZoneInfo(name)
    assert offset_text(instant, zone) == by_strftime(instant, zone)


def test_the_unusual_cases_keep_strftime_text() -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    old = datetime(1930, 6, 1, 12, tzinfo=UTC)
    assert offset_text(old, amsterdam) == "1930-06-01T13:19:32.000+011932"
    assert offset_text(datetime(999, 3, 4, 5, 6, 7, 8000, tzinfo=UTC), ZoneInfo("UTC")) == (
        by_strftime(datetime(999, 3, 4, 5, 6, 7, 8000, tzinfo=UTC), ZoneInfo("UTC"))
    )
