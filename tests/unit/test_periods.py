"""Periods (spec §5): generated, explicit, cyclic and agnostic windows, DST-safe."""

from __future__ import annotations

import io
import pickle
import struct
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milestones.domain.errors import InvalidInput
from milestones.domain.periods import (
    FrequencyType,
    PeriodRuleError,
    PeriodSpec,
    PeriodStatus,
    PeriodWindow,
    agnostic_slots,
    cyclic_periods,
    first_containing,
    fixed_periods,
    group_close,
    local_midnight,
    period_containing,
    running_period,
    shift,
)

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
SANTIAGO = ZoneInfo("America/Santiago")
HAVANA = ZoneInfo("America/Havana")
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",
]
HOUR = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def generate(
    anchor: date | datetime,
    frequency_type: FrequencyType,
    total_periods: int,
    *,
    frequency: int = 1,
    zone: ZoneInfo = BERLIN,
) -> list[PeriodWindow]:
    cycle_start = anchor if isinstance(anchor, datetime) else local_midnight(anchor, zone)
    return fixed_periods(
        zone=zone,
        frequency_type=frequency_type,
        frequency=frequency,
        total_periods=total_periods,
        cycle_start=cycle_start,
        cycle_end=None,
        explicit=[],
    )


def local_days(periods: list[PeriodWindow], zone: ZoneInfo = BERLIN) -> list[tuple[str, str]]:
    return [(p.start_date(zone).isoformat(), p.end_date(zone).isoformat()) for p in periods]


def explicit(*specs: PeriodSpec, zone: ZoneInfo = BERLIN) -> list[PeriodWindow]:
    return fixed_periods(
        zone=zone,
        frequency_type=FrequencyType.CUSTOM,
        frequency=0,
        total_periods=len(specs),
        cycle_start=None,
        cycle_end=None,
        explicit=specs,
    )


def day_spec(ref_code: str, start: str, end: str) -> PeriodSpec:
    return PeriodSpec(ref_code, date.fromisoformat(start), date.fromisoformat(end))


def field_of(error: pytest.ExceptionInfo[PeriodRuleError]) -> str:
    return error.value.field


# --- calendar arithmetic ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "frequency_type", "units", "expected"),
    [
        ("2024-01-31", FrequencyType.MONTHLY, 1, "2024-02-29"),
        ("2023-01-31", FrequencyType.MONTHLY, 1, "2023-02-28"),
        ("2024-01-31", FrequencyType.MONTHLY, 2, "2024-03-31"),
        ("2024-01-31", FrequencyType.QUARTERLY, 1, "2024-04-30"),
        ("2024-08-31", FrequencyType.HALF_YEARLY, 1, "2025-02-28"),
        ("2024-02-29", FrequencyType.YEARLY, 1, "2025-02-28"),
        ("2024-02-29", FrequencyType.YEARLY, 4, "2028-02-29"),
        ("2100-01-29", FrequencyType.MONTHLY, 1, "2100-02-28"),
        ("2024-12-31", FrequencyType.DAILY, 1, "2025-01-01"),
        ("2024-12-31", FrequencyType.WEEKLY, 2, "2025-01-14"),
        ("2024-03-31", FrequencyType.MONTHLY, -1, "2024-02-29"),
        ("2024-05-15", FrequencyType.MONTHLY, 0, "2024-05-15"),
    ],
)
def test_shift_adds_calendar_units_and_clamps_to_the_month_end(
    day: str, frequency_type: FrequencyType, units: int, expected: str
) -> None:
    assert shift(date.fromisoformat(day), frequency_type, units) == date.fromisoformat(expected)


def test_shift_refuses_custom_because_it_has_no_calendar_unit() -> None:
    with pytest.raises(PeriodRuleError) as error:
        shift(date(2024, 1, 1), FrequencyType.CUSTOM, 1)
    assert field_of(error) == "frequencyType"


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        (BERLIN, date(2024, 3, 31), utc(2024, 3, 30, 23)),
        (BERLIN, date(2024, 10, 27), utc(2024, 10, 26, 22)),
        (KOLKATA, date(2024, 5, 2), utc(2024, 5, 1, 18, 30)),
        (SANTIAGO, date(2024, 9, 8), utc(2024, 9, 8, 4)),  # 00:00 -> 01:00, no midnight
        (HAVANA, date(2024, 3, 10), utc(2024, 3, 10, 5)),  # 00:00 -> 01:00, no midnight
        (HAVANA, date(2024, 11, 3), utc(2024, 11, 3, 4)),  # 01:00 -> 00:00, first midnight
    ],
)
def test_local_midnight_is_the_first_instant_of_the_local_day(
    zone: ZoneInfo, day: date, expected: datetime
) -> None:
    midnight = local_midnight(day, zone)
    assert midnight == expected
    assert midnight.tzinfo is UTC
    assert (midnight - MICROSECOND).astimezone(zone).date() < day


