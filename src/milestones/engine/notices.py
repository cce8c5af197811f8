"""The notifications a batch's outcomes make (SPEC §15): one per thing achieved or taken back.

An effect that achieves a target, a milestone, a streak level or the group as a whole
(or takes one back) makes one notice each; an effect that only moves a value makes none.
The notices are built after the batch is saved, so every user target has its real id.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from milestones.domain.notifications import Notice, NotificationType
from milestones.domain.periods import EvaluationType, PeriodWindow
from milestones.domain.progress import UserTarget
from milestones.domain.rebuild import Achievement, AchievementKind, Reckoning, Standing
from milestones.domain.streaks import StreakStatus
from milestones.domain.target_groups import MilestoneTrigger, TargetGroup
from milestones.domain.times import utc_text
from milestones.engine.contribute import Effect

_MILLI = Decimal("0.001")
_ZERO = Decimal(0)
_MILLISECOND = timedelta(milliseconds=1)
Data = dict[str, object]


def notices_of(outcomes: Iterable[tuple[str | None, Iterable[Effect]]]) -> list[Notice]:
    """Every notice of the events' (eventId, effects), in the order they were applied."""
    notices: list[Notice] = []
    places: dict[tuple[object, ...], Data] = {}  # a batch names the same few periods again
    for event_id, effects in outcomes:
        for effect in effects:
            if effect.achieves_or_revokes:
                notices.extend(_notices(event_id, effect, places))
    return notices


def _notices(
    event_id: str | None, effect: Effect, places: dict[tuple[object, ...], Data]
) -> list[Notice]:
    move = effect.move
    user_id = effect.user_target.user_id
    at = move.at
    base = _base(event_id, effect, places)
    made: list[Notice] = []

    def add(type_: NotificationType, extra: Data | None = None) -> None:
        data = base
        if extra:  # the base's fields, then the notice's own (a copy costs less than a merge)
            data = base.copy()
            data.update(extra)
        made.append(Notice(type_, user_id, at, data))

    if move.achieved_now:
        achieved_at = move.achieved_at
        add(
            NotificationType.TARGET_ACHIEVED,
            {"targetAchievedDateTime": utc_text(achieved_at) if achieved_at else None},
        )
    for trigger in move.milestones_now:
        add(NotificationType.MILESTONE_ACHIEVED, {"milestone": _milestone(trigger)})
    for status in effect.streaks_achieved:
        add(NotificationType.STREAK_ACHIEVED, {"streak": _streak(effect, status)})
    if effect.group_achieved_now and effect.group_state is not None:
        group_at = effect.group_state.achieved_at
        add(
            NotificationType.GROUP_ACHIEVED,
            {"groupAchievedDateTime": utc_text(group_at) if group_at else None},
        )
    if move.revoked:
        add(NotificationType.TARGET_REVOKED)
    for trigger in move.milestones_revoked:
        add(NotificationType.MILESTONE_REVOKED, {"milestone": _milestone(trigger)})
    for status in effect.streaks_revoked:
        add(NotificationType.STREAK_REVOKED, {"streak": _streak(effect, status)})
    if effect.group_revoked:
        add(NotificationType.GROUP_REVOKED)
    return made


def _base(event_id: str | None, effect: Effect, places: dict[tuple[object, ...], Data]) -> Data:
    """What every notice of one effect repeats: the event, group, target, period and values."""
    tracked = effect.tracked
    user_target = effect.user_target
    key = (tracked.target.id, effect.period.id, user_target.starts_at, user_target.ends_at)
    place = places.get(key)
    if place is None:
        place = places[key] = _place(effect)
    move = effect.move
    base: Data = {
        "eventId": event_id,
        **place,
        "userTargetId": user_target.id,
        "contributionType": effect.kind.value,
        "definedTargetValue": user_target.target_value.quantize(_MILLI),
        "currentEventTargetValue": move.amount.quantize(_MILLI),
        "targetAchievedValueBeforeEvent": move.before.quantize(_MILLI),
        "targetAchievedValueAfterEvent": move.after.quantize(_MILLI),
    }
    if effect.capped is not None:  # a CAPPING target: what it counted, and what it left out
        base["cappedValue"] = effect.capped.quantize(_MILLI)
        base["excessValue"] = (effect.excess or _ZERO).quantize(_MILLI)
    return base


def _place(effect: Effect) -> Data:
    """The target's and the period's part of a notice, in the order the notice shows them."""
    tracked = effect.tracked
    group = tracked.group
    user_target = effect.user_target
    zone = group.zone
    shown_end = user_target.ends_at
    if group.evaluation_type is not EvaluationType.CYCLIC_WINDOW:
        shown_end -= _MILLISECOND
    return {
        "targetGroupId": group.id,
        "targetGroupName": group.name,
        "targetRuleId": tracked.target.id,
        "targetName": tracked.target.name,
        "userTargetId": None,  # a placeholder that keeps the key's place: set per notice
        "periodId": effect.period.id,
        "periodRefCode": effect.period.ref_code,
        "periodStartDate": user_target.starts_at.astimezone(zone).date().isoformat(),
        "periodEndDate": (user_target.ends_at - _MILLISECOND).astimezone(zone).date().isoformat(),
        "periodStartDateWithTimeStamp": utc_text(user_target.starts_at),
        "periodEndDateWithTimeStamp": utc_text(shown_end),
        "targetEvaluationType": group.evaluation_type.value,
        "trackingType": group.tracking_type.value,
    }


