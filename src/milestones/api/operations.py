"""``GET /ready`` and ``GET /metrics`` (SPEC §19); ``/health`` is in :mod:`system`.

``/ready`` says whether this process can serve: its database answers and its schema is
at the newest migration; else 503 (300504), so a load balancer sends it nothing.
``/metrics`` is the Prometheus text, behind ``MILESTONES_METRICS_TOKEN`` when set.
"""

from __future__ import annotations

import hmac
from functools import cache

from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util.exc import CommandError
from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from milestones.api.dependencies import AppDatabase, AppSettings
from milestones.api.envelope import EnvelopeResponse, failed, ok
from milestones.api.errors import error_item
from milestones.api.models import error_responses
from milestones.domain.errors import Unauthenticated
from milestones.observability import metrics
from milestones.store.database import alembic_config
from milestones.store.webhooks import DeliveryQueue

router = APIRouter(tags=["operations"])
NOT_READY = 300504


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except (CommandError, ResolutionError, KeyError):
        return False


@router.get(
    "/ready",
    summary="Readiness: the database answers and migrations are current (else 503)",
    responses={
        503: {"description": "Not ready (300504): database unreachable, or migrations pending"},
        **error_responses(500),
    },
)
def ready(database: AppDatabase) -> EnvelopeResponse:
    try:
        current = database.schema_revisions()
    except (SQLAlchemyError, OSError):
        return _not_ready("the database does not answer")
    newest = _scripts().get_current_head()
    found = ", ".join(sorted(current)) or "none"
    if current == {newest}:
        return ok({"status": "READY", "schema": newest})
    if current and not all(_known(revision) for revision in current):
        # A newer release migrated it (a rolling deploy): migrations only add, so this
        # older code still serves until it is replaced.
        return ok({"status": "READY", "schema": found, "codeSchema": newest})
    return _not_ready(f"migrations pending: the database is at {found}, the code at {newest}")


def _not_ready(message: str) -> EnvelopeResponse:
    response = failed(503, [error_item(NOT_READY, message)])
    response.headers["retry-after"] = "1"
    return response


@router.get(
    "/metrics",
    summary="Prometheus metrics (Bearer MILESTONES_METRICS_TOKEN when set)",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        **error_responses(401, 500),
    },
)
def prometheus_metrics(request: Request, database: AppDatabase, settings: AppSettings) -> Response:
    token = settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise Unauthenticated("/metrics needs Authorization: Bearer <MILESTONES_METRICS_TOKEN>")
    pending: list[tuple[str, float]] | None
    try:
        with database.transaction(write=False) as connection:
            pending = [(str(w), float(n)) for w, n in DeliveryQueue(connection).pending_counts()]
    except SQLAlchemyError:
        pending = None  # the database is away: the process's own metrics still answer
    body = metrics.exposition(metrics.LiveGauges(pending))
    return Response(body, media_type=metrics.CONTENT_TYPE)