def _zone_from_posix_rule(rule: str, standard_offset_hours: int, key: str) -> ZoneInfo:
    """A TZif v2 zone with no transitions, only a POSIX footer rule."""
    names = rule[:3].encode() + b"\0"
    block = (
        b"TZif2"
        + b"\0" * 15
        + struct.pack(">6l", 0, 0, 0, 0, 1, len(names))
        + struct.pack(">lBB", standard_offset_hours * 3600, 0, 0)
        + names
    )
    return ZoneInfo.from_file(io.BytesIO(block + block + f"\n{rule}\n".encode()), key=key)


def test_local_midnight_inside_a_gap_that_began_the_evening_before_is_the_gap_end() -> None:
    # Clocks jump from 23:30 to 00:30: the day starts at 00:30 local, not at 01:00.
    zone = _zone_from_posix_rule("XST3XDT,M3.2.0/23:30,M11.1.0/1", -3, "Test/LateGap")
    midnight = local_midnight(date(2024, 3, 11), zone)
    assert midnight == utc(2024, 3, 11, 2, 30)
    assert midnight.astimezone(zone).time().isoformat() == "00:30:00"


# --- FIXED_CALENDAR_WINDOW, generated ----------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "frequency_type", "frequency", "expected"),
    [
        (
            "2024-04-02",
            FrequencyType.MONTHLY,
            1,
            [("2024-04-02", "2024-05-01"), ("2024-05-02", "2024-06-01")],
        ),
        (
            "2024-01-31",
            FrequencyType.MONTHLY,
            1,
            [
                ("2024-01-31", "2024-02-28"),
                ("2024-02-29", "2024-03-30"),
                ("2024-03-31", "2024-04-29"),
            ],
        ),
        (
            "2024-01-31",
            FrequencyType.QUARTERLY,
            1,
            [("2024-01-31", "2024-04-29"), ("2024-04-30", "2024-07-30")],
        ),
        (
            "2024-04-02",
            FrequencyType.WEEKLY,
            1,
            [("2024-04-02", "2024-04-08"), ("2024-04-09", "2024-04-15")],
        ),
        (
            "2024-02-29",
            FrequencyType.YEARLY,
            1,
            [
                ("2024-02-29", "2025-02-27"),
                ("2025-02-28", "2026-02-27"),
                ("2026-02-28", "2027-02-27"),
                ("2027-02-28", "2028-02-28"),
                ("2028-02-29", "2029-02-27"),
            ],
        ),
        (
            "2024-08-31",
            FrequencyType.HALF_YEARLY,
            1,
            [
                ("2024-08-31", "2025-02-27"),
                ("2025-02-28", "2025-08-30"),
                ("2025-08-31", "2026-02-27"),
            ],
        ),
        (
            "2024-01-31",
            FrequencyType.MONTHLY,
            2,
            [("2024-01-31", "2024-03-30"), ("2024-03-31", "2024-05-30")],
        ),
        (
            "2024-04-02",
            FrequencyType.WEEKLY,
            2,
            [("2024-04-02", "2024-04-15"), ("2024-04-16", "2024-04-29")],
        ),
        (
            "2024-12-30",
            FrequencyType.DAILY,
            1,
            [
                ("2024-12-30", "2024-12-30"),
                ("2024-12-31", "2024-12-31"),
                ("2025-01-01", "2025-01-01"),
            ],
        ),
    ],
)
def test_generated_periods_count_from_the_anchor_and_clamp_to_the_month_end(
    anchor: str, frequency_type: FrequencyType, frequency: int, expected: list[tuple[str, str]]
) -> None:
    periods = generate(
        date.fromisoformat(anchor), frequency_type, len(expected), frequency=frequency
    )
    assert local_days(periods) == expected
    assert [p.ref_code for p in periods] == [f"Cycle_{n}" for n in range(1, len(expected) + 1)]


@pytest.mark.parametrize(
    "frequency_type", [t for t in FrequencyType if t is not FrequencyType.CUSTOM]
)
def test_frequency_zero_behaves_as_one(frequency_type: FrequencyType) -> None:
    anchor = date(2024, 1, 31)
    assert generate(anchor, frequency_type, 4, frequency=0) == generate(
        anchor, frequency_type, 4, frequency=1
    )


def test_monthly_periods_end_on_the_last_millisecond_of_the_local_day() -> None:
    first = generate(date(2024, 4, 2), FrequencyType.MONTHLY, 1, zone=KOLKATA)[0]
    assert first.starts_at == utc(2024, 4, 1, 18, 30)
    assert first.ends_at == utc(2024, 5, 1, 18, 30)
    assert first.last_instant.astimezone(KOLKATA).isoformat() == "2024-05-01T23:59:59.999000+05:30"


