"""A customer: search by userId, their standing drawn, their latest events, and support's
streak care (a freeze granted, a missed period repaired) through the API's own service."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from milestones.api.console.pages import render
from milestones.api.console.problems import Problem, id_in_path
from milestones.api.console.service import customer_page
from milestones.api.console.sessions import (
    ConsoleSession,
    Session,
    check_csrf,
    notice_of,
    notice_query,
)
from milestones.api.dependencies import AppCatalogueCache, AppClock, AppDatabase, AppViewCache
from milestones.api.streak_care import service as streak_care
from milestones.clock import Clock
from milestones.domain.errors import MilestonesError
from milestones.domain.streaks import PeriodResult
from milestones.store.database import Database

router = APIRouter(prefix="/console/customers", include_in_schema=False)
MAX_FREEZES = 100
# How each period outcome is drawn and named on the streak calendar.
OUTCOMES = [
    (PeriodResult.ACHIEVED, "Achieved"),
    (PeriodResult.REPAIRED, "Repaired"),
    (PeriodResult.FROZEN, "Frozen"),
    (PeriodResult.MISSED, "Missed"),
    (PeriodResult.RUNNING, "Running"),
    (PeriodResult.NOT_STARTED, "Not started"),
]


@router.get("")
def customers_page(
    request: Request,
    session: Session,
    database: AppDatabase,
    clock: AppClock,
    cache: AppCatalogueCache,
    views: AppViewCache,
) -> Response:
    wanted = request.query_params.get("userId", "").strip()
    context: dict[str, object] = {"title": "Customers", "wanted": wanted[:40], "page": None}
    if not wanted:
        return render(request, "customer.html", context, session=session)
    if not (wanted.isascii() and wanted.isdigit()) or len(wanted) > 18 or int(wanted) < 1:
        context["error"] = "A userId is a positive whole number, e.g. 7001."
        return render(request, "customer.html", context, session=session, status_code=400)
    now = clock.now()
    with database.transaction(write=False) as connection:
        page = customer_page(connection, session.org_id, int(wanted), now, cache, views)
    context.update(
        title=f"Customer {wanted}",
        page=page,
        now=now,
        outcomes=OUTCOMES,
        done=notice_of(request, session, "done"),
    )
    return render(request, "customer.html", context, session=session)


@router.post("/{user_id}/freezes")
async def grant_freezes(
    user_id: str, request: Request, session: Session, database: AppDatabase, clock: AppClock
) -> Response:
    return await _care(user_id, request, session, database, clock, "freezes")


@router.post("/{user_id}/repair")
async def repair(
    user_id: str, request: Request, session: Session, database: AppDatabase, clock: AppClock
) -> Response:
    return await _care(user_id, request, session, database, clock, "repair")


async def _care(
    user_id: str,
    request: Request,
    session: Session,
    database: Database,
    clock: Clock,
    what: str,
) -> Response:
    customer = id_in_path(user_id, "customer", session)
    if not session.user.role.may_care_for_streaks:
        raise Problem(403, "Not allowed", "Your role may not grant freezes or repairs.", session)
    form = await check_csrf(request, session.csrf)
    try:
        done = await run_in_threadpool(_apply, database, clock, session, customer, what, form)
    except MilestonesError as error:
        raise Problem(400, "Refused", error.message, session) from None
    return RedirectResponse(
        f"/console/customers?userId={customer}&{notice_query(session, 'done', done)}",
        status_code=303,
    )


def _apply(
    database: Database,
    clock: Clock,
    session: ConsoleSession,
    user_id: int,
    what: str,
    form: dict[str, str],
) -> str:
    group_id = _number(form.get("targetGroupId", ""), "targetGroupId", session)
    with database.transaction() as connection:
        if what == "freezes":
            count = _number(form.get("count", ""), "count", session)
            if count > MAX_FREEZES:
                raise Problem(
                    400, "Refused", f"Grant at most {MAX_FREEZES} freezes at once.", session
                )
            answer = streak_care.grant_freezes(
                connection, session.caller, user_id, group_id, count, clock.now()
            )
            granted, held = answer["granted"], answer["freezesHeld"]
            return f"Granted {granted} freeze{'s' if granted != 1 else ''}: {held} held."
        period_id = _number(form.get("periodId", ""), "periodId", session)
        answer = streak_care.repair(
            connection, session.caller, user_id, group_id, period_id, clock.now()
        )
        return f"Repaired period {answer['periodRefCode']}: the run is {answer['currentCount']}."


def _number(text: str, name: str, session: ConsoleSession) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
        raise Problem(400, "Refused", f"{name} must be a positive whole number.", session)
    return int(text)
