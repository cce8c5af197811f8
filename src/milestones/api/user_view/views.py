"""The user view as the API shows it: the seed 002 shape, key for key, nulls kept."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from milestones.api.attribution import attribution
from milestones.api.user_view.layout import Row
from milestones.domain.orgs import ApiClient
from milestones.domain.progress import UserTarget
from milestones.domain.streaks import StreakStatus
from milestones.domain.target_groups import Target, TargetGroup, TrackingType
from milestones.domain.times import offset_text, utc_text
from milestones.engine.group_progress import GroupPeriodState

Json = dict[str, object]
_UTC = ZoneInfo("UTC")
USER_TRIGGER = "USER_TRIGGER"


def group_entry(
    group: TargetGroup,
    rows: list[Row],
    streaks: list[StreakStatus],
    group_periods: list[GroupPeriodState],
    clients: dict[int, ApiClient],
    now: datetime,
) -> Json:
    """One group: who made it, its rows, its streak levels (streak groups only)."""
    view: Json = {
        "id": group.id,
        "attribution": attribution(group.audit, group.zone, clients),
        "name": group.name,
        "orgId": group.org_id,
        "preferredTillId": group.preferred_till_id,
        "targets": [target_entry(group, row, now) for row in rows],
    }
    if group.tracking_type.is_streak:
        view["streaks"] = [streak_entry(status) for status in streaks]
    if group.tracking_type is TrackingType.UNIFIED:
        ref_codes = {period.id: period.ref_code for period in group.periods}
        view["groupPeriods"] = [
            {
                "periodId": state.period_id,
                "periodRefCode": ref_codes.get(state.period_id),
                "groupAchieved": state.achieved,
                "groupAchievedDateTime": _utc_or_none(state.achieved_at),
            }
            for state in group_periods
        ]
    view["targetEvaluationType"] = group.evaluation_type.value
    view["trackingType"] = group.tracking_type.value
    return view


def target_entry(group: TargetGroup, row: Row, now: datetime) -> Json:
    """One target in one period: the customer's progress, or zero where they have none."""
    zone = group.zone
    window = row.window
    target = row.target
    progress = row.user_target
    enrolled_at = (progress.enrolled_at if progress else None) or row.enrolled_at or now
    return {
        "targetId": progress.id if progress else None,
        "orgId": group.org_id,
        "periodId": row.period.id,
        "periodRefCode": row.period.ref_code,
        "periodStartDate": window.start_date(zone).isoformat(),
        "periodEndDate": window.end_date(zone).isoformat(),
        "targetValue": row.target_value,
        "targetAchievedValue": progress.achieved_value if progress else Decimal(0),
        "targetName": target.name,
        "targetType": target.target_type,
        "targetEntity": target.entity.value,
        "targetRuleId": target.id,
        "enrolledOn": offset_text(enrolled_at, _UTC),
        "eventName": target.event_name,
        "periodStartDateWithTimeStamp": utc_text(window.starts_at),
        "periodEndDateWithTimeStamp": utc_text(
            window.ends_at if row.exclusive_end else window.last_instant
        ),
        "targetAchievedDateTime": _utc_or_none(progress.achieved_at if progress else None),
        "currentPeriod": row.current,
        "milestones": milestones(target, progress),
    }


def milestones(target: Target, progress: UserTarget | None) -> list[Json] | None:
    """The target's active user triggers and whether each is reached; None when it has none."""
    reached = progress.milestones if progress else {}
    entries: list[Json] = [
        {
            "id": trigger.id,
            "triggerName": trigger.name,
            "triggerValueType": trigger.value_type.value,
            "triggerValue": trigger.value,
            "isAchieved": trigger.id in reached,
            "achievedDateTime": _utc_or_none(reached.get(trigger.id)),
        }
        for trigger in target.triggers
        if trigger.trigger_type == USER_TRIGGER and trigger.is_active
    ]
    return entries or None


def streak_entry(status: StreakStatus) -> Json:
    """One streak level: where the customer stands on it."""
    return {
        "userStreakId": None,
        "streakId": status.rule.id,
        "streakName": status.rule.name,
        "status": status.status,
        "currentCount": status.current_count,
        "totalTargetCountOfSequence": status.rule.target_count,
        "streakAchievedDateTime": _utc_or_none(status.achieved_at),
        "streakAchievedUserTargetId": status.achieved_user_target_id,
    }


def _utc_or_none(instant: datetime | None) -> str | None:
    return utc_text(instant) if instant is not None else None
