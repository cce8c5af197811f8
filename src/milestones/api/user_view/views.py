"""The user view as the API shows it: the seed 002 shape, key for key, nulls kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

import orjson

from milestones.api.attribution import actor
from milestones.api.envelope import Prerendered, render_float_free
from milestones.api.user_view.prepared import PreparedGroup, milestones
from milestones.domain.group_progress import GroupPeriodState
from milestones.domain.orgs import ApiClient
from milestones.domain.placement import cut_per_customer
from milestones.domain.standing import Row
from milestones.domain.streaks import PeriodResult, StreakStatus, Walk
from milestones.domain.target_groups import Period, Target, TargetGroup, TrackingType
from milestones.domain.times import offset_text, utc_text

Json = dict[str, object]
_UTC = ZoneInfo("UTC")
# An idle entry is written once with this in place of ``now``, then split around it. A
# control character is always escaped in a JSON string, and a key's quotes are never part
# of one, so nothing a group holds can write these bytes.
_NOW_MARK = "\x01now\x01"
_MARKED = b'"enrolledOn":"\\u0001now\\u0001"'


@dataclass(frozen=True, slots=True)
class ShownGroup:
    """A group the view shows from the customer's rows (their periods, cycles or slots)."""

    prepared: PreparedGroup
    rows: list[Row]
    streaks: list[StreakStatus]
    group_periods: list[GroupPeriodState]
    streak: Walk | None = None  # a streak group's walk: outcomes, freezes, risk


@dataclass(frozen=True, slots=True)
class IdleGroup:
    """A FIXED group shown in its current period to a customer with nothing stored on
    ``targets`` (no progress, no enrolment)."""

    prepared: PreparedGroup
    targets: list[Target]
    period: Period
    streaks: list[StreakStatus]
    group_periods: list[GroupPeriodState]

    def key(self) -> tuple[object, ...]:
        """What the entry depends on, the group apart."""
        return (
            tuple(target.id for target in self.targets),
            self.period.id,
            tuple(_streak_key(status) for status in self.streaks),
            tuple(self.group_periods),
        )


class EntryWriter:
    """Writes one request's group entries from their prepared, customer-independent parts.

    Dates, names and audit times come ready-made; ``now`` and each API client are written
    once per request.
    """

    def __init__(self, clients: dict[int, ApiClient], now: datetime) -> None:
        self._clients = clients
        self._now = now
        self._now_text = offset_text(now, _UTC)
        self._now_json = b'"enrolledOn":' + orjson.dumps(self._now_text)
        self._actors: dict[int, dict[str, object]] = {}

    def write(self, shown: ShownGroup | IdleGroup) -> Json | Prerendered:
        """A shown group's entry."""
        if isinstance(shown, IdleGroup):
            return self.idle_group_entry(shown)
        outcomes = outcomes_of(shown.streak)
        targets = [self.target_entry(shown.prepared, row, outcomes) for row in shown.rows]
        return self.group_of(
            shown.prepared, targets, shown.streaks, shown.group_periods, shown.streak
        )

    def idle_group_entry(self, idle: IdleGroup) -> Prerendered:
        """An untouched group's entry: the same for every customer but for ``enrolledOn``
        (``now``), so it is written as JSON once per group and kept, and each request
        splices ``now`` in."""
        key = idle.key()
        parts = idle.prepared.idle_entries.get(key)
        if parts is None:
            parts = render_float_free(self._idle_plain(idle, _NOW_MARK)).split(_MARKED)
            assert len(parts) == len(idle.targets) + 1, "one enrolledOn per target"
            idle.prepared.remember_idle_entry(key, parts)
        return Prerendered(
            self._now_json.join(parts), partial(self._idle_plain, idle, self._now_text)
        )

    def _idle_plain(self, idle: IdleGroup, enrolled_on: str) -> Json:
        entries: list[Json] = []
        for target in idle.targets:
            entry = dict(idle.prepared.idle_cell(target.id, idle.period.id))
            entry["enrolledOn"] = enrolled_on
            entries.append(entry)
        return self.group_of(idle.prepared, entries, idle.streaks, idle.group_periods)

    def group_of(
        self,
        prepared: PreparedGroup,
        targets: list[Json],
        streaks: list[StreakStatus],
        group_periods: list[GroupPeriodState],
        streak: Walk | None = None,
    ) -> Json:
        """A group's entry around its ``targets[]`` entries."""
        group = prepared.group
        view: Json = {
            "id": group.id,
            "attribution": {
                "createdOn": prepared.created_on,
                "lastUpdatedOn": prepared.last_updated_on,
                "lastUpdatedBy": self._actor(group.audit.updated_by),
                "createdBy": self._actor(group.audit.created_by),
            },
            "name": group.name,
            "orgId": group.org_id,
            "preferredTillId": group.preferred_till_id,
            "targets": targets,
        }
        if group.tracking_type.is_streak:
            view["streaks"] = [streak_entry(status, streak) for status in streaks]
        if group.tracking_type is TrackingType.UNIFIED:
            view["groupPeriods"] = _group_periods(group, group_periods)
        view["targetEvaluationType"] = group.evaluation_type.value
        view["trackingType"] = group.tracking_type.value
        return view

    def target_entry(
        self, prepared: PreparedGroup, row: Row, outcomes: dict[int, str] | None = None
    ) -> Json:
        """As :func:`target_entry`, from the prepared skeleton when the window is the period's."""
        cell = prepared.cell(row.target.id, row.period.id)
        if cell is None or row.window is not row.period.window:
            return target_entry(prepared.group, row, self._now, outcomes)
        progress = row.user_target
        entry = dict(cell)
        if progress is None:
            enrolled_at = row.enrolled_at
            entry["targetAchievedValue"] = Decimal(0)
            entry["milestones"] = milestones(row.target, None)
        else:
            enrolled_at = progress.enrolled_at or row.enrolled_at
            entry["targetId"] = progress.id
            entry["targetAchievedValue"] = progress.achieved_value
            entry["targetAchievedDateTime"] = _utc_or_none(progress.achieved_at)
            entry["milestones"] = milestones(row.target, progress)
        entry["targetValue"] = row.target_value
        entry["enrolledOn"] = (
            offset_text(enrolled_at, _UTC) if enrolled_at is not None else self._now_text
        )
        entry["currentPeriod"] = row.current
        if "periodOutcome" in entry:
            entry["periodOutcome"] = _outcome(outcomes, row)
        return entry

    def _actor(self, client_id: int) -> dict[str, object]:
        # The same client is shown by many groups: written once, the same dict each time.
        found = self._actors.get(client_id)
        if found is None:
            found = self._actors[client_id] = actor(client_id, self._clients)
        return found


