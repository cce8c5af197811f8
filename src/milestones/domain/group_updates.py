"""Changing a stored target group: what does not rewrite history is allowed, the rest refused.

Allowed: the group's name, description and active flag; a target's name,
description, active flag and expression; target values of periods that have not
ended; new periods after the last one that start in the future (fixed windows).
Anything else that differs from what is stored is refused with the field named,
so a client may send back a whole group it read, with its edits.

The rules are asked in steps, so that the caller can store new periods (and learn
their ids) before the targets' values for them are worked out:
:func:`refuse_schedule_changes`, :func:`new_name`, :func:`new_periods`, then
:func:`target_changes`, :func:`new_period_values` and :func:`group_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from milestones.domain.errors import HistoryRewrite, InvalidInput
from milestones.domain.group_input import DefaultValueInput, GroupEdit, PeriodInput, TargetEdit
from milestones.domain.group_rules import check_name, period_day, zone_named
from milestones.domain.periods import (
    MAX_PERIODS,
    EvaluationType,
    PeriodSpec,
    PeriodStatus,
    fixed_periods,
)
from milestones.domain.streak_care import care_columns, check_care
from milestones.domain.target_groups import (
    PeriodDraft,
    Target,
    TargetGroup,
)
from milestones.domain.target_rules import expression_pair


@dataclass(frozen=True, slots=True)
class TargetChange:
    """What to write for one target: its changed fields and its values by period id."""

    target_id: int
    fields: dict[str, object]
    values: dict[int, Decimal]


def refuse_schedule_changes(group: TargetGroup, edit: GroupEdit) -> None:
    """The schedule (tracking, evaluation, frequency, cycles, zone) stays as stored, and
    ``totalPeriods`` only follows the periods added."""
    stored: dict[str, tuple[object, object]] = {
        "trackingType": (edit.tracking_type, group.tracking_type),
        "targetEvaluationType": (edit.evaluation_type, group.evaluation_type),
        "frequencyType": (edit.frequency_type, group.frequency_type),
        "frequency": (edit.frequency, group.frequency),
        "recurringCycles": (edit.recurring_cycles, group.recurring_cycles),
        "timeZoneName": (edit.time_zone_name, group.time_zone),
    }
    for field, (given, value) in stored.items():
        if given is not None and given != value:
            raise HistoryRewrite(
                f"{field} cannot change once a group exists (it is {value})", field
            )
    if edit.time_zone_name is not None:
        zone_named(edit.time_zone_name, "timeZoneName")
    added = sum(1 for period in edit.periods or () if period.id is None)
    if edit.total_periods is not None and edit.total_periods not in (
        group.total_periods,
        group.total_periods + added,
    ):
        raise HistoryRewrite(
            "totalPeriods follows the periods; add periods to raise it", "totalPeriods"
        )


def new_name(group: TargetGroup, edit: GroupEdit) -> str | None:
    """The group's new name, checked, or None when the name does not change."""
    if edit.name is None or edit.name.strip() == group.name:
        return None
    return check_name(edit.name)


