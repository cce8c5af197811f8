"""Streak levels from a customer's period outcomes (SPEC §11, §17), computed afresh each time.

Periods are walked in order (:func:`walk`). An achieved period extends the run; a period
that ended unachieved resets it (STREAKS only) unless the customer holds a freeze, which
it uses (FROZEN: the run neither grows nor resets), or support repaired it (REPAIRED: it
counts for the run, not for the target); the running period never breaks it. A freeze is
granted after every ``grant_every`` achieved periods, and by support, up to ``max_held``.
Level ``k`` is achieved the first time the run (or, for NON_CONTINUOUS_STREAKS, the count
of achieved and repaired periods) reaches ``k``. Recomputing from the outcomes means a late
event that achieves a past period joins runs (and gives back the freeze it had used), and
a revoked achievement takes back the levels it completed.

>>> start = datetime(2024, 1, 1, tzinfo=UTC)
>>> outcomes = [PeriodOutcome(1, start, 11, True), PeriodOutcome(2, start, 12, True)]
>>> [s.status for s in streak_statuses([StreakRule(5, "two", 2)], outcomes, continuous=True)]
[<StreakState.ACHIEVED: 'ACHIEVED'>]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from milestones.domain.care_settings import NO_CARE, CareTimeline, StreakCare


class StreakState(StrEnum):
    """Where a customer stands on one level (a member is its own string, as answered)."""

    NOT_STARTED = "NOT_STARTED"  # no period of the group achieved yet
    IN_PROGRESS = "IN_PROGRESS"  # some period achieved, the level not reached
    ACHIEVED = "ACHIEVED"  # the level was reached (and stays so unless revoked)


class PeriodResult(StrEnum):
    """A period's outcome for the customer's streak (``periodOutcome``, §17)."""

    ACHIEVED = "ACHIEVED"
    MISSED = "MISSED"
    FROZEN = "FROZEN"
    REPAIRED = "REPAIRED"
    RUNNING = "RUNNING"
    NOT_STARTED = "NOT_STARTED"


@dataclass(frozen=True, slots=True)
class StreakRule:
    """A level: achieve the target in ``target_count`` periods."""

    id: int
    name: str
    target_count: int


@dataclass(frozen=True, slots=True)
class PeriodOutcome:
    """One period of a customer: when it was achieved (if it was), whether it has ended,
    and (for streak care) its id and the customer's window of it."""

    position: int
    achieved_at: datetime | None
    user_target_id: int | None
    ended: bool
    period_id: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    started: bool = True


@dataclass(frozen=True, slots=True)
class FreezeGrant:
    """Freezes support granted a customer in a group."""

    granted_at: datetime
    count: int


@dataclass(frozen=True, slots=True)
class Repair:
    """A missed period support turned into a REPAIRED one, and who did it."""

    period_id: int
    repaired_at: datetime
    repaired_by: str


@dataclass(frozen=True, slots=True)
class CareRecord:
    """What support did for one customer in one streak group."""

    grants: tuple[FreezeGrant, ...] = ()
    repairs: tuple[Repair, ...] = ()

    def repair_of(self, period_id: int) -> Repair | None:
        return next((r for r in self.repairs if r.period_id == period_id), None)


NO_RECORD = CareRecord()


@dataclass(frozen=True, slots=True)
class PeriodStep:
    """One period as the walk saw it: its outcome, the run after it, and when it counted."""

    outcome: PeriodOutcome
    result: PeriodResult
    run: int
    counted_at: datetime | None  # achieved or repaired: when it joined the run
    run_before: int = 0
    held: int = 0  # freezes held after it


@dataclass(frozen=True, slots=True)
class Walk:
    """A customer's streak in a group at one instant (§17)."""

    steps: tuple[PeriodStep, ...]
    run: int  # the current run (or, without continuity, the count)
    freezes_held: int
    run_ends_at: datetime | None  # when the run resets if nothing more is achieved
    at_risk: bool
    reached: dict[int, PeriodStep] = field(default_factory=dict)  # level id -> first reach

    @property
    def running(self) -> PeriodStep | None:
        return next((s for s in self.steps if s.result is PeriodResult.RUNNING), None)


@dataclass(frozen=True, slots=True)
class StreakStatus:
    """Where a customer stands on one level."""

    rule: StreakRule
    status: StreakState
    current_count: int
    achieved_at: datetime | None
    achieved_user_target_id: int | None


