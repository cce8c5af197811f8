"""Webhooks (subscriptions, their latest deliveries, a retry) and jobs (their progress)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from milestones.api.console.pages import render
from milestones.api.console.problems import Problem, id_in_path
from milestones.api.console.sessions import (
    ConsoleSession,
    Session,
    check_csrf,
    notice_of,
    notice_query,
)
from milestones.api.dependencies import AppDatabase
from milestones.api.webhooks import service as webhooks
from milestones.delivery import wall_clock
from milestones.domain.errors import MilestonesError, NotFound
from milestones.store.database import Database
from milestones.store.jobs import JobRepository
from milestones.store.webhooks import WebhookRepository

router = APIRouter(prefix="/console", include_in_schema=False)
SHOWN = 100
DELIVERIES = 10


@router.get("/webhooks")
def webhooks_page(request: Request, session: Session, database: AppDatabase) -> Response:
    with database.transaction(write=False) as connection:
        repository = WebhookRepository(connection)
        subscriptions, total = repository.page(session.org_id, SHOWN, 0)
        deliveries = {
            hook.id: repository.deliveries(session.org_id, hook.id, None, DELIVERIES, 0)
            for hook in subscriptions
        }
    context = {
        "title": "Webhooks",
        "subscriptions": subscriptions,
        "total": total,
        "deliveries": deliveries,
        "retried": notice_of(request, session, "retried"),
    }
    return render(request, "webhooks.html", context, session=session)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry")
async def retry_delivery(
    webhook_id: str, delivery_id: str, request: Request, session: Session, database: AppDatabase
) -> Response:
    hook = id_in_path(webhook_id, "webhook", session)
    delivery = id_in_path(delivery_id, "delivery", session)
    if not session.user.role.may_retry_deliveries:
        raise Problem(403, "Not allowed", "Your role may not retry deliveries.", session)
    await check_csrf(request, session.csrf)
    try:
        await run_in_threadpool(_retry, database, session, hook, delivery)
    except MilestonesError as error:
        status = 404 if isinstance(error, NotFound) else 400
        raise Problem(status, "Refused", error.message, session) from None
    return RedirectResponse(
        f"/console/webhooks?{notice_query(session, 'retried', str(delivery))}", status_code=303
    )


def _retry(database: Database, session: ConsoleSession, hook: int, delivery: int) -> None:
    with database.transaction() as connection:
        webhooks.retry(connection, session.org_id, hook, delivery)


@router.get("/jobs")
def jobs_page(request: Request, session: Session, database: AppDatabase) -> Response:
    with database.transaction(write=False) as connection:
        jobs, total = JobRepository(connection).page(session.org_id, SHOWN, 0)
    context = {"title": "Jobs", "jobs": jobs, "total": total, "now": wall_clock()}
    return render(request, "jobs.html", context, session=session)
