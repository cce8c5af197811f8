"""``PUT /v3/targetGroups/{id}``: change what does not rewrite history, refuse the rest.

Allowed: the group's name, description and active flag; a target's name,
description, active flag and expression; target values of periods that have not
ended; new periods after the last one that start in the future (fixed windows).
Anything else that differs from what is stored is refused with the field named,
so a client may send back a whole group it read, with its edits.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from milestones.api.target_groups.schemas import (
    DefaultValueIn,
    PeriodIn,
    TargetGroupUpdate,
    TargetUpdate,
)
from milestones.api.target_groups.service import group_for
from milestones.domain.errors import HistoryRewrite, InvalidInput, NameTaken
from milestones.domain.group_rules import check_name, zone_named
from milestones.domain.orgs import Caller
from milestones.domain.periods import EvaluationType, PeriodSpec, PeriodStatus, fixed_periods
from milestones.domain.target_groups import PeriodDraft, Target, TargetGroup
from milestones.domain.target_rules import expression_pair
from milestones.domain.times import TimeFormatError, parse_day
from milestones.store.target_groups import TargetGroupRepository


def update_group(
    connection: Connection, caller: Caller, group_id: int, body: TargetGroupUpdate, now: datetime
) -> None:
    """Apply an update in the caller's transaction (all or nothing)."""
    group = group_for(connection, [caller.org_id], group_id)
    repository = TargetGroupRepository(connection)
    _refuse_schedule_changes(group, body)
    changes: dict[str, object] = {}
    if body.name is not None and body.name.strip() != group.name:
        name = check_name(body.name)
        if repository.name_taken(caller.org_id, name, except_group_id=group.id):
            raise NameTaken(f"A target group named '{name}' already exists", "name")
        changes["name"] = name
    if body.description is not None:
        changes["description"] = body.description
    if body.active is not None:
        changes["active"] = body.active
    new_period_ids = _add_periods(repository, group, body.periods or [], caller, now)
    if new_period_ids:
        changes["total_periods"] = len(group.periods) + len(new_period_ids)
    refreshed = repository.load([group.id])[0]
    if new_period_ids:
        last = refreshed.periods[-1].window.last_instant
        if group.cycle_end is None or last > group.cycle_end:
            changes["cycle_end"] = last
    for index, target_body in enumerate(body.targets or []):
        _update_target(repository, refreshed, target_body, index, new_period_ids, caller, now)
    for target in refreshed.targets:
        if new_period_ids and target.id not in {t.id for t in body.targets or []}:
            _fill_new_periods(repository, target, new_period_ids)
    repository.update_group(group.id, changes, caller.client.id, now)


def _refuse_schedule_changes(group: TargetGroup, body: TargetGroupUpdate) -> None:
    stored: dict[str, object] = {
        "trackingType": group.tracking_type,
        "targetEvaluationType": group.evaluation_type,
        "frequencyType": group.frequency_type,
        "frequency": group.frequency,
        "recurringCycles": group.recurring_cycles,
        "timeZoneName": group.time_zone,
    }
    for field, value in stored.items():
        given = getattr(body, field)
        if given is not None and given != value:
            raise HistoryRewrite(
                f"{field} cannot change once a group exists (it is {value})", field
            )
    if body.timeZoneName is not None:
        zone_named(body.timeZoneName, "timeZoneName")
    new_periods = sum(1 for period in body.periods or [] if period.id is None)
    if body.totalPeriods is not None and body.totalPeriods not in (
        group.total_periods,
        group.total_periods + new_periods,
    ):
        raise HistoryRewrite(
            "totalPeriods follows the periods; add periods to raise it", "totalPeriods"
        )


def _add_periods(
    repository: TargetGroupRepository,
    group: TargetGroup,
    bodies: list[PeriodIn],
    caller: Caller,
    now: datetime,
) -> list[int]:
    zone = group.zone
    existing = {period.id: period for period in group.periods}
    ref_codes = {period.ref_code for period in group.periods}
    last_end = group.periods[-1].window.ends_at if group.periods else None
    added: list[int] = []
    for index, body in enumerate(bodies):
        where = f"periods[{index}]"
        if body.id is not None:
            period = existing.get(body.id)
            if period is None:
                raise InvalidInput(f"period {body.id} is not a period of this group", f"{where}.id")
            same = (
                body.refCode == period.ref_code
                and _day(body.startDate, zone, f"{where}.startDate")
                in (period.window.start_date(zone), period.window.starts_at)
                and _day(body.endDate, zone, f"{where}.endDate") in (period.window.end_date(zone),)
            )
            if not same:
                raise HistoryRewrite("an existing period's refCode and dates cannot change", where)
            continue
        if group.evaluation_type is not EvaluationType.FIXED_CALENDAR_WINDOW:
            raise HistoryRewrite(
                f"{group.evaluation_type.value} groups cannot take new periods", where
            )
        if body.refCode in ref_codes:
            raise InvalidInput(
                f"refCode {body.refCode} is already used in this group", f"{where}.refCode"
            )
        spec = PeriodSpec(
            body.refCode,
            _day(body.startDate, zone, f"{where}.startDate"),
            _day(body.endDate, zone, f"{where}.endDate"),
        )
        window = fixed_periods(
            zone=zone,
            frequency_type=group.frequency_type,
            frequency=group.frequency,
            total_periods=1,
            cycle_start=None,
            cycle_end=None,
            explicit=[spec],
        )[0]
        if window.starts_at <= now:
            raise HistoryRewrite("a new period must start in the future", f"{where}.startDate")
        if last_end is not None and window.starts_at < last_end:
            raise HistoryRewrite(
                "a new period must start after the group's last period ends", f"{where}.startDate"
            )
        if len(group.periods) + len(added) >= 100:
            raise InvalidInput("a group has at most 100 periods", "periods")
        position = len(group.periods) + len(added) + 1
        draft = PeriodDraft(window, body.description, body.active)
        added.append(repository.add_period(group.id, position, draft, caller.client.id, now))
        ref_codes.add(body.refCode)
        last_end = window.ends_at
    return added


