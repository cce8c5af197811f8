"""``POST /v3/events`` and ``/v3/events/bulk``: events in, statuses and side effects out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.concurrency import run_in_threadpool

from milestones.api.auth import CLIENT_SECURITY, CurrentCaller, CurrentClient
from milestones.api.dependencies import AppDatabase, AppEngine, AppSettings, EngineContext
from milestones.api.envelope import EnvelopeResponse, failed, ok
from milestones.api.events import importing
from milestones.api.events.models import BulkAnswer, OutcomeAnswer, RejectedAnswer
from milestones.api.events.schemas import MAX_BULK, BulkIn, submission
from milestones.api.events.spool import BulkAnswerSpool
from milestones.api.events.views import SideEffects, outcome_view
from milestones.api.jobs.models import JobAnswer
from milestones.api.jobs.views import job_view
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.domain.errors import InvalidInput, PayloadTooLarge, Unauthenticated
from milestones.domain.json_input import MAX_VALUES
from milestones.domain.outcomes import EventStatus
from milestones.engine.chunked import ChunkBudget, ingest_in_chunks
from milestones.engine.ingest import EventOutcome, ingest
from milestones.observability.metrics import Tally
from milestones.store.database import Busy, Database
from milestones.store.engine import SqlEngineStore

router = APIRouter(prefix="/v3/events", tags=["events"], route_class=ExactRoute)


class BulkRoute(ExactRoute):
    """A fault inside one event of a bulk call refuses that event only (SPEC §6.1)."""

    items_field = "events"
    max_items = MAX_BULK
    max_values = MAX_VALUES


_ATTEMPTS = 3
_EVENT_SCHEMA = {"$ref": "#/components/schemas/EventIn"}
_ONE_EVENT = {"required": True, "content": {"application/json": {"schema": _EVENT_SCHEMA}}}
T = TypeVar("T")
SideEffectsQuery = Annotated[
    SideEffects,
    Query(
        alias="sideEffects",
        description="Which side effects each result lists: `full` (every user target the "
        "event changed), `achievements` (only those where a target, milestone trigger, "
        "streak level or group was achieved, or anything was revoked) or `none` "
        "(`sideEffects` is `[]`). Statuses and the summary are the same in each.",
    ),
]


@router.post(
    "",
    summary="Ingest one event",
    response_model=OutcomeAnswer,
    responses={
        **error_responses(401, 413, 500),
        400: {
            "model": RejectedAnswer,
            "description": "The event was REJECTED (or the body unreadable)",
        },
    },
    openapi_extra={"requestBody": _ONE_EVENT, **CLIENT_SECURITY},
)
async def ingest_event(
    client: CurrentClient,
    engine: AppEngine,
    body: Any = Body(...),
    side_effects: SideEffectsQuery = SideEffects.FULL,
) -> EnvelopeResponse:
    def apply(store: SqlEngineStore) -> list[EventOutcome]:
        # The org is read in the event's own transaction: for a one-event call, a second
        # transaction only to read it cost about a fifth of the call.
        org = store.org(client.org_id)
        if org is None:
            raise Unauthenticated("The client's org no longer exists")
        return ingest(
            store, org, [submission(body, org.zone)], engine.clock.now(), engine.catalogues
        )

    outcome = (await _applied(engine.database, apply, short(engine, client.org_id, body)))[0]
    tally = Tally()
    tally.add([outcome])
    tally.publish()
    view = outcome_view(outcome, shown=side_effects)
    if outcome.status is EventStatus.REJECTED:
        response = failed(400, outcome.errors)
        response.body = response.render({"data": view, "errors": outcome.errors, "warnings": []})
        response.headers["content-length"] = str(len(response.body))
        return response
    return ok(view, float_free=True)


def ingest_bulk(
    body: BulkIn,
    caller: CurrentCaller,
    engine: AppEngine,
    settings: AppSettings,
    side_effects: SideEffectsQuery = SideEffects.FULL,
) -> Response:
    if len(body.events) > MAX_BULK:
        raise PayloadTooLarge(
            f"a bulk call takes at most {MAX_BULK} events, not {len(body.events)}", "events"
        )
    zone = caller.org.zone
    submissions = [submission(raw, zone) for raw in body.events]
    budget = ChunkBudget(
        max_events=settings.bulk_chunk_events, max_effects=settings.bulk_chunk_side_effects
    )

    tally = Tally()

    def answer(store: SqlEngineStore) -> BulkAnswerSpool:
        # Each chunk's results become bytes before the next chunk is applied: the memory
        # a call holds is one chunk's, however big the answer (docs/decisions.md).
        nonlocal tally
        tally = Tally()  # a call run again after a conflict counts once
        spool = BulkAnswerSpool(side_effects)
        try:
            now = engine.clock.now()
            chunks = ingest_in_chunks(
                store, caller.org, submissions, now, engine.catalogues, budget
            )
            for outcomes in chunks:
                tally.add(outcomes)
                spool.add(outcomes)
        except BaseException:
            spool.close()
            raise
        return spool

    spool = _with_retries(engine.database, answer)
    tally.publish()
    return spool.response()


router.add_api_route(
    "/bulk",
    ingest_bulk,
    methods=["POST"],
    summary="Ingest up to 1,000 events",
    response_model=BulkAnswer,
    responses=error_responses(400, 401, 413, 500),
    route_class_override=BulkRoute,
)


_NDJSON_BODY = {
    "requestBody": {
        "required": True,
        "description": "NDJSON: one event per line, each the body of `POST /v3/events`",
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/import",
    status_code=202,
    response_model=JobAnswer,
    responses={
        202: {"description": "The job that applies the events (see `GET /v3/jobs/{id}`)"},
        **error_responses(400, 401, 413, 415, 500),
    },
    openapi_extra=_NDJSON_BODY,
    summary="Import events from an NDJSON body (streamed, up to 10,000,000 lines), as a job",
    description=(
        "The body is spooled to disk as it arrives, then a job applies its events in "
        "chunks, each as of its own `eventTime` (past events are not OUT_OF_WINDOW), "
        "idempotent by `eventId`; its notifications are `replayed`. A line over 1 MB or a "
        "body that is not NDJSON is refused before any job is made; a bad event is "
        "reported by its line number in the job, and the good lines are applied."
    ),
)
async def import_events(
    request: Request, caller: CurrentCaller, database: AppDatabase, settings: AppSettings
) -> EnvelopeResponse:
    importing.check_content_type(request.headers.get("content-type"))
    job = await importing.start_import(database, settings, caller.org_id, request.stream())
    return ok(job_view(job, job.created_at), status_code=202)


# A one-event call is applied in the event loop only when it is known to be short: its
# org's catalogue is built, and the event is no return and reaches at most this many
# targets, with at most this many line items (each line is read once per target).
INLINE_TARGETS = 50
INLINE_LINES = 50


def short(engine: EngineContext, org_id: int, body: object) -> bool:
    """Whether a one-event call of ``body`` is known to be short enough for the loop."""
    known = engine.catalogues.known(org_id)
    if known is None or not isinstance(body, dict) or body.get("return") is not None:
        return False
    name = body.get("eventName")
    if not isinstance(name, str):
        return True  # refused before any target is read
    bill = body.get("transaction")
    lines = bill.get("lineItems") if isinstance(bill, dict) else None
    if isinstance(lines, list) and len(lines) > INLINE_LINES:
        return False
    return len(known[1].listening(name)) <= INLINE_TARGETS


async def _applied(
    database: Database, apply: Callable[[SqlEngineStore], T], in_loop: bool = True
) -> T:
    """``apply`` as :func:`_with_retries` does it: on SQLite, and when ``in_loop``, in the
    event loop if no other connection holds a lock; else (or on PostgreSQL) in a worker
    thread.

    A one-event call's transaction is short, and the hop to a worker thread and back was
    about a fifth of it. In the loop it may not wait for a lock: SQLite answers at once
    when another writer holds one, nothing is applied, and the call goes to a worker
    thread, which waits as any writer does (docs/decisions.md)."""
    if in_loop and database.is_sqlite:
        try:
            return _with_retries(database, apply, wait=False)
        except Busy:
            pass
    return await run_in_threadpool(_with_retries, database, apply)


def _with_retries(
    database: Database, apply: Callable[[SqlEngineStore], T], *, wait: bool = True
) -> T:
    """``apply`` in one transaction, run again if another worker stored an eventId first."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with database.transaction(wait=wait) as connection:
                return apply(SqlEngineStore(connection))
        except (OverflowError, DataError) as exc:
            # Each number is below 10^15, but a running total (a target's progress) is kept
            # in 64 bits of thousandths: past about 9.2 * 10^15 the database refuses it, and
            # the whole call is rolled back. Rare enough to refuse the call, not to crash.
            if isinstance(exc, DataError) and "out of range" not in str(exc.orig):
                raise
            raise InvalidInput(
                "this call would take a running total past 9,223,372,036,854,775.807, "
                "the largest value the engine keeps; nothing was applied",
                "events",
            ) from exc
        except IntegrityError:
            # Another worker stored one of these eventIds first: run again, it is now a duplicate.
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable")
