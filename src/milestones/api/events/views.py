"""Event outcomes as the API answers them: status, errors and one side effect per user target."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

import orjson

from milestones.domain.outcomes import EventStatus
from milestones.domain.periods import EvaluationType
from milestones.domain.progress import UserTarget
from milestones.domain.streaks import StreakStatus
from milestones.domain.times import utc_text
from milestones.engine.contribute import Effect
from milestones.engine.ingest import EventOutcome

Json = dict[str, object]
# (target id, period id, window start, window end) -> that period's part of a side effect
Places = dict[tuple[int, int, datetime, datetime], Json]
_MILLISECOND = timedelta(milliseconds=1)
_MILLI = Decimal("0.001")
_ZERO = orjson.Fragment(b"0.000")
_NEGATIVE_ZERO = orjson.Fragment(b"-0.000")


class SideEffects(StrEnum):
    """Which side effects an answer lists (query ``sideEffects``, SPEC §6.1)."""

    FULL = "full"
    ACHIEVEMENTS = "achievements"  # only those where something was achieved or revoked
    NONE = "none"

    def shown(self, effects: Iterable[Effect]) -> list[Effect]:
        if self is SideEffects.FULL:
            return list(effects)
        if self is SideEffects.ACHIEVEMENTS:
            return [effect for effect in effects if effect.achieves_or_revokes]
        return []


class AnswerParts:
    """What a batch's side effects repeat, worked out once per answer (or chunk of one).

    Each target's group and names, each period's dates, and, when ``prerendered``, each
    money value already written as JSON (an ``orjson.Fragment``: the bytes ``str()`` of
    the quantized Decimal gives, so the answer is byte for byte the same). Prerendered
    parts can only go through :func:`milestones.api.envelope.render_float_free`; the
    plain parts (Decimals) through either renderer.
    """

    def __init__(self, prerendered: bool = False) -> None:
        self.places: Places = {}
        self._fragments: dict[Decimal, object] | None = {} if prerendered else None

    def money(self, value: Decimal) -> object:
        """Money and KPI values always show their 3 places (``0.000``, ``1200.000``)."""
        fragments = self._fragments
        if fragments is None:
            return value.quantize(_MILLI)
        if not value:  # -0 equals 0 but is written -0.000
            return _NEGATIVE_ZERO if value.is_signed() else _ZERO
        # Equal Decimals quantize to the same text, so the value itself is the key.
        found = fragments.get(value)
        if found is None:
            found = fragments[value] = orjson.Fragment(str(value.quantize(_MILLI)).encode())
        return found


def outcome_view(
    outcome: EventOutcome, parts: AnswerParts | None = None, shown: SideEffects = SideEffects.FULL
) -> Json:
    parts = AnswerParts() if parts is None else parts
    return {
        "eventId": outcome.event_id,
        "status": outcome.status,
        "sideEffects": [side_effect(effect, parts) for effect in shown.shown(outcome.effects)],
        "errors": outcome.errors,
    }


def bulk_view(outcomes: Sequence[EventOutcome], shown: SideEffects = SideEffects.FULL) -> Json:
    parts = AnswerParts()  # a batch's side effects name the same few periods again and again
    return {
        "results": [outcome_view(outcome, parts, shown) for outcome in outcomes],
        "summary": summary_view(Counter(outcome.status for outcome in outcomes)),
    }


def summary_view(counts: Mapping[EventStatus, int]) -> Json:
    """A bulk answer's counts: every event, then each status."""
    # Plain-string keys: orjson writes enum values but refuses enum keys.
    by_status = {status.value: counts.get(status, 0) for status in EventStatus}
    return {"total": sum(counts.values()), **by_status}