def _day(text: str, zone: ZoneInfo, field: str) -> date | datetime:
    try:
        return parse_day(text, zone)
    except TimeFormatError as exc:
        raise InvalidInput(str(exc), field) from exc


def _update_target(
    repository: TargetGroupRepository,
    group: TargetGroup,
    body: TargetUpdate,
    index: int,
    new_period_ids: list[int],
    caller: Caller,
    now: datetime,
) -> None:
    where = f"targets[{index}]"
    target = next((t for t in group.targets if t.id == body.id), None)
    if target is None:
        raise InvalidInput(
            f"target {body.id} is not a target of this group; targets cannot be added",
            f"{where}.id",
        )
    fixed: dict[str, object] = {
        "targetEntity": target.entity,
        "targetType": target.target_type,
        "eventName": target.event_name,
        "enrolmentMethod": target.enrolment_method,
    }
    for field, value in fixed.items():
        given = getattr(body, field)
        if given is not None and given != value:
            raise HistoryRewrite(
                f"{field} of a target cannot change (it is {value})", f"{where}.{field}"
            )
    changes: dict[str, object] = {}
    for field, column in (("name", "name"), ("description", "description"), ("active", "active")):
        if getattr(body, field) is not None:
            changes[column] = getattr(body, field)
    if body.expression is not None or body.expressionJson is not None:
        changes["expression"], changes["expression_json"] = expression_pair(
            body.expression, body.expressionJson, where
        )
    repository.update_target(target.id, changes, caller.client.id, now)
    values = _new_values(group, target, body, where, now)
    for period_id in new_period_ids:
        values.setdefault(period_id, _last_value(target))
    repository.set_default_values(target.id, values)


def _new_values(
    group: TargetGroup, target: Target, body: TargetUpdate, where: str, now: datetime
) -> dict[int, Decimal]:
    stored = {value.period_id: value.value for value in target.default_values}
    wanted: dict[int, Decimal] = {}
    if body.defaultValues is not None:
        wanted = _listed_values(group, body.defaultValues, where)
    elif body.defaultValue is not None:
        wanted = {
            p.id: body.defaultValue
            for p in group.periods
            if p.status(now) is not PeriodStatus.ENDED
        }
    changed: dict[int, Decimal] = {}
    for period in group.periods:
        if period.id not in wanted or wanted[period.id] == stored.get(period.id):
            continue
        if period.status(now) is PeriodStatus.ENDED:
            raise HistoryRewrite(
                f"period {period.ref_code} has ended; its target value cannot change",
                f"{where}.defaultValues",
            )
        if wanted[period.id] <= 0:
            field = "defaultValues" if body.defaultValues is not None else "defaultValue"
            raise InvalidInput("target values must be above 0", f"{where}.{field}")
        changed[period.id] = wanted[period.id]
    return changed


def _listed_values(
    group: TargetGroup, entries: list[DefaultValueIn], where: str
) -> dict[int, Decimal]:
    ids = [period.id for period in group.periods]
    if all(entry.periodId is not None for entry in entries):
        unknown = [entry.periodId for entry in entries if entry.periodId not in ids]
        if unknown:
            raise InvalidInput(
                f"period {unknown[0]} is not a period of this group", f"{where}.defaultValues"
            )
        return {int(entry.periodId): entry.defaultValue for entry in entries}  # type: ignore[arg-type]
    if len(entries) != len(ids):
        raise InvalidInput(
            f"defaultValues has {len(entries)} entries for {len(ids)} periods; "
            "give one per period or name periodId",
            f"{where}.defaultValues",
        )
    return {period_id: entry.defaultValue for period_id, entry in zip(ids, entries, strict=True)}


def _last_value(target: Target) -> Decimal:
    return target.default_values[-1].value if target.default_values else Decimal(1)


def _fill_new_periods(
    repository: TargetGroupRepository, target: Target, new_period_ids: list[int]
) -> None:
    stored = {value.period_id for value in target.default_values}
    missing = {pid: _last_value(target) for pid in new_period_ids if pid not in stored}
    repository.set_default_values(target.id, missing)
