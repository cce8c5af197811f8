"""What the streak sweeper tells (SPEC §17): the time-driven notifications of one customer.

Pure: a group, the customer's :class:`~milestones.domain.streaks.Walk` at ``now`` and the
instant the group was last swept in, notices out, each with the mark that makes it once.

- ``streak.frozen``: a period that closed unachieved used a freeze;
- ``streak.broken``: a period closed unachieved with no freeze left, ending a run > 0
  (STREAKS only: without continuity nothing breaks);
- ``streak.at_risk``: the run resets at ``runEndsAt`` unless something is achieved, and
  ``atRiskHours`` or less are left; once per running period, and only while it is true
  (a moment missed during downtime is not sent late).

Periods that closed in ``(swept_until, now]`` are told, so a sweep after downtime catches
up on every period that closed meanwhile; marks make a second sweep tell nothing again. A
closed period is told only once it is past the org's retro buffer (§15): until then a late
event may still achieve it, and give back the freeze it used. :func:`may_tell` says, from
the group alone, whether any customer can have something due in a stretch of time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from milestones.domain.notifications import Notice, NotificationType
from milestones.domain.streaks import PeriodResult, PeriodStep, Walk
from milestones.domain.target_groups import TargetGroup
from milestones.domain.times import utc_text

_MILLISECOND = timedelta(milliseconds=1)


class MarkKind(StrEnum):
    """What was told about one period of one customer (stored once, in ``streak_marks``)."""

    FROZEN = "frozen"
    BROKEN = "broken"
    AT_RISK = "at_risk"


@dataclass(frozen=True, slots=True)
class Told:
    """A notice to send, and the mark (period, kind) that makes it once."""

    period_id: int
    kind: MarkKind
    notice: Notice


def to_tell(
    group: TargetGroup,
    user_id: int,
    streak: Walk,
    swept_until: datetime,
    now: datetime,
    retro: timedelta = timedelta(0),
) -> list[Told]:
    """The notices due for one customer between the last sweep and ``now``; ``retro`` is the
    org's retro buffer, after which a closed period is settled."""
    told: list[Told] = []
    for step in streak.steps:
        ends_at = step.outcome.ends_at
        if ends_at is None or not swept_until < ends_at + retro <= now:
            continue
        if step.result is PeriodResult.FROZEN:
            told.append(_told(group, user_id, step, MarkKind.FROZEN, ends_at))
        # Without continuity a missed period keeps the count (run == run_before): no break.
        elif step.result is PeriodResult.MISSED and step.run_before > 0 and step.run == 0:
            told.append(_told(group, user_id, step, MarkKind.BROKEN, ends_at))
    hours = group.care.at_risk_hours
    running = streak.running
    if hours and streak.at_risk and streak.run_ends_at is not None and running is not None:
        moment = streak.run_ends_at - timedelta(hours=hours)
        if moment <= now < streak.run_ends_at:
            at = max(moment, _start(running))
            told.append(_told(group, user_id, running, MarkKind.AT_RISK, at, streak.run_ends_at))
    return told


_QUARTER_HOUR = timedelta(minutes=15)


def may_tell(
    group: TargetGroup, swept_until: datetime, now: datetime, retro: timedelta = timedelta(0)
) -> bool:
    """Whether :func:`to_tell` can have anything due in ``(swept_until, now]`` for any customer
    of the group: a period settles (its end, past the retro buffer) or an at-risk moment
    comes (a period's end less ``atRiskHours``, or a period's start when that is earlier).
    Periods cut in each customer's zone may end at any quarter hour.
    """
    if not swept_until < now:
        return False
    if group.care.per_customer:
        return _quarter_hours(now) > _quarter_hours(swept_until)
    hours = group.care.at_risk_hours
    risk = timedelta(hours=hours) if hours else None
    for period in group.periods:
        window = period.window
        if swept_until < window.ends_at + retro <= now:
            return True
        if risk is not None:
            moment = max(window.ends_at - risk, window.starts_at)
            if swept_until < moment <= now or swept_until < window.starts_at <= now:
                return True
    return False


def _quarter_hours(instant: datetime) -> int:
    return int(instant.timestamp() // _QUARTER_HOUR.total_seconds())


def _start(step: PeriodStep) -> datetime:
    return step.outcome.starts_at or step.outcome.ends_at or datetime.min


_TYPES = {
    MarkKind.FROZEN: NotificationType.STREAK_FROZEN,
    MarkKind.BROKEN: NotificationType.STREAK_BROKEN,
    MarkKind.AT_RISK: NotificationType.STREAK_AT_RISK,
}


def _told(
    group: TargetGroup,
    user_id: int,
    step: PeriodStep,
    kind: MarkKind,
    at: datetime,
    run_ends_at: datetime | None = None,
) -> Told:
    outcome = step.outcome
    period = next(p for p in group.periods if p.id == outcome.period_id)
    starts = outcome.starts_at or period.window.starts_at
    ends = outcome.ends_at or period.window.ends_at
    data: dict[str, object] = {
        "targetGroupId": group.id,
        "targetGroupName": group.name,
        "trackingType": group.tracking_type.value,
        "periodId": period.id,
        "periodRefCode": period.ref_code,
        "periodStartDateWithTimeStamp": utc_text(starts),
        "periodEndDateWithTimeStamp": utc_text(ends - _MILLISECOND),
        "periodOutcome": step.result.value,
        "runBefore": step.run_before,
        "currentCount": step.run,
        "freezesHeld": step.held,
    }
    if run_ends_at is not None:
        data["runEndsAt"] = utc_text(run_ends_at)
    return Told(period.id, kind, Notice(_TYPES[kind], user_id, at, data))
