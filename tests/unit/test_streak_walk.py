"""The streak walk (SPEC §17) on plain outcomes: freezes, repairs, runs, and the risk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from milestones.domain.care_settings import StreakCare
from milestones.domain.streaks import (
    CareRecord,
    FreezeGrant,
    PeriodOutcome,
    Repair,
    StreakRule,
    walk,
)

START = datetime(2024, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def days(pattern: str, now_day: int) -> list[PeriodOutcome]:
    """One outcome per character: 'A' achieved (at noon), '.' not; days before ``now_day``
    have ended, ``now_day`` runs."""
    outcomes = []
    for index, mark in enumerate(pattern):
        starts = START + index * DAY
        position = index + 1
        outcomes.append(
            PeriodOutcome(
                position,
                starts + DAY / 2 if mark == "A" else None,
                position * 10 if mark == "A" else None,
                position < now_day,
                position,
                starts,
                starts + DAY,
                position <= now_day,
            )
        )
    return outcomes


def results(pattern: str, now_day: int, **kwargs: object) -> list[str]:
    walked = walk([], days(pattern, now_day), continuous=True, **kwargs)  # type: ignore[arg-type]
    return [step.result.value for step in walked.steps]


def test_a_freeze_is_granted_every_k_achieved_periods_and_used_by_the_next_miss() -> None:
    care = StreakCare(max_held=2, grant_every=2)
    walked = walk([], days("AA..A", 5), continuous=True, care=care)
    assert [s.result.value for s in walked.steps] == [
        "ACHIEVED",
        "ACHIEVED",
        "FROZEN",
        "MISSED",
        "ACHIEVED",
    ]
    assert walked.run == 1 and walked.freezes_held == 0


def test_nothing_is_frozen_while_the_run_is_zero_and_the_freeze_is_kept() -> None:
    care = StreakCare(max_held=1)
    record = CareRecord(grants=(FreezeGrant(START - DAY, 1),))
    walked = walk([], days(".A", 3), continuous=True, care=care, record=record)
    assert [s.result.value for s in walked.steps] == ["MISSED", "ACHIEVED"]
    assert walked.freezes_held == 1


def test_a_grant_counts_only_for_periods_that_close_after_it() -> None:
    care = StreakCare(max_held=3)
    late = CareRecord(grants=(FreezeGrant(START + 2 * DAY + timedelta(hours=1), 1),))
    assert results("A..", 4, care=care, record=late) == ["ACHIEVED", "MISSED", "MISSED"]
    early = CareRecord(grants=(FreezeGrant(START + DAY, 1),))
    assert results("A..", 4, care=care, record=early) == ["ACHIEVED", "FROZEN", "MISSED"]


def test_a_repaired_period_counts_for_the_run_and_can_complete_a_level() -> None:
    repaired_at = START + 4 * DAY
    record = CareRecord(repairs=(Repair(3, repaired_at, "support"),))
    rules = [StreakRule(1, "four", 4)]
    walked = walk(rules, days("AA.A", 5), continuous=True, record=record)
    assert [s.result.value for s in walked.steps] == [
        "ACHIEVED",
        "ACHIEVED",
        "REPAIRED",
        "ACHIEVED",
    ]
    assert walked.run == 4
    assert walked.reached[1].outcome.position == 4


def test_run_ends_at_moves_one_period_later_per_freeze_and_once_the_day_is_achieved() -> None:
    care = StreakCare(max_held=2)
    record = CareRecord(grants=(FreezeGrant(START, 2),))
    unachieved = walk([], days("AA...", 3), continuous=True, care=care, record=record)
    assert unachieved.at_risk and unachieved.run_ends_at == START + 5 * DAY
    achieved = walk([], days("AAA..", 3), continuous=True, care=care, record=record)
    assert not achieved.at_risk
    assert achieved.run_ends_at is None  # past the group's last period: nothing resets


def test_without_continuity_nothing_is_frozen_broken_or_at_risk() -> None:
    care = StreakCare(max_held=1, grant_every=1)
    walked = walk([], days("A.A.", 4), continuous=False, care=care)
    assert [s.result.value for s in walked.steps] == ["ACHIEVED", "MISSED", "ACHIEVED", "RUNNING"]
    assert (walked.run, walked.at_risk, walked.run_ends_at) == (2, False, None)
