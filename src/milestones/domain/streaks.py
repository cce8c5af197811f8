"""Streak levels from a customer's period outcomes (SPEC §11), computed afresh each time.

Periods are taken in order. An achieved period extends the run; a period that ended
unachieved resets it (STREAKS only); the running period never breaks it. Level ``k`` is
achieved the first time the run (or, for NON_CONTINUOUS_STREAKS, the count of achieved
periods) reaches ``k``, at the achievement time of the period that got it there.
Recomputing from the outcomes means a late event that achieves a past period joins
runs, and a revoked achievement takes back the levels it completed.

>>> start = datetime(2024, 1, 1, tzinfo=UTC)
>>> outcomes = [PeriodOutcome(1, start, 11, True), PeriodOutcome(2, start, 12, True)]
>>> [s.status for s in streak_statuses([StreakRule(5, "two", 2)], outcomes, continuous=True)]
[<StreakState.ACHIEVED: 'ACHIEVED'>]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class StreakState(StrEnum):
    """Where a customer stands on one level (a member is its own string, as answered)."""

    NOT_STARTED = "NOT_STARTED"  # no period of the group achieved yet
    IN_PROGRESS = "IN_PROGRESS"  # some period achieved, the level not reached
    ACHIEVED = "ACHIEVED"  # the level was reached (and stays so unless revoked)


@dataclass(frozen=True, slots=True)
class StreakRule:
    """A level: achieve the target in ``target_count`` periods."""

    id: int
    name: str
    target_count: int


@dataclass(frozen=True, slots=True)
class PeriodOutcome:
    """One period of a customer: when it was achieved (if it was), and whether it has ended."""

    position: int
    achieved_at: datetime | None
    user_target_id: int | None
    ended: bool


@dataclass(frozen=True, slots=True)
class StreakStatus:
    """Where a customer stands on one level."""

    rule: StreakRule
    status: StreakState
    current_count: int
    achieved_at: datetime | None
    achieved_user_target_id: int | None


def streak_statuses(
    rules: Sequence[StreakRule], outcomes: Sequence[PeriodOutcome], *, continuous: bool
) -> list[StreakStatus]:
    """Each level's status, the current run (or count), and when it was first reached."""
    reached: dict[int, tuple[datetime, int | None]] = {}
    count = 0
    for outcome in sorted(outcomes, key=lambda o: o.position):
        if outcome.achieved_at is not None:
            count += 1
            for rule in rules:
                if count >= rule.target_count and rule.id not in reached:
                    reached[rule.id] = (outcome.achieved_at, outcome.user_target_id)
        elif outcome.ended and continuous:
            count = 0
    any_achieved = any(outcome.achieved_at is not None for outcome in outcomes)
    statuses = []
    for rule in rules:
        first = reached.get(rule.id)
        if first is not None:
            status = StreakState.ACHIEVED
        elif any_achieved:
            status = StreakState.IN_PROGRESS
        else:
            status = StreakState.NOT_STARTED
        at, user_target_id = first if first else (None, None)
        statuses.append(StreakStatus(rule, status, count, at, user_target_id))
    return statuses


__all__ = ["UTC", "PeriodOutcome", "StreakRule", "StreakState", "StreakStatus", "streak_statuses"]