@pytest.mark.parametrize(
    ("day", "starts_at", "ends_at", "hours"),
    [
        (date(2024, 3, 30), utc(2024, 3, 29, 23), utc(2024, 3, 30, 23), 24),
        (date(2024, 3, 31), utc(2024, 3, 30, 23), utc(2024, 3, 31, 22), 23),
        (date(2024, 4, 1), utc(2024, 3, 31, 22), utc(2024, 4, 1, 22), 24),
        (date(2024, 10, 26), utc(2024, 10, 25, 22), utc(2024, 10, 26, 22), 24),
        (date(2024, 10, 27), utc(2024, 10, 26, 22), utc(2024, 10, 27, 23), 25),
        (date(2024, 10, 28), utc(2024, 10, 27, 23), utc(2024, 10, 28, 23), 24),
    ],
)
def test_daily_periods_follow_the_berlin_dst_days(
    day: date, starts_at: datetime, ends_at: datetime, hours: int
) -> None:
    periods = generate(day - timedelta(days=1), FrequencyType.DAILY, 3)
    period = periods[1]
    assert period.start_date(BERLIN) == period.end_date(BERLIN) == day
    assert (period.starts_at, period.ends_at) == (starts_at, ends_at)
    assert period.ends_at - period.starts_at == hours * HOUR


def test_a_day_without_midnight_starts_at_the_first_existing_instant() -> None:
    periods = generate(date(2024, 9, 7), FrequencyType.DAILY, 2, zone=SANTIAGO)
    assert [(p.starts_at, p.ends_at) for p in periods] == [
        (utc(2024, 9, 7, 4), utc(2024, 9, 8, 4)),
        (utc(2024, 9, 8, 4), utc(2024, 9, 9, 3)),
    ]
    assert local_days(periods, SANTIAGO) == [
        ("2024-09-07", "2024-09-07"),
        ("2024-09-08", "2024-09-08"),
    ]


def test_a_start_with_a_time_of_day_starts_the_first_period_at_that_instant() -> None:
    cycle_start = utc(2024, 4, 2, 5, 4, 45)  # 10:34:45 in Kolkata
    periods = generate(cycle_start, FrequencyType.MONTHLY, 2, zone=KOLKATA)
    assert periods[0].starts_at == cycle_start
    assert (periods[0].start_date(KOLKATA), periods[0].end_date(KOLKATA)) == (
        date(2024, 4, 2),
        date(2024, 5, 1),
    )
    assert periods[1].starts_at == periods[0].ends_at == utc(2024, 5, 1, 18, 30)
    assert periods[1].start_date(KOLKATA) == date(2024, 5, 2)


def test_a_start_at_local_midnight_given_in_another_offset_starts_at_local_midnight() -> None:
    cycle_start = datetime(2024, 4, 2, tzinfo=KOLKATA).astimezone(BERLIN)
    periods = generate(cycle_start, FrequencyType.DAILY, 1, zone=KOLKATA)
    assert periods[0].starts_at == utc(2024, 4, 1, 18, 30)


def test_a_start_at_the_second_of_two_local_midnights_starts_at_the_first() -> None:
    second_midnight = datetime(2024, 11, 3, fold=1, tzinfo=HAVANA)  # 01:00 -> 00:00
    assert second_midnight.astimezone(UTC) == utc(2024, 11, 3, 5)
    periods = generate(second_midnight, FrequencyType.DAILY, 1, zone=HAVANA)
    assert periods[0].starts_at == utc(2024, 11, 3, 4)
    assert periods[0].ends_at - periods[0].starts_at == 25 * HOUR


# --- FIXED_CALENDAR_WINDOW, CUSTOM and explicit -------------------------------------------------


def test_custom_without_periods_is_one_period_to_the_end_of_the_end_date() -> None:
    periods = fixed_periods(
        zone=KOLKATA,
        frequency_type=FrequencyType.CUSTOM,
        frequency=0,
        total_periods=1,
        cycle_start=local_midnight(date(2024, 4, 2), KOLKATA),
        cycle_end=utc(2024, 4, 10, 12),
        explicit=[],
    )
    assert [(p.ref_code, p.starts_at, p.ends_at) for p in periods] == [
        ("Cycle_1", utc(2024, 4, 1, 18, 30), utc(2024, 4, 10, 18, 30))
    ]