def walk(
    rules: Sequence[StreakRule],
    outcomes: Sequence[PeriodOutcome],
    *,
    continuous: bool,
    care: StreakCare | CareTimeline = NO_CARE,
    record: CareRecord = NO_RECORD,
    now: datetime | None = None,
) -> Walk:
    """Walk the periods in order, using freezes and repairs; see the module's rules.

    Each close of a period is judged by the care settings in force when it ended, each
    grant by those in force when it was made (``care`` as a :class:`CareTimeline`); a
    lower ``maxHeld`` trims what is held from then on.

    >>> day = lambda d: datetime(2024, 1, d, tzinfo=UTC)
    >>> o = [PeriodOutcome(d, day(d) if d < 3 else None, None, d < 4, d, day(d), day(d + 1))
    ...      for d in (1, 2, 3, 4)]
    >>> w = walk([], o, continuous=True, care=StreakCare(max_held=1, grant_every=2))
    >>> [s.result.value for s in w.steps], w.run, w.freezes_held
    (['ACHIEVED', 'ACHIEVED', 'FROZEN', 'RUNNING'], 2, 0)
    """
    timeline = care if isinstance(care, CareTimeline) else CareTimeline(care)
    grants = sorted(record.grants, key=lambda g: g.granted_at)
    held = achieved = run = 0
    granted = 0  # grants taken so far
    steps: list[PeriodStep] = []
    reached: dict[int, PeriodStep] = {}

    def take_grants(before: datetime | None, *, at_or_before: bool = False) -> None:
        nonlocal held, granted
        while granted < len(grants) and (
            before is None
            or grants[granted].granted_at < before
            or (at_or_before and grants[granted].granted_at == before)
        ):
            limit = timeline.at(grants[granted].granted_at).max_held or 0
            held = min(held + grants[granted].count, limit)
            granted += 1

    for outcome in sorted(outcomes, key=lambda o: o.position):
        before = run
        counted_at: datetime | None = None
        if outcome.achieved_at is not None:
            take_grants(outcome.achieved_at)
            run += 1
            achieved += 1
            counted_at = outcome.achieved_at
            result = PeriodResult.ACHIEVED
            then = timeline.at(counted_at)
            if then.grant_every and achieved % then.grant_every == 0:
                held = min(held + 1, then.max_held or 0)
        elif not outcome.ended:
            result = PeriodResult.RUNNING if outcome.started else PeriodResult.NOT_STARTED
        elif (repair := record.repair_of(outcome.period_id)) is not None:
            run += 1
            counted_at = repair.repaired_at
            result = PeriodResult.REPAIRED
        else:
            take_grants(outcome.ends_at)
            held = min(held, timeline.at(outcome.ends_at).max_held or 0)
            if continuous and run > 0 and held > 0:
                held -= 1
                result = PeriodResult.FROZEN
            else:
                result = PeriodResult.MISSED
                if continuous:
                    run = 0
        step = PeriodStep(outcome, result, run, counted_at, before, held)
        steps.append(step)
        if counted_at is not None:
            for rule in rules:
                if run >= rule.target_count and rule.id not in reached:
                    reached[rule.id] = step
    take_grants(now, at_or_before=True)
    held = min(held, timeline.at(now).max_held or 0)
    run_ends_at, at_risk = _risk(steps, run, held, continuous)
    return Walk(tuple(steps), run, held, run_ends_at, at_risk, reached)


def _risk(
    steps: list[PeriodStep], run: int, held: int, continuous: bool
) -> tuple[datetime | None, bool]:
    """When the run resets if nothing more is achieved, and whether the running period puts
    it at risk (it is not achieved yet). Without continuity nothing resets; outside the
    periods nothing runs."""
    index = next(
        (i for i, s in enumerate(steps) if s.outcome.started and not s.outcome.ended), None
    )
    if not continuous or run == 0 or index is None:
        return None, False
    at_risk = steps[index].result is PeriodResult.RUNNING
    # The first period that can still miss is the running one (or, once it is achieved,
    # the next); each miss after it uses a freeze while one is held.
    last = index + held + (0 if at_risk else 1)
    ends_at = steps[last].outcome.ends_at if last < len(steps) else None
    return ends_at, at_risk


def streak_statuses(
    rules: Sequence[StreakRule],
    outcomes: Sequence[PeriodOutcome],
    *,
    continuous: bool,
    care: StreakCare | CareTimeline = NO_CARE,
    record: CareRecord = NO_RECORD,
    now: datetime | None = None,
) -> list[StreakStatus]:
    """Each level's status, the current run (or count), and when it was first reached."""
    walked = walk(rules, outcomes, continuous=continuous, care=care, record=record, now=now)
    return statuses_of(rules, walked)


def statuses_of(rules: Sequence[StreakRule], walked: Walk) -> list[StreakStatus]:
    """Each level's status from a :class:`Walk`."""
    any_counted = any(step.counted_at is not None for step in walked.steps)
    statuses = []
    for rule in rules:
        first = walked.reached.get(rule.id)
        if first is not None:
            status = StreakState.ACHIEVED
        elif any_counted:
            status = StreakState.IN_PROGRESS
        else:
            status = StreakState.NOT_STARTED
        at = first.counted_at if first else None
        user_target_id = first.outcome.user_target_id if first else None
        statuses.append(StreakStatus(rule, status, walked.run, at, user_target_id))
    return statuses


__all__ = [
    "UTC",
    "CareRecord",
    "FreezeGrant",
    "PeriodOutcome",
    "PeriodResult",
    "PeriodStep",
    "Repair",
    "StreakRule",
    "StreakState",
    "StreakStatus",
    "Walk",
    "statuses_of",
    "streak_statuses",
    "walk",
]