def new_periods(
    group: TargetGroup, periods: tuple[PeriodInput, ...], now: datetime
) -> list[PeriodDraft]:
    """The periods to add: stored ones sent back must be unchanged; new ones (fixed windows
    only) start in the future, after the last period, with a refCode of their own."""
    zone = group.zone
    existing = {period.id: period for period in group.periods}
    ref_codes = {period.ref_code for period in group.periods}
    last_end = group.periods[-1].window.ends_at if group.periods else None
    added: list[PeriodDraft] = []
    for index, period_input in enumerate(periods):
        where = f"periods[{index}]"
        if period_input.id is not None:
            period = existing.get(period_input.id)
            if period is None:
                raise InvalidInput(
                    f"period {period_input.id} is not a period of this group", f"{where}.id"
                )
            same = (
                period_input.ref_code == period.ref_code
                and period_day(period_input.start_date, zone, f"{where}.startDate")
                in (period.window.start_date(zone), period.window.starts_at)
                and period_day(period_input.end_date, zone, f"{where}.endDate")
                in (period.window.end_date(zone),)
            )
            if not same:
                raise HistoryRewrite("an existing period's refCode and dates cannot change", where)
            continue
        if group.evaluation_type is not EvaluationType.FIXED_CALENDAR_WINDOW:
            raise HistoryRewrite(
                f"{group.evaluation_type.value} groups cannot take new periods", where
            )
        if period_input.ref_code in ref_codes:
            raise InvalidInput(
                f"refCode {period_input.ref_code} is already used in this group",
                f"{where}.refCode",
            )
        spec = PeriodSpec(
            period_input.ref_code,
            period_day(period_input.start_date, zone, f"{where}.startDate"),
            period_day(period_input.end_date, zone, f"{where}.endDate"),
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
        if len(group.periods) + len(added) >= MAX_PERIODS:
            raise InvalidInput(f"a group has at most {MAX_PERIODS} periods", "periods")
        added.append(PeriodDraft(window, period_input.description, period_input.active))
        ref_codes.add(period_input.ref_code)
        last_end = window.ends_at
    return added


def target_changes(
    group: TargetGroup, edits: tuple[TargetEdit, ...], new_period_ids: list[int], now: datetime
) -> list[TargetChange]:
    """Each edited target's changes, in the order sent; ``group`` already holds the new
    periods (``new_period_ids``), which take the target's last value unless one is given."""
    return [
        _target_change(group, edit, f"targets[{index}]", new_period_ids, now)
        for index, edit in enumerate(edits)
    ]


def new_period_values(
    group: TargetGroup, edits: tuple[TargetEdit, ...], new_period_ids: list[int]
) -> dict[int, dict[int, Decimal]]:
    """For the targets not edited: their last value for each new period, by target id."""
    if not new_period_ids:
        return {}
    edited = {edit.id for edit in edits}
    filled: dict[int, dict[int, Decimal]] = {}
    for target in group.targets:
        if target.id in edited:
            continue
        stored = {value.period_id for value in target.default_values}
        filled[target.id] = {
            period_id: _last_value(target)
            for period_id in new_period_ids
            if period_id not in stored
        }
    return filled


def group_changes(
    grown: TargetGroup, edit: GroupEdit, name: str | None, added: int, now: datetime
) -> dict[str, object]:
    """The group's own changed fields; ``grown`` already holds the ``added`` new periods,
    which raise ``total_periods`` and may move ``cycle_end``. Care settings apply to the
    periods that have not ended; ``periodZone`` changes only before the first one starts."""
    changes: dict[str, object] = {}
    if edit.care is not None:
        care = check_care(
            edit.care,
            grown.tracking_type,
            grown.evaluation_type,
            grown.frequency_type,
            grown.care,
        )
        started = bool(grown.periods) and grown.periods[0].window.starts_at <= now
        if care.period_zone is not grown.care.period_zone and started:
            raise HistoryRewrite(
                "periodZone cannot change once the group's first period has started "
                "(it would move the running period)",
                "periodZone",
            )
        changes.update(care_columns(care))
    if name is not None:
        changes["name"] = name
    if edit.description is not None:
        changes["description"] = edit.description
    if edit.active is not None:
        changes["active"] = edit.active
    if added:
        changes["total_periods"] = len(grown.periods)
        last = grown.periods[-1].window.last_instant
        if grown.cycle_end is None or last > grown.cycle_end:
            changes["cycle_end"] = last
    return changes


def _target_change(
    group: TargetGroup, edit: TargetEdit, where: str, new_period_ids: list[int], now: datetime
) -> TargetChange:
    target = next((t for t in group.targets if t.id == edit.id), None)
    if target is None:
        raise InvalidInput(
            f"target {edit.id} is not a target of this group; targets cannot be added",
            f"{where}.id",
        )
    fixed: dict[str, tuple[object, object]] = {
        "targetEntity": (edit.entity, target.entity),
        "targetType": (edit.target_type, target.target_type),
        "eventName": (edit.event_name, target.event_name),
        "enrolmentMethod": (edit.enrolment_method, target.enrolment_method),
    }
    for field, (given, value) in fixed.items():
        if given is not None and given != value:
            raise HistoryRewrite(
                f"{field} of a target cannot change (it is {value})", f"{where}.{field}"
            )
    fields: dict[str, object] = {}
    for column, given in (
        ("name", edit.name),
        ("description", edit.description),
        ("active", edit.active),
    ):
        if given is not None:
            fields[column] = given
    if edit.expression is not None or edit.expression_json is not None:
        fields["expression"], fields["expression_json"] = expression_pair(
            edit.expression, edit.expression_json, where
        )
    values = _new_values(group, target, edit, where, now)
    for period_id in new_period_ids:
        values.setdefault(period_id, _last_value(target))
    return TargetChange(target.id, fields, values)


def _new_values(
    group: TargetGroup, target: Target, edit: TargetEdit, where: str, now: datetime
) -> dict[int, Decimal]:
    """The values that change; a period that has ended keeps its value."""
    stored = {value.period_id: value.value for value in target.default_values}
    wanted: dict[int, Decimal] = {}
    if edit.default_values is not None:
        wanted = _listed_values(group, edit.default_values, where)
    elif edit.default_value is not None:
        wanted = {
            p.id: edit.default_value
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
            field = "defaultValues" if edit.default_values is not None else "defaultValue"
            raise InvalidInput("target values must be above 0", f"{where}.{field}")
        changed[period.id] = wanted[period.id]
    return changed


def _listed_values(
    group: TargetGroup, entries: tuple[DefaultValueInput, ...], where: str
) -> dict[int, Decimal]:
    """``defaultValues`` by period id: each naming its periodId, or one per period in order."""
    ids = [period.id for period in group.periods]
    if all(entry.period_id is not None for entry in entries):
        unknown = [entry.period_id for entry in entries if entry.period_id not in ids]
        if unknown:
            raise InvalidInput(
                f"period {unknown[0]} is not a period of this group", f"{where}.defaultValues"
            )
        return {entry.period_id: entry.value for entry in entries if entry.period_id is not None}
    if len(entries) != len(ids):
        raise InvalidInput(
            f"defaultValues has {len(entries)} entries for {len(ids)} periods; "
            "give one per period or name periodId",
            f"{where}.defaultValues",
        )
    return {period_id: entry.value for period_id, entry in zip(ids, entries, strict=True)}


def _last_value(target: Target) -> Decimal:
    return target.default_values[-1].value if target.default_values else Decimal(1)