@pytest.mark.parametrize("cycle_end", [None, utc(2024, 4, 1, 18, 30), utc(2024, 3, 1)])
def test_custom_without_periods_needs_an_end_after_the_start(cycle_end: datetime | None) -> None:
    with pytest.raises(PeriodRuleError) as error:
        fixed_periods(
            zone=KOLKATA,
            frequency_type=FrequencyType.CUSTOM,
            frequency=0,
            total_periods=1,
            cycle_start=utc(2024, 4, 1, 18, 30),
            cycle_end=cycle_end,
            explicit=[],
        )
    assert field_of(error) == "targetCycleEndDate"


def test_explicit_periods_are_whole_local_days_kept_in_start_order() -> None:
    periods = explicit(
        day_spec("May", "2024-05-01", "2024-05-31"),
        day_spec("March", "2024-03-01", "2024-03-31"),
        day_spec("April", "2024-04-01", "2024-04-30"),
    )
    assert [p.ref_code for p in periods] == ["March", "April", "May"]
    assert periods[0].starts_at == utc(2024, 2, 29, 23)
    assert periods[0].ends_at == periods[1].starts_at == utc(2024, 3, 31, 22)


def test_an_explicit_start_with_a_time_of_day_starts_at_that_instant() -> None:
    start = datetime(2024, 4, 2, 10, 30, tzinfo=BERLIN)
    end = datetime(2024, 4, 5, 9, 0, tzinfo=BERLIN)
    (period,) = explicit(PeriodSpec("P1", start, end))
    assert period.starts_at == utc(2024, 4, 2, 8, 30)
    assert period.ends_at == utc(2024, 4, 5, 22)


def test_a_one_day_explicit_period_is_accepted() -> None:
    (period,) = explicit(day_spec("D", "2024-03-31", "2024-03-31"))
    assert period.ends_at - period.starts_at == 23 * HOUR


@pytest.mark.parametrize(
    ("specs", "field"),
    [
        (
            [day_spec("A", "2024-04-01", "2024-04-30"), day_spec("B", "2024-03-01", "2024-04-01")],
            "periods[0].startDate",
        ),
        (
            [day_spec("A", "2024-03-01", "2024-04-30"), day_spec("B", "2024-04-30", "2024-05-31")],
            "periods[1].startDate",
        ),
        (
            [
                day_spec("A", "2024-01-01", "2024-12-31"),
                day_spec("B", "2024-02-01", "2024-02-10"),
                day_spec("C", "2024-06-01", "2024-06-10"),
            ],
            "periods[1].startDate",
        ),
    ],
)
def test_overlapping_explicit_periods_are_rejected_naming_the_later_one(
    specs: list[PeriodSpec], field: str
) -> None:
    with pytest.raises(PeriodRuleError) as error:
        explicit(*specs)
    assert field_of(error) == field
    assert "overlaps" in error.value.message


def test_an_explicit_period_ending_before_it_starts_is_rejected() -> None:
    with pytest.raises(PeriodRuleError) as error:
        explicit(
            day_spec("A", "2024-01-01", "2024-01-31"), day_spec("B", "2024-03-02", "2024-03-01")
        )
    assert field_of(error) == "periods[1].endDate"


@pytest.mark.parametrize(("count", "accepted"), [(1, True), (100, True), (101, False)])
def test_at_most_one_hundred_explicit_periods_are_accepted(count: int, accepted: bool) -> None:
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(count)]
    specs = [PeriodSpec(f"D{n}", day, day) for n, day in enumerate(days)]  # back to back
    if accepted:
        assert len(explicit(*specs)) == count
    else:
        with pytest.raises(PeriodRuleError) as error:
            explicit(*specs)
        assert field_of(error) == "periods"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (PeriodSpec("A", date(2024, 5, 1), date(2024, 5, 2)), "periods[1].refCode"),
        (PeriodSpec("  ", date(2024, 5, 1), date(2024, 5, 2)), "periods[1].refCode"),
        (PeriodSpec("B", date(2024, 5, 1), date(9999, 12, 31)), "periods[1].endDate"),
    ],
)
def test_explicit_periods_need_distinct_ref_codes_and_representable_dates(
    spec: PeriodSpec, field: str
) -> None:
    with pytest.raises(PeriodRuleError) as error:
        explicit(day_spec("A", "2024-01-01", "2024-01-31"), spec)
    assert field_of(error) == field


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"total_periods": 0}, "totalPeriods"),
        ({"total_periods": 101}, "totalPeriods"),
        ({"frequency": -1}, "frequency"),
        ({"cycle_start": None}, "targetCycleStartDate"),
        ({"frequency_type": FrequencyType.YEARLY, "frequency": 100}, "totalPeriods"),
    ],
)
def test_generated_periods_reject_bad_settings_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {
        "zone": BERLIN,
        "frequency_type": FrequencyType.MONTHLY,
        "frequency": 1,
        "total_periods": 100,
        "cycle_start": utc(2024, 1, 1),
        "cycle_end": None,
        "explicit": [],
    } | changes
    with pytest.raises(PeriodRuleError) as error:
        fixed_periods(**arguments)  # type: ignore[arg-type]
    assert field_of(error) == field
    assert error.value.message