def target_entry(
    group: TargetGroup, row: Row, now: datetime, outcomes: dict[int, str] | None = None
) -> Json:
    """One target in one period: the customer's progress, or zero where they have none;
    in a streak group, the period's outcome for the customer's streak (§17)."""
    zone = group.zone
    window = row.window
    target = row.target
    progress = row.user_target
    # A customer's own window of a per-customer period covers the period's local dates, cut
    # in their zone: the dates shown are the period's.
    dates = row.period.window if cut_per_customer(group) else window
    enrolled_at = (progress.enrolled_at if progress else None) or row.enrolled_at or now
    entry: Json = {
        "targetId": progress.id if progress else None,
        "orgId": group.org_id,
        "periodId": row.period.id,
        "periodRefCode": row.period.ref_code,
        "periodStartDate": dates.start_date(zone).isoformat(),
        "periodEndDate": dates.end_date(zone).isoformat(),
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
    if group.tracking_type.is_streak:
        entry["periodOutcome"] = _outcome(outcomes, row)
    return entry


def outcomes_of(streak: Walk | None) -> dict[int, str] | None:
    """Each period's outcome by period id, from a streak walk."""
    if streak is None:
        return None
    return {step.outcome.period_id: step.result.value for step in streak.steps}


def _outcome(outcomes: dict[int, str] | None, row: Row) -> str:
    found = outcomes.get(row.period.id) if outcomes else None
    if found is not None:
        return found
    return PeriodResult.RUNNING.value if row.current else PeriodResult.NOT_STARTED.value


def streak_entry(status: StreakStatus, streak: Walk | None = None) -> Json:
    """One streak level: where the customer stands on it, and (§17) the freezes they hold,
    when their run resets if nothing more is achieved, and whether it is at risk now."""
    return {
        "userStreakId": None,
        "streakId": status.rule.id,
        "streakName": status.rule.name,
        "status": status.status,
        "currentCount": status.current_count,
        "totalTargetCountOfSequence": status.rule.target_count,
        "streakAchievedDateTime": _utc_or_none(status.achieved_at),
        "streakAchievedUserTargetId": status.achieved_user_target_id,
        "freezesHeld": streak.freezes_held if streak else 0,
        "runEndsAt": _utc_or_none(streak.run_ends_at if streak else None),
        "atRisk": streak.at_risk if streak else False,
    }


def _streak_key(status: StreakStatus) -> tuple[object, ...]:
    return (
        status.rule.id,
        status.status,
        status.current_count,
        status.achieved_at,
        status.achieved_user_target_id,
    )


def _group_periods(group: TargetGroup, group_periods: list[GroupPeriodState]) -> list[Json]:
    ref_codes = {period.id: period.ref_code for period in group.periods}
    return [
        {
            "periodId": state.period_id,
            "periodRefCode": ref_codes.get(state.period_id),
            "groupAchieved": state.achieved,
            "groupAchievedDateTime": _utc_or_none(state.achieved_at),
        }
        for state in group_periods
    ]


def _utc_or_none(instant: datetime | None) -> str | None:
    return utc_text(instant) if instant is not None else None
