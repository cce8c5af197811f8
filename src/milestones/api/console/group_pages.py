"""Groups: the list, a group (periods, funnels, leaderboard, edits), and a new group
(its form checked by create's rules, its periods previewed, a simulation over history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import simplejson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from milestones.api.console import forms
from milestones.api.console.forms import FormErrors
from milestones.api.console.pages import render
from milestones.api.console.problems import Problem, id_in_path, may_change_groups
from milestones.api.console.service import fixed, funnels, summaries
from milestones.api.console.sessions import ConsoleSession, Session, check_csrf
from milestones.api.dependencies import AppClock, AppDatabase, AppSettings
from milestones.api.leaderboards.service import BoardQuery, leaderboard
from milestones.api.simulation.schemas import SimulationIn
from milestones.api.simulation.service import Simulated, simulate
from milestones.api.target_groups import service, updates
from milestones.api.target_groups.inputs import group_input
from milestones.api.target_groups.schemas import TargetGroupCreate, TargetGroupUpdate
from milestones.clock import Clock
from milestones.domain.calendar import FrequencyType
from milestones.domain.care_settings import PeriodZone
from milestones.domain.errors import MilestonesError, NotFound
from milestones.domain.group_rules import draft_group
from milestones.domain.periods import EvaluationType, PeriodStatus, PeriodWindow
from milestones.domain.target_groups import (
    GROUP_ID_PLACEHOLDER,
    Aggregation,
    CombinationType,
    Target,
    TargetEntity,
    TargetGroup,
    TrackingType,
    TriggerValueType,
)
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.leaderboards import Ranked

router = APIRouter(prefix="/console/groups", include_in_schema=False)
BOARD_SIZE = 10

# The choices of the new-group form: every tracking and evaluation type there is.
CHOICES = {
    "trackingType": [t.value for t in TrackingType],
    "targetEvaluationType": [e.value for e in EvaluationType],
    "frequencyType": [f.value for f in FrequencyType],
    "targetEntity": [e.value for e in TargetEntity],
    "combinationType": [c.value for c in CombinationType],
    "aggregation": [a.value for a in Aggregation],
    "triggerValueType": [t.value for t in TriggerValueType],
    "periodZone": [z.value for z in PeriodZone],
}
_STARTING_VALUES = {
    "trackingType": "DEFAULT",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "frequencyType": "MONTHLY",
    "frequency": "1",
    "totalPeriods": "3",
    "recurringCycles": "-1",
    "targets[0].targetEntity": "TRANSACTION",
    "targets[0].targetType": "SALES",
}


@router.get("")
def groups_page(
    request: Request, session: Session, database: AppDatabase, clock: AppClock
) -> Response:
    now = clock.now()
    with database.transaction(write=False) as connection:
        shown = summaries(connection, session.org_id, now)
    return render(
        request, "groups.html", {"title": "Groups", "summaries": shown, "now": now}, session=session
    )


@router.get("/new")
def new_group_page(request: Request, session: Session) -> Response:
    may_change_groups(session)
    context = _new_context(dict(_STARTING_VALUES), FormErrors())
    return render(request, "new_group.html", context, session=session)


@dataclass
class _Outcome:
    errors: FormErrors
    preview: list[PeriodWindow] | None = None
    zone: str = "UTC"
    simulated: Simulated | None = None
    created: int | None = None
    warnings: list[str] = field(default_factory=list)


@router.post("/new")
async def new_group_form(
    request: Request,
    session: Session,
    database: AppDatabase,
    clock: AppClock,
    settings: AppSettings,
) -> Response:
    may_change_groups(session)
    form = await check_csrf(request, session.csrf)
    outcome = await run_in_threadpool(_new_group, database, settings, clock, session, form)
    if outcome.created is not None:
        return RedirectResponse(f"/console/groups/{outcome.created}?created=1", status_code=303)
    context = _new_context(forms.shown_values(form), outcome.errors)
    context.update(
        preview=outcome.preview,
        zone=outcome.zone,
        simulated=outcome.simulated,
        warnings=outcome.warnings,
    )
    return render(
        request,
        "new_group.html",
        context,
        session=session,
        status_code=400 if outcome.errors else 200,
    )


def _new_context(values: dict[str, str], errors: FormErrors) -> dict[str, object]:
    return {
        "title": "New group",
        "values": values,
        "errors": errors,
        "choices": CHOICES,
        "target_rows": range(forms.TARGET_ROWS),
        "trigger_rows": range(forms.TRIGGER_ROWS),
        "streak_rows": range(forms.STREAK_ROWS),
    }


def _new_group(
    database: Database,
    settings: Settings,
    clock: Clock,
    session: ConsoleSession,
    form: dict[str, str],
) -> _Outcome:
    """Check the form with create's rules; then preview, simulate or create, as asked."""
    caller, now = session.caller, clock.now()
    outcome = _Outcome(FormErrors())
    body = forms.create_body(form)
    group = forms.validated(TargetGroupCreate, body, outcome.errors)
    if group is None:
        return outcome
    try:
        draft, warnings = draft_group(group_input(group), caller.org)
    except MilestonesError as error:
        forms.add_error(outcome.errors, error)
        return outcome
    outcome.zone = draft.time_zone
    outcome.warnings = [warning.message for warning in warnings]
    outcome.preview = [
        PeriodWindow(
            p.window.ref_code.replace(GROUP_ID_PLACEHOLDER, "new"),
            p.window.starts_at,
            p.window.ends_at,
        )
        for p in draft.periods
    ]
    action = form.get("action", "preview")
    try:
        if action == "create":
            with database.transaction() as connection:
                outcome.created, _ = service.create_group(connection, caller, group, now)
        elif action == "simulate":
            outcome.simulated = _simulate(database, settings, clock, session, body, form, outcome)
    except MilestonesError as error:
        forms.add_error(outcome.errors, error)
    return outcome


