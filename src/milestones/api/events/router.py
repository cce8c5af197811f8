"""``POST /v3/events`` and ``/v3/events/bulk``: events in, statuses and side effects out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from sqlalchemy.exc import DataError, IntegrityError

from milestones.api.auth import CurrentCaller
from milestones.api.envelope import EnvelopeResponse, failed, ok
from milestones.api.events.models import OutcomeAnswer, RejectedAnswer
from milestones.api.events.schemas import MAX_BULK, BulkIn, submission
from milestones.api.events.views import bulk_view, outcome_view
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.domain.errors import InvalidInput, PayloadTooLarge
from milestones.domain.orgs import Caller
from milestones.engine.ingest import REJECTED, EventOutcome, Submission, ingest
from milestones.store.database import Database
from milestones.store.engine import SqlEngineStore

router = APIRouter(prefix="/v3/events", tags=["events"], route_class=ExactRoute)


class BulkRoute(ExactRoute):
    """A fault inside one event of a bulk call refuses that event only (SPEC §6.1)."""

    items_field = "events"
    max_items = MAX_BULK


_ATTEMPTS = 3
_EVENT_SCHEMA = {"$ref": "#/components/schemas/EventIn"}
_ONE_EVENT = {"required": True, "content": {"application/json": {"schema": _EVENT_SCHEMA}}}


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
    openapi_extra={"requestBody": _ONE_EVENT},
)
def ingest_event(
    request: Request, caller: CurrentCaller, body: Any = Body(...)
) -> EnvelopeResponse:
    submissions = [submission(body, caller.org.zone)]
    outcome = _ingest(request, caller, submissions)[0]
    view = outcome_view(outcome)
    if outcome.status == REJECTED:
        response = failed(400, outcome.errors)
        response.body = response.render({"data": view, "errors": outcome.errors, "warnings": []})
        response.headers["content-length"] = str(len(response.body))
        return response
    return ok(view, float_free=True)


def ingest_bulk(body: BulkIn, request: Request, caller: CurrentCaller) -> EnvelopeResponse:
    if len(body.events) > MAX_BULK:
        raise PayloadTooLarge(
            f"a bulk call takes at most {MAX_BULK} events, not {len(body.events)}", "events"
        )
    zone = caller.org.zone
    outcomes = _ingest(request, caller, [submission(raw, zone) for raw in body.events])
    # Side effects hold Decimals, ints, strings and booleans: orjson writes them (a bulk
    # answer can carry tens of thousands) with the bytes simplejson would.
    return ok(bulk_view(outcomes), float_free=True)


router.add_api_route(
    "/bulk",
    ingest_bulk,
    methods=["POST"],
    summary="Ingest up to 1,000 events",
    responses=error_responses(400, 401, 413, 500),
    route_class_override=BulkRoute,
)


def _ingest(request: Request, caller: Caller, submissions: list[Submission]) -> list[EventOutcome]:
    database: Database = request.app.state.database
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with database.transaction() as connection:
                return ingest(
                    SqlEngineStore(connection),
                    caller.org,
                    submissions,
                    request.app.state.clock.now(),
                    request.app.state.catalogue_cache,
                )
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