def test_a_period_rule_error_is_invalid_input_and_survives_pickling() -> None:
    error = PeriodRuleError("must be at least 1", "totalPeriods")
    assert isinstance(error, InvalidInput)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.field) == ("must be at least 1", "totalPeriods")


def test_a_period_window_refuses_naive_datetimes_and_stores_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        PeriodWindow("P", datetime(2024, 1, 1), utc(2024, 1, 2))
    window = PeriodWindow("P", datetime(2024, 1, 1, tzinfo=KOLKATA), utc(2024, 1, 2))
    assert window.starts_at == utc(2023, 12, 31, 18, 30)
    assert window.starts_at.tzinfo is UTC
    with pytest.raises(ValueError, match="end after"):
        PeriodWindow("P", utc(2024, 1, 2), utc(2024, 1, 2))


# --- CYCLIC_WINDOW --------------------------------------------------------------------------------


def test_cyclic_daily_cycles_roll_24_hours_from_the_first_event_and_clip_at_the_group_end() -> None:
    cycles = list(
        cyclic_periods(
            group_id=53235,
            zone=KOLKATA,
            frequency_type=FrequencyType.DAILY,
            frequency=1,
            total_periods=5,
            first_event_at=utc(2024, 8, 27, 9, 43, 40),
            group_end=utc(2024, 8, 31, 18, 30),
        )
    )
    assert [c.ref_code for c in cycles] == [f"PERIOD_G_53235_{n}" for n in range(1, 6)]
    assert [c.starts_at for c in cycles] == [utc(2024, 8, d, 9, 43, 40) for d in range(27, 32)]
    assert [c.ends_at - c.starts_at for c in cycles[:4]] == [24 * HOUR] * 4
    assert cycles[4].ends_at == utc(2024, 8, 31, 18, 30)
    assert (cycles[0].start_date(KOLKATA), cycles[0].end_date(KOLKATA)) == (
        date(2024, 8, 27),
        date(2024, 8, 28),
    )
    assert (cycles[4].start_date(KOLKATA), cycles[4].end_date(KOLKATA)) == (
        date(2024, 8, 31),
        date(2024, 8, 31),
    )


@pytest.mark.parametrize(
    ("frequency_type", "frequency", "length"),
    [
        (FrequencyType.DAILY, 1, 24 * HOUR),
        (FrequencyType.DAILY, 0, 24 * HOUR),
        (FrequencyType.DAILY, 2, 48 * HOUR),
        (FrequencyType.WEEKLY, 1, 7 * 24 * HOUR),
        (FrequencyType.WEEKLY, 2, 14 * 24 * HOUR),
        (FrequencyType.CUSTOM, 3, 72 * HOUR),
    ],
)
def test_rolling_cycles_keep_their_exact_length_across_a_berlin_dst_change(
    frequency_type: FrequencyType, frequency: int, length: timedelta
) -> None:
    cycles = list(
        cyclic_periods(
            group_id=7,
            zone=BERLIN,
            frequency_type=frequency_type,
            frequency=frequency,
            total_periods=4,
            first_event_at=utc(2024, 3, 29, 10),
            group_end=None,
        )
    )
    assert [c.ends_at - c.starts_at for c in cycles] == [length] * 4
    assert [c.starts_at for c in cycles] == [utc(2024, 3, 29, 10) + n * length for n in range(4)]


def test_cyclic_monthly_cycles_keep_the_local_time_and_clamp_from_the_first_cycle() -> None:
    first_event = datetime(2024, 1, 31, 10, tzinfo=BERLIN)
    cycles = list(
        cyclic_periods(
            group_id=9,
            zone=BERLIN,
            frequency_type=FrequencyType.MONTHLY,
            frequency=1,
            total_periods=4,
            first_event_at=first_event,
            group_end=None,
        )
    )
    local_starts = [c.starts_at.astimezone(BERLIN).isoformat() for c in cycles]
    assert local_starts == [
        "2024-01-31T10:00:00+01:00",
        "2024-02-29T10:00:00+01:00",
        "2024-03-31T10:00:00+02:00",
        "2024-04-30T10:00:00+02:00",
    ]
    assert cycles[-1].ends_at == datetime(2024, 5, 31, 10, tzinfo=BERLIN)