def _simulate(
    database: Database,
    settings: Settings,
    clock: Clock,
    session: ConsoleSession,
    body: dict[str, Any],
    form: dict[str, str],
    outcome: _Outcome,
) -> Simulated | None:
    """The simulation endpoint's service on the draft, over the range the form gives."""
    asked = {"group": body, "from": form.get("from", "").strip(), "to": form.get("to", "").strip()}
    simulation = forms.validated(SimulationIn, asked, outcome.errors)
    if simulation is None:
        return None
    raw = simplejson.dumps(asked, use_decimal=True).encode()
    return simulate(database, settings, clock, session.caller, simulation, raw)


@router.get("/{group_id}")
def group_page(
    group_id: str, request: Request, session: Session, database: AppDatabase, clock: AppClock
) -> Response:
    with database.transaction(write=False) as connection:
        group = _group(connection, session, group_id)
        context = _group_context(connection, session, group, clock.now())
    context["created"] = request.query_params.get("created") == "1"
    context["updated"] = request.query_params.get("updated") == "1"
    return render(request, "group.html", context, session=session)


@router.post("/{group_id}")
async def group_edit_form(
    group_id: str, request: Request, session: Session, database: AppDatabase, clock: AppClock
) -> Response:
    may_change_groups(session)
    form = await check_csrf(request, session.csrf)
    errors = await run_in_threadpool(_edit, database, clock, session, group_id, form)
    if not errors:
        return RedirectResponse(f"/console/groups/{group_id}?updated=1", status_code=303)
    with database.transaction(write=False) as connection:
        group = _group(connection, session, group_id)
        context = _group_context(connection, session, group, clock.now())
    context.update(errors=errors, values=forms.shown_values(form))
    return render(request, "group.html", context, session=session, status_code=400)


def _edit(
    database: Database, clock: Clock, session: ConsoleSession, group_id: str, form: dict[str, str]
) -> FormErrors:
    """The edit form as a PUT body, through the PUT's own service."""
    errors = FormErrors()
    with database.transaction(write=False) as connection:
        group = _group(connection, session, group_id)
    now = clock.now()
    shown = [_value_now(group, target, now) for target in group.targets]
    body = forms.update_body(form, group.targets, shown)
    update = forms.validated(TargetGroupUpdate, body, errors)
    if update is None:
        return errors
    try:
        with database.transaction() as connection:
            updates.update_group(connection, session.caller, group.id, update, now)
    except MilestonesError as error:
        forms.add_error(errors, error)
    return errors


def _group(connection: Any, session: ConsoleSession, text: str) -> TargetGroup:
    group_id = id_in_path(text, "target group", session)
    try:
        return service.group_for(connection, [session.org_id], group_id)
    except NotFound:
        raise Problem(404, "Not found", f"There is no target group {group_id}.", session) from None


def _group_context(
    connection: Any, session: ConsoleSession, group: TargetGroup, now: datetime
) -> dict[str, object]:
    board: list[Ranked] | None = None
    running = group.active_period(now)
    shows_board = group.leaderboard_enabled and session.caller.org.leaderboards_enabled
    if shows_board and fixed(group) and running is not None:
        try:
            _, board, _ = leaderboard(
                connection, [session.org_id], BoardQuery(group.id), BOARD_SIZE, 0, now
            )
        except MilestonesError:
            board = None
    values: dict[str, str] = {
        "name": group.name,
        "description": group.description or "",
        "active": "on" if group.active else "",
        "repairWindowDays": _text(group.care.repair_window_days),
        "maxRepairs": _text(group.care.max_repairs),
        "atRiskHours": _text(group.care.at_risk_hours),
    }
    for i, target in enumerate(group.targets):
        values[f"targets[{i}].name"] = target.name
        values[f"targets[{i}].active"] = "on" if target.active else ""
        values[f"targets[{i}].expression"] = target.expression
        values[f"targets[{i}].defaultValue"] = _value_now(group, target, now)
    return {
        "title": group.name,
        "group": group,
        "funnels": funnels(connection, group, now),
        "running": running,
        "board": board,
        "values": values,
        "errors": FormErrors(),
        "now": now,
    }


def _value_now(group: TargetGroup, target: Target, now: datetime) -> str:
    """The value a target asks in the first period that has not ended (what a new
    ``defaultValue`` would replace), as typed: ``1000`` or ``12.5``."""
    by_period = {value.period_id: value.value for value in target.default_values}
    for period in group.periods:
        if period.status(now) is not PeriodStatus.ENDED and period.id in by_period:
            return format(by_period[period.id].normalize(), "f")
    return ""


def _text(value: int | None) -> str:
    return "" if value is None else str(value)