def side_effect(effect: Effect, parts: AnswerParts) -> Json:
    """One user target's change; ``parts`` keeps what repeats for the whole answer."""
    user_target = effect.user_target
    move = effect.move
    place_key = (
        effect.tracked.target.id,
        effect.period.id,
        user_target.starts_at,
        user_target.ends_at,
    )
    place = parts.places.get(place_key)
    if place is None:
        place = parts.places[place_key] = {**_head(effect), **_place(effect)}
    money = parts.money
    achieved_at = move.achieved_at
    # The target's and the period's part first (its ids' places kept by placeholders), then
    # what is this customer's: a copy and assignments cost less than merging dicts.
    view: Json = place.copy()
    view["userTargetId"] = user_target.id
    view["userId"] = user_target.user_id
    view["contributionType"] = effect.kind
    view["definedTargetValue"] = money(user_target.target_value)
    view["currentEventTargetValue"] = money(move.amount)
    view["targetAchievedValueBeforeEvent"] = money(move.before)
    view["targetAchievedValueAfterEvent"] = money(move.after)
    view["targetAchieved"] = move.achieved_now
    view["targetAchievedDateTime"] = utc_text(achieved_at) if achieved_at else None
    view["milestonesAchieved"] = (
        [
            {
                "id": trigger.id,
                "triggerName": trigger.name,
                "triggerValueType": trigger.value_type.value,
                "triggerValue": money(trigger.value),
                "achievedDateTime": utc_text(move.at),
            }
            for trigger in move.milestones_now
        ]
        if move.milestones_now
        else []
    )
    view["streaksAchieved"] = (
        [_streak(effect, status) for status in effect.streaks_achieved]
        if effect.streaks_achieved
        else []
    )
    if effect.capped is not None:
        view["cappedValue"] = money(effect.capped)
        view["excessValue"] = money(effect.excess or Decimal(0))
    if effect.group_state is not None:
        view["groupAchieved"] = effect.group_state.achieved
        view["groupAchievedNow"] = effect.group_achieved_now
        view["groupAchievedDateTime"] = (
            utc_text(effect.group_state.achieved_at) if effect.group_state.achieved_at else None
        )
    if effect.group_revoked:
        view["groupAchievementRevoked"] = True
    if effect.streaks_revoked:
        view["streaksRevoked"] = [_streak(effect, status) for status in effect.streaks_revoked]
    if move.revoked or move.milestones_revoked:
        view["targetAchievementRevoked"] = move.revoked
        view["milestonesRevoked"] = [
            {"id": trigger.id, "triggerName": trigger.name} for trigger in move.milestones_revoked
        ]
    return view


def _head(effect: Effect) -> Json:
    """The target's part of a side effect: its group and names."""
    tracked = effect.tracked
    return {
        "targetGroupId": tracked.group.id,
        "targetGroupName": tracked.group.name,
        "targetRuleId": tracked.target.id,
        "targetName": tracked.target.name,
        "userTargetId": None,  # placeholders: the customer's, set per side effect
        "userId": None,
    }


def _place(effect: Effect) -> Json:
    """The period's part of a side effect: the same for every customer in that window."""
    group = effect.tracked.group
    user_target = effect.user_target
    if effect.tracked.customer_periods is not None:
        # The customer's window of the period, cut in their zone, covers the period's dates.
        window = effect.period.window
        start_date = window.start_date(group.zone).isoformat()
        end_date = window.end_date(group.zone).isoformat()
    else:
        start_date = user_target.starts_at.astimezone(group.zone).date().isoformat()
        end_date = _last_day(user_target, group.zone)
    return {
        "periodId": effect.period.id,
        "periodRefCode": effect.period.ref_code,
        "periodStartDate": start_date,
        "periodEndDate": end_date,
        "periodStartDateWithTimeStamp": utc_text(user_target.starts_at),
        "periodEndDateWithTimeStamp": utc_text(_shown_end(effect)),
        "targetEvaluationType": group.evaluation_type.value,
        "trackingType": group.tracking_type.value,
    }


def _streak(effect: Effect, status: StreakStatus) -> Json:
    return {
        "streakId": status.rule.id,
        "streakName": status.rule.name,
        "targetCountOfSequence": status.rule.target_count,
        "status": status.status,
        "currentCount": status.current_count,
        "streakAchievedDateTime": utc_text(status.achieved_at) if status.achieved_at else None,
        "streakAchievedUserTargetId": effect.streak_user_target_id(status),
    }


def _shown_end(effect: Effect) -> datetime:
    """Cycles end where the next starts (as the seed shows them); other periods at .999."""
    ends_at = effect.user_target.ends_at
    if effect.tracked.group.evaluation_type is EvaluationType.CYCLIC_WINDOW:
        return ends_at
    return ends_at - _MILLISECOND


def _last_day(user_target: UserTarget, zone: ZoneInfo) -> str:
    return (user_target.ends_at - _MILLISECOND).astimezone(zone).date().isoformat()