def test_a_cyclic_wall_time_skipped_by_dst_moves_forward_by_the_gap() -> None:
    cycles = list(
        cyclic_periods(
            group_id=9,
            zone=BERLIN,
            frequency_type=FrequencyType.MONTHLY,
            frequency=1,
            total_periods=2,
            first_event_at=datetime(2024, 2, 29, 2, 30, tzinfo=BERLIN),
            group_end=None,
        )
    )
    assert cycles[1].starts_at == datetime(2024, 3, 29, 2, 30, tzinfo=BERLIN)
    later = list(
        cyclic_periods(
            group_id=9,
            zone=BERLIN,
            frequency_type=FrequencyType.YEARLY,
            frequency=1,
            total_periods=2,
            first_event_at=datetime(2023, 3, 31, 2, 30, tzinfo=BERLIN),
            group_end=None,
        )
    )
    assert later[1].starts_at.astimezone(BERLIN).isoformat() == "2024-03-31T03:30:00+02:00"


@pytest.mark.parametrize(
    ("group_end", "expected_count", "last_end"),
    [
        (utc(2024, 1, 3), 2, utc(2024, 1, 3)),  # cycle 3 would start exactly at the end
        (utc(2024, 1, 3) + MICROSECOND, 3, utc(2024, 1, 3) + MICROSECOND),
        (utc(2024, 1, 2, 12), 2, utc(2024, 1, 2, 12)),
        (utc(2024, 1, 1) + MICROSECOND, 1, utc(2024, 1, 1) + MICROSECOND),
        (utc(2024, 1, 1), 0, None),
        (utc(2023, 12, 1), 0, None),
        (None, 5, utc(2024, 1, 6)),
    ],
)
def test_cycles_never_start_at_or_after_the_group_end(
    group_end: datetime | None, expected_count: int, last_end: datetime | None
) -> None:
    cycles = list(
        cyclic_periods(
            group_id=1,
            zone=ZoneInfo("UTC"),
            frequency_type=FrequencyType.DAILY,
            frequency=1,
            total_periods=5,
            first_event_at=utc(2024, 1, 1),
            group_end=group_end,
        )
    )
    assert len(cycles) == expected_count
    if last_end is not None:
        assert cycles[-1].ends_at == last_end


@pytest.mark.parametrize(("total_periods", "frequency"), [(0, 1), (101, 1), (1, -1)])
def test_cyclic_periods_reject_bad_settings(total_periods: int, frequency: int) -> None:
    with pytest.raises(PeriodRuleError):
        cyclic_periods(
            group_id=1,
            zone=BERLIN,
            frequency_type=FrequencyType.DAILY,
            frequency=frequency,
            total_periods=total_periods,
            first_event_at=utc(2024, 1, 1),
            group_end=None,
        )


# --- PERIOD_AGNOSTIC_WINDOW -----------------------------------------------------------------------


def test_agnostic_slots_all_span_the_whole_group() -> None:
    start, end = utc(2024, 4, 1, 18, 30), utc(2024, 6, 30, 18, 30)
    slots = agnostic_slots(group_id=42, total_periods=5, group_start=start, group_end=end)
    assert [s.ref_code for s in slots] == [f"PERIOD_G_42_{n}" for n in range(1, 6)]
    assert {(s.starts_at, s.ends_at) for s in slots} == {(start, end)}
    assert period_containing(slots, start) == slots[0]


@pytest.mark.parametrize(
    ("total_periods", "group_end", "field"),
    [
        (0, utc(2024, 2, 1), "totalPeriods"),
        (101, utc(2024, 2, 1), "totalPeriods"),
        (5, utc(2024, 1, 1), "targetCycleEndDate"),
    ],
)
def test_agnostic_slots_reject_bad_settings(
    total_periods: int, group_end: datetime, field: str
) -> None:
    with pytest.raises(PeriodRuleError) as error:
        agnostic_slots(
            group_id=1,
            total_periods=total_periods,
            group_start=utc(2024, 1, 1),
            group_end=group_end,
        )
    assert field_of(error) == field


# --- status and lookup -------------------------------------------------------------------------


APRIL = PeriodWindow("April", utc(2024, 3, 31, 22), utc(2024, 4, 30, 22))


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (APRIL.starts_at - MICROSECOND, PeriodStatus.NOT_STARTED),
        (APRIL.starts_at, PeriodStatus.RUNNING),
        (APRIL.last_instant, PeriodStatus.RUNNING),
        (APRIL.ends_at - MICROSECOND, PeriodStatus.RUNNING),
        (APRIL.ends_at, PeriodStatus.ENDED),
        (APRIL.ends_at.astimezone(BERLIN), PeriodStatus.ENDED),
    ],
)
def test_status_changes_exactly_at_the_boundaries(now: datetime, status: PeriodStatus) -> None:
    assert APRIL.status(now) is status
    assert APRIL.contains(now) is (status is PeriodStatus.RUNNING)


