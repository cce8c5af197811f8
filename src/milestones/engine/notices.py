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
from milestones.domain.periods import EvaluationType
from milestones.domain.streaks import StreakStatus
from milestones.domain.target_groups import MilestoneTrigger
from milestones.domain.times import utc_text
from milestones.engine.contribute import Effect

_MILLI = Decimal("0.001")
_ZERO = Decimal(0)
_MILLISECOND = timedelta(milliseconds=1)
Data = dict[str, object]


def notices_of(outcomes: Iterable[tuple[str | None, Iterable[Effect]]]) -> list[Notice]:
    """Every notice of the events' (eventId, effects), in the order they were applied."""
    notices: list[Notice] = []
    for event_id, effects in outcomes:
        for effect in effects:
            if effect.achieves_or_revokes:
                notices.extend(_notices(event_id, effect))
    return notices


def _notices(event_id: str | None, effect: Effect) -> list[Notice]:
    move = effect.move
    user_id = effect.user_target.user_id
    at = move.at
    base = _base(event_id, effect)
    made: list[Notice] = []

    def add(type_: NotificationType, extra: Data | None = None) -> None:
        made.append(Notice(type_, user_id, at, {**base, **extra} if extra else base))

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


def _base(event_id: str | None, effect: Effect) -> Data:
    """What every notice of one effect repeats: the event, group, target, period and values."""
    tracked = effect.tracked
    group = tracked.group
    user_target = effect.user_target
    zone = group.zone
    shown_end = user_target.ends_at
    if group.evaluation_type is not EvaluationType.CYCLIC_WINDOW:
        shown_end -= _MILLISECOND
    base: Data = {
        "eventId": event_id,
        "targetGroupId": group.id,
        "targetGroupName": group.name,
        "targetRuleId": tracked.target.id,
        "targetName": tracked.target.name,
        "userTargetId": user_target.id,
        "periodId": effect.period.id,
        "periodRefCode": effect.period.ref_code,
        "periodStartDate": user_target.starts_at.astimezone(zone).date().isoformat(),
        "periodEndDate": (user_target.ends_at - _MILLISECOND).astimezone(zone).date().isoformat(),
        "periodStartDateWithTimeStamp": utc_text(user_target.starts_at),
        "periodEndDateWithTimeStamp": utc_text(shown_end),
        "targetEvaluationType": group.evaluation_type.value,
        "trackingType": group.tracking_type.value,
        "contributionType": effect.kind.value,
        "definedTargetValue": user_target.target_value.quantize(_MILLI),
        "currentEventTargetValue": effect.move.amount.quantize(_MILLI),
        "targetAchievedValueBeforeEvent": effect.move.before.quantize(_MILLI),
        "targetAchievedValueAfterEvent": effect.move.after.quantize(_MILLI),
    }
    if effect.capped is not None:  # a CAPPING target: what it counted, and what it left out
        base["cappedValue"] = effect.capped.quantize(_MILLI)
        base["excessValue"] = (effect.excess or _ZERO).quantize(_MILLI)
    return base


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
