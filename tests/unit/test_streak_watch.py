"""What the streak sweeper tells (``domain/streak_watch.py``), without a database.

A daily group of five UTC days from 2024-09-01, one target; outcomes are written by hand.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from milestones.domain.calendar import FrequencyType
from milestones.domain.care_settings import PeriodZone, StreakCare
from milestones.domain.group_progress import walk_of
from milestones.domain.streak_watch import MarkKind, may_tell, to_tell
from milestones.domain.streaks import NO_RECORD, PeriodOutcome
from milestones.domain.target_groups import TargetGroup, TrackingType
from tests.unit.builders import GroupRules, fixed_group, sales

DAY = {d: datetime(2024, 9, d, tzinfo=UTC) for d in range(1, 8)}
HOUR = timedelta(hours=1)


def daily(tracking: TrackingType = TrackingType.STREAKS, **care: object) -> TargetGroup:
    group = fixed_group(
        FrequencyType.DAILY, "2024-09-01", 5, sales(100), rules=GroupRules(tracking, zone="UTC")
    )
    return replace(group, care=StreakCare(**care))  # type: ignore[arg-type]


def told(group: TargetGroup, achieved: set[int], swept_until: datetime, now: datetime,
         retro: timedelta = timedelta(0)) -> list[tuple[MarkKind, int]]:  # fmt: skip
    outcomes = [
        PeriodOutcome(
            period.position,
            period.window.starts_at + HOUR if period.position in achieved else None,
            None,
            now >= period.window.ends_at,
            period.id,
            period.window.starts_at,
            period.window.ends_at,
            now >= period.window.starts_at,
        )
        for period in group.periods
    ]
    walked = walk_of(group, outcomes, NO_RECORD, now)
    positions = {period.id: period.position for period in group.periods}
    return [
        (item.kind, positions[item.period_id])
        for item in to_tell(group, 1, walked, swept_until, now, retro)
    ]


def test_a_missed_day_breaks_a_streak_run_but_not_a_non_continuous_count() -> None:
    assert told(daily(), {1, 2}, DAY[3], DAY[4]) == [(MarkKind.BROKEN, 3)]
    non_continuous = daily(TrackingType.NON_CONTINUOUS_STREAKS)
    assert told(non_continuous, {1, 2}, DAY[3], DAY[4]) == []


def test_a_missed_day_is_told_only_once_it_is_past_the_retro_buffer() -> None:
    buffer = timedelta(days=1)
    assert told(daily(), {1, 2}, DAY[3], DAY[4], buffer) == []
    assert told(daily(), {1, 2}, DAY[4], DAY[5], buffer) == [(MarkKind.BROKEN, 3)]


@pytest.mark.parametrize(
    ("swept_until", "now", "expected"),
    [
        (DAY[2] - HOUR, DAY[2], True),  # a day ends
        (DAY[2], DAY[2] + 19 * HOUR, False),  # nothing ends, no moment comes
        (DAY[2] + 19 * HOUR, DAY[2] + 20 * HOUR, True),  # 4 hours before the day's end
        (DAY[2] + 20 * HOUR, DAY[3] - timedelta(seconds=1), False),
        (DAY[2], DAY[2], False),  # an empty stretch
    ],
)
def test_a_group_may_tell_only_when_a_day_ends_or_an_at_risk_moment_comes(
    swept_until: datetime, now: datetime, expected: bool
) -> None:
    assert may_tell(daily(at_risk_hours=4), swept_until, now) is expected


def test_without_at_risk_hours_only_period_ends_count_and_the_retro_buffer_delays_them() -> None:
    group = daily()
    assert not may_tell(group, DAY[2] + 19 * HOUR, DAY[2] + 20 * HOUR)
    assert not may_tell(group, DAY[2] - HOUR, DAY[2], retro=timedelta(days=1))
    assert may_tell(group, DAY[3] - HOUR, DAY[3], retro=timedelta(days=1))


def test_an_at_risk_window_longer_than_a_day_starts_with_the_day() -> None:
    group = daily(at_risk_hours=30)
    assert may_tell(group, DAY[2] - timedelta(minutes=1), DAY[2])


def test_periods_in_customers_zones_may_end_at_any_quarter_hour() -> None:
    group = daily(period_zone=PeriodZone.CUSTOMER)
    quarter = DAY[2] + timedelta(hours=5, minutes=45)
    assert may_tell(group, quarter - timedelta(minutes=1), quarter)
    assert not may_tell(group, quarter, quarter + timedelta(minutes=14))