def test_status_and_lookup_refuse_naive_datetimes() -> None:
    naive = datetime(2024, 4, 2)
    with pytest.raises(ValueError, match="timezone-aware"):
        APRIL.status(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        period_containing([APRIL], naive)


def test_the_last_instant_is_the_last_millisecond_of_the_local_day() -> None:
    assert APRIL.last_instant.astimezone(BERLIN).isoformat() == "2024-04-30T23:59:59.999000+02:00"
    assert (APRIL.start_date(BERLIN), APRIL.end_date(BERLIN)) == (
        date(2024, 4, 1),
        date(2024, 4, 30),
    )


MONTHS = generate(date(2024, 1, 1), FrequencyType.MONTHLY, 3)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (MONTHS[0].starts_at - MICROSECOND, None),
        (MONTHS[0].starts_at, "Cycle_1"),
        (MONTHS[0].ends_at - MICROSECOND, "Cycle_1"),
        (MONTHS[1].starts_at, "Cycle_2"),
        (MONTHS[2].starts_at, "Cycle_3"),
        (MONTHS[2].ends_at - MICROSECOND, "Cycle_3"),
        (MONTHS[2].ends_at, None),
    ],
)
def test_period_containing_respects_the_exact_boundaries(
    instant: datetime, expected: str | None
) -> None:
    found = period_containing(MONTHS, instant)
    assert (found.ref_code if found else None) == expected
    running = running_period(MONTHS, instant)
    assert (running.ref_code if running else None) == expected


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (local_midnight(date(2024, 1, 31), BERLIN), "January"),
        (local_midnight(date(2024, 2, 1), BERLIN), None),
        (local_midnight(date(2024, 2, 29), BERLIN), None),
        (local_midnight(date(2024, 3, 1), BERLIN), "March"),
    ],
)
def test_period_containing_finds_nothing_in_a_gap_between_explicit_periods(
    instant: datetime, expected: str | None
) -> None:
    periods = explicit(
        day_spec("March", "2024-03-01", "2024-03-31"),
        day_spec("January", "2024-01-01", "2024-01-31"),
    )
    found = period_containing(periods, instant)
    assert (found.ref_code if found else None) == expected


def test_period_containing_an_empty_list_is_none() -> None:
    assert period_containing([], utc(2024, 1, 1)) is None


# --- properties ----------------------------------------------------------------------------------

calendar_frequencies = st.sampled_from([t for t in FrequencyType if t is not FrequencyType.CUSTOM])
zones = st.sampled_from(ZONES).map(ZoneInfo)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # hypothesis bounds are naive by API
    max_value=datetime(2040, 12, 31, 23, 59, 59),
    timezones=st.just(UTC),
)


@settings(max_examples=300, deadline=None)
@given(
    moment=instants,
    at_midnight=st.booleans(),
    zone=zones,
    frequency_type=calendar_frequencies,
    frequency=st.integers(min_value=0, max_value=12),
    total_periods=st.integers(min_value=1, max_value=100),
)
def test_generated_periods_are_contiguous_increasing_and_complete(
    moment: datetime,
    at_midnight: bool,
    zone: ZoneInfo,
    frequency_type: FrequencyType,
    frequency: int,
    total_periods: int,
) -> None:
    anchor = moment.astimezone(zone).date()
    cycle_start = local_midnight(anchor, zone) if at_midnight else moment
    periods = generate(cycle_start, frequency_type, total_periods, frequency=frequency, zone=zone)
    assert len(periods) == total_periods
    at_local_midnight = cycle_start.astimezone(zone).time() == time(0)
    expected_start = local_midnight(anchor, zone) if at_local_midnight else cycle_start
    assert periods[0].starts_at == expected_start
    units = max(frequency, 1)
    for n, period in enumerate(periods):
        assert period.starts_at < period.ends_at
        assert period.start_date(zone) == shift(anchor, frequency_type, n * units)
        assert period.end_date(zone) == shift(anchor, frequency_type, (n + 1) * units) - timedelta(
            days=1
        )
    for earlier, later in pairwise(periods):
        assert earlier.ends_at == later.starts_at
        assert later.starts_at == local_midnight(later.start_date(zone), zone)


