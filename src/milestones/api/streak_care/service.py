"""Granting freezes and repairing a missed period (SPEC §17), in the caller's transaction.

The customer's streak is read by the same rule the user view shows
(:func:`milestones.domain.standing.streak_of`); a repair that completes a level notifies
``streak.achieved`` like an event would.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from milestones.api.target_groups.service import group_for
from milestones.api.user_view.service import read_standing
from milestones.domain.errors import InvalidInput, NotFound, StreakCareRefused
from milestones.domain.group_progress import group_rules
from milestones.domain.notifications import Notice, NotificationType
from milestones.domain.orgs import Caller
from milestones.domain.standing import streak_of
from milestones.domain.streaks import PeriodResult, StreakState, Walk, statuses_of
from milestones.domain.target_groups import TargetGroup
from milestones.domain.times import utc_text
from milestones.store import outbox
from milestones.store.streak_care import StreakCareRepository

Json = dict[str, object]


def grant_freezes(
    connection: Connection, caller: Caller, user_id: int, group_id: int, count: int, now: datetime
) -> Json:
    """Give the customer ``count`` freezes in a group with ``streakFreezes`` (held up to
    ``maxHeld``: what is over it is not kept)."""
    group = _streak_group(connection, caller, group_id)
    max_held = group.care.max_held
    if max_held is None:
        raise StreakCareRefused(
            f"target group {group.id} has no streakFreezes: set them on the group first",
            "targetGroupId",
        )
    StreakCareRepository(connection).grant(
        caller.org_id, group.id, user_id, count, now, caller.client.name
    )
    streak = customer_streak(connection, group, user_id, now)
    return {
        "userId": user_id,
        "targetGroupId": group.id,
        "granted": count,
        "freezesHeld": streak.freezes_held,
        "maxHeld": max_held,
    }


def repair(
    connection: Connection,
    caller: Caller,
    user_id: int,
    group_id: int,
    period_id: int,
    now: datetime,
) -> Json:
    """Turn the customer's MISSED period into REPAIRED, within the group's repair window
    and its ``maxRepairs``."""
    group = _streak_group(connection, caller, group_id)
    care = group.care
    if care.repair_window_days is None or care.max_repairs is None:
        raise StreakCareRefused(
            f"target group {group.id} has no repairWindowDays: repairs are off", "targetGroupId"
        )
    period = next((p for p in group.periods if p.id == period_id), None)
    if period is None:
        raise NotFound(f"No period {period_id} in target group {group.id}", "periodId")
    before = customer_streak(connection, group, user_id, now)
    step = next(s for s in before.steps if s.outcome.period_id == period_id)
    if step.result is not PeriodResult.MISSED:
        raise StreakCareRefused(
            f"period {period.ref_code} is {step.result.value}: only a MISSED period can be "
            "repaired",
            "periodId",
        )
    ends_at = step.outcome.ends_at or period.window.ends_at
    closes = ends_at + timedelta(days=care.repair_window_days)
    if now > closes:
        raise StreakCareRefused(
            f"the repair window of period {period.ref_code} closed at {utc_text(closes)} "
            f"({care.repair_window_days} days after its end)",
            "periodId",
        )
    repairs = StreakCareRepository(connection)
    made = repairs.repairs_made(group.id, user_id)
    if made >= care.max_repairs:
        raise StreakCareRefused(
            f"the customer has used all {care.max_repairs} repairs of target group {group.id}",
            "periodId",
        )
    by = caller.client.name
    repairs.repair(caller.org_id, group.id, user_id, period_id, now, by)
    after = customer_streak(connection, group, user_id, now)
    outbox.write(
        connection, caller.org_id, now, _levels_reached(group, user_id, before, after, now)
    )
    return {
        "userId": user_id,
        "targetGroupId": group.id,
        "periodId": period.id,
        "periodRefCode": period.ref_code,
        "periodOutcome": PeriodResult.REPAIRED.value,
        "repairedAt": utc_text(now),
        "repairedBy": by,
        "repairsLeft": care.max_repairs - made - 1,
        "currentCount": after.run,
    }


def customer_streak(
    connection: Connection, group: TargetGroup, user_id: int, now: datetime
) -> Walk:
    """The customer's streak in ``group`` now, read as the user view reads it."""
    _, known = read_standing(
        connection, [group.org_id], user_id, (), (), [t.id for t in group.targets], [group.id]
    )
    return streak_of(group, known, now)


def _streak_group(connection: Connection, caller: Caller, group_id: int) -> TargetGroup:
    group = group_for(connection, [caller.org_id], group_id)
    if not group.tracking_type.is_streak:
        raise InvalidInput(
            f"target group {group.id} is {group.tracking_type.value}, not a streak group",
            "targetGroupId",
        )
    return group


def _levels_reached(
    group: TargetGroup, user_id: int, before: Walk, after: Walk, now: datetime
) -> list[Notice]:
    """``streak.achieved`` for each level the repair completed."""
    rules = group_rules(group)
    was = {s.rule.id for s in statuses_of(rules, before) if s.status is StreakState.ACHIEVED}
    notices = []
    for status in statuses_of(rules, after):
        if status.status is not StreakState.ACHIEVED or status.rule.id in was:
            continue
        at = status.achieved_at
        data: Json = {
            "eventId": None,
            "targetGroupId": group.id,
            "targetGroupName": group.name,
            "trackingType": group.tracking_type.value,
            "contributionType": "REPAIR",
            "streak": {
                "streakId": status.rule.id,
                "streakName": status.rule.name,
                "targetCountOfSequence": status.rule.target_count,
                "status": status.status,
                "currentCount": status.current_count,
                "streakAchievedDateTime": utc_text(at) if at else None,
                "streakAchievedUserTargetId": status.achieved_user_target_id,
            },
        }
        notices.append(Notice(NotificationType.STREAK_ACHIEVED, user_id, at or now, data))
    return notices