def _milestone(trigger: MilestoneTrigger) -> Data:
    return {
        "id": trigger.id,
        "triggerName": trigger.name,
        "triggerValueType": trigger.value_type.value,
        "triggerValue": trigger.value.quantize(_MILLI),
    }


def _streak(effect: Effect, status: StreakStatus) -> Data:
    achieved_at: datetime | None = status.achieved_at
    return {
        "streakId": status.rule.id,
        "streakName": status.rule.name,
        "targetCountOfSequence": status.rule.target_count,
        "status": status.status,
        "currentCount": status.current_count,
        "streakAchievedDateTime": utc_text(achieved_at) if achieved_at else None,
        "streakAchievedUserTargetId": effect.streak_user_target_id(status),
    }


def rebuild_notices(
    group: TargetGroup,
    old: Standing,
    reckoning: Reckoning,
    now: datetime,
    job_id: int,
) -> list[Notice]:
    """What a rebuild changed (SPEC §16): one ``*.achieved`` per achievement added and one
    ``*.revoked`` per achievement taken back, in the shape of the engine's own notices
    (``contributionType`` ``REBUILD``, no ``eventId``; the values before and after are the
    user target's as stored before the rebuild and after it)."""
    made = [_rebuilt(group, old, reckoning, a, now, job_id, False) for a in reckoning.added]
    made += [_rebuilt(group, old, reckoning, a, now, job_id, True) for a in reckoning.revoked]
    return made


def _rebuilt(
    group: TargetGroup,
    old: Standing,
    reckoning: Reckoning,
    achievement: Achievement,
    now: datetime,
    job_id: int,
    revoked: bool,
) -> Notice:
    periods = {period.id: period for period in group.periods}
    data: Data = {
        "eventId": None,
        "jobId": job_id,
        "targetGroupId": group.id,
        "targetGroupName": group.name,
        "targetEvaluationType": group.evaluation_type.value,
        "trackingType": group.tracking_type.value,
        "contributionType": "REBUILD",
    }
    period = periods.get(achievement.period_id)
    if period is not None:
        data.update(_rebuilt_period(group, period.ref_code, period.window, achievement))
    user_target = achievement.user_target
    kind = achievement.kind
    if user_target is not None and kind in (AchievementKind.TARGET, AchievementKind.MILESTONE):
        data.update(_rebuilt_values(group, old, reckoning, user_target))
    if kind is AchievementKind.TARGET and not revoked:
        data["targetAchievedDateTime"] = utc_text(achievement.at) if achievement.at else None
    elif kind is AchievementKind.MILESTONE:
        trigger = next(
            (
                trigger
                for target in group.targets
                for trigger in target.triggers
                if trigger.id == achievement.item_id
            ),
            None,
        )
        if trigger is not None:
            data["milestone"] = _milestone(trigger)
    elif kind is AchievementKind.GROUP and not revoked:
        data["groupAchievedDateTime"] = utc_text(achievement.at) if achievement.at else None
    elif kind is AchievementKind.STREAK:
        level = next((s for s in group.streaks if s.id == achievement.item_id), None)
        streak: Data = {
            "streakId": achievement.item_id,
            "streakName": level.name if level else None,
            "targetCountOfSequence": level.target_count if level else None,
        }
        status = achievement.streak
        if status is not None and not revoked:
            streak.update(
                status=status.status,
                currentCount=status.current_count,
                streakAchievedDateTime=utc_text(status.achieved_at) if status.achieved_at else None,
                streakAchievedUserTargetId=status.achieved_user_target_id,
            )
        data["streak"] = streak
    at = now if revoked or achievement.at is None else achievement.at
    return Notice(kind.notification(revoked=revoked), achievement.user_id, at, data)


def _rebuilt_period(
    group: TargetGroup, ref_code: str, window: PeriodWindow, achievement: Achievement
) -> Data:
    zone = group.zone
    user_target = achievement.user_target
    starts = user_target.starts_at if user_target else window.starts_at
    ends = user_target.ends_at if user_target else window.ends_at
    shown_end = (
        ends if group.evaluation_type is EvaluationType.CYCLIC_WINDOW else ends - _MILLISECOND
    )
    return {
        "periodId": achievement.period_id,
        "periodRefCode": ref_code,
        "periodStartDate": starts.astimezone(zone).date().isoformat(),
        "periodEndDate": (ends - _MILLISECOND).astimezone(zone).date().isoformat(),
        "periodStartDateWithTimeStamp": utc_text(starts),
        "periodEndDateWithTimeStamp": utc_text(shown_end),
    }


def _rebuilt_values(
    group: TargetGroup, old: Standing, reckoning: Reckoning, user_target: UserTarget
) -> Data:
    key = (user_target.target_id, user_target.period_id, user_target.user_id)
    target = next((t for t in group.targets if t.id == user_target.target_id), None)
    before = old.user_targets.get(key)
    after = reckoning.final.user_targets.get(key)
    value_before = before.achieved_value if before else _ZERO
    value_after = after.achieved_value if after else _ZERO
    return {
        "targetRuleId": user_target.target_id,
        "targetName": target.name if target else None,
        "userTargetId": (after or user_target).id,
        "definedTargetValue": (after or user_target).target_value.quantize(_MILLI),
        "currentEventTargetValue": (value_after - value_before).quantize(_MILLI),
        "targetAchievedValueBeforeEvent": value_before.quantize(_MILLI),
        "targetAchievedValueAfterEvent": value_after.quantize(_MILLI),
    }