@settings(max_examples=200, deadline=None)
@given(
    first_event=instants,
    zone=zones,
    frequency_type=st.sampled_from(list(FrequencyType)),
    frequency=st.integers(min_value=0, max_value=12),
    total_periods=st.integers(min_value=1, max_value=100),
    group_length=st.one_of(
        st.none(), st.timedeltas(min_value=-HOUR, max_value=timedelta(days=4000))
    ),
)
def test_cyclic_periods_are_contiguous_and_stay_inside_the_group(
    first_event: datetime,
    zone: ZoneInfo,
    frequency_type: FrequencyType,
    frequency: int,
    total_periods: int,
    group_length: timedelta | None,
) -> None:
    group_end = None if group_length is None else first_event + group_length
    cycles = list(
        cyclic_periods(
            group_id=3,
            zone=zone,
            frequency_type=frequency_type,
            frequency=frequency,
            total_periods=total_periods,
            first_event_at=first_event,
            group_end=group_end,
        )
    )
    assert len(cycles) <= total_periods
    if group_end is None or group_end > first_event:
        assert cycles[0].starts_at == first_event
    else:
        assert cycles == []
    assert [c.ref_code for c in cycles] == [f"PERIOD_G_3_{n}" for n in range(1, len(cycles) + 1)]
    for earlier, later in pairwise(cycles):
        assert earlier.ends_at == later.starts_at
    for cycle in cycles:
        assert cycle.starts_at < cycle.ends_at
        if group_end is not None:
            assert cycle.ends_at <= group_end


@settings(max_examples=300, deadline=None)
@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)), zone=zones)
def test_local_midnight_starts_the_local_day(day: date, zone: ZoneInfo) -> None:
    midnight = local_midnight(day, zone)
    assert midnight.astimezone(zone).date() == day
    assert (midnight - MICROSECOND).astimezone(zone).date() == day - timedelta(days=1)


# group_close: where a CYCLIC or AGNOSTIC group's dates end


@pytest.mark.parametrize(
    ("zone_name", "written", "closes_at"),
    [
        # The last minute of a local day, at any precision, covers the rest of that day.
        ("Asia/Kolkata", "2024-08-26T23:59:59", "2024-08-26T18:30:00+00:00"),
        ("Asia/Kolkata", "2024-08-26T23:59:59.999", "2024-08-26T18:30:00+00:00"),
        ("Asia/Kolkata", "2024-08-26T23:59", "2024-08-26T18:30:00+00:00"),
        # A local midnight, or any other instant, is the end itself.
        ("Asia/Kolkata", "2024-08-27T00:00", "2024-08-26T18:30:00+00:00"),
        ("Asia/Kolkata", "2024-08-26T23:58:59.999", "2024-08-26T18:28:59.999000+00:00"),
        ("Asia/Kolkata", "2024-08-26T15:00", "2024-08-26T09:30:00+00:00"),
        # A 25-hour day (Berlin leaves summer time) ends at its own midnight.
        ("Europe/Berlin", "2024-10-27T23:59:59", "2024-10-27T23:00:00+00:00"),
        # Santiago skips 2024-09-08 00:00: the day ends at the next day's first instant.
        ("America/Santiago", "2024-09-07T23:59:59", "2024-09-08T04:00:00+00:00"),
    ],
)
def test_a_group_closes_at_the_end_of_a_day_written_in_its_last_minute(
    zone_name: str, written: str, closes_at: str
) -> None:
    zone = ZoneInfo(zone_name)
    end = datetime.fromisoformat(written).replace(tzinfo=zone)

    assert group_close(end, zone).isoformat() == closes_at


@pytest.mark.parametrize(
    ("frequency_type", "frequency", "total", "zone", "end"),
    [
        (FrequencyType.DAILY, 1, 5, KOLKATA, None),
        (FrequencyType.WEEKLY, 2, 4, BERLIN, utc(2024, 4, 20)),
        (FrequencyType.MONTHLY, 1, 6, BERLIN, None),
        (FrequencyType.MONTHLY, 1, 6, BERLIN, utc(2024, 5, 10, 12)),
        (FrequencyType.QUARTERLY, 1, 3, KOLKATA, utc(2024, 12, 31)),
    ],
)
def test_the_cycle_at_an_instant_is_the_one_of_the_whole_list_that_contains_it(
    frequency_type: FrequencyType, frequency: int, total: int, zone: ZoneInfo, end: datetime | None
) -> None:
    # Cycles from 31 January cross DST in Berlin and clamp at month ends.
    rule = {
        "group_id": 9,
        "zone": zone,
        "frequency_type": frequency_type,
        "frequency": frequency,
        "total_periods": total,
        "first_event_at": utc(2024, 1, 31, 16, 45),
        "group_end": end,
    }
    cycles = list(cyclic_periods(**rule))  # type: ignore[arg-type]
    probes = [utc(2024, 1, 1), utc(2026, 1, 1)]
    for cycle in cycles:
        for edge in (cycle.starts_at, cycle.ends_at):
            probes += [edge - timedelta(milliseconds=1), edge, edge + timedelta(milliseconds=1)]
    for instant in probes:
        expected = period_containing(cycles, instant)
        found = first_containing(cyclic_periods(**rule), instant)  # type: ignore[arg-type]
        if expected is None:
            assert found is None, instant
        else:
            assert found == (cycles.index(expected) + 1, expected), instant
