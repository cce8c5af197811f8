"""``GET /v3.1/users/{userId}/targetGroups``: where does this customer stand? (SPEC §12)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from milestones.api.auth import CLIENT_SECURITY, CurrentClient, scope_org_ids
from milestones.api.dependencies import AppView
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.api.user_view import service
from milestones.api.user_view.models import UserViewAnswer

router = APIRouter(prefix="/v3.1/users", tags=["user view"], route_class=ExactRoute)
UserId = Annotated[int, Path(ge=1, le=2**62, description="the customer's userId")]


@router.get(
    "/{userId}/targetGroups",
    response_model=UserViewAnswer,
    responses=error_responses(400, 401, 403, 404, 500),
    summary="Every group a customer is in or could join, and their progress in each",
    openapi_extra=CLIENT_SECURITY,
)
async def get_user_target_groups(
    userId: UserId,
    request: Request,
    caller: CurrentClient,
    context: AppView,
    includeInactive: Annotated[
        bool, Query(description="every period, not only the current one")
    ] = False,
    includeInactiveTargets: Annotated[
        bool, Query(description="deactivated groups and targets too")
    ] = False,
    targetRuleId: Annotated[
        int | None, Query(ge=1, le=2**62, description="only this target")
    ] = None,
) -> EnvelopeResponse:
    org_ids = scope_org_ids(caller, request.headers, context.database)
    options = service.ViewOptions(includeInactive, includeInactiveTargets, targetRuleId)
    now = context.clock.now()
    catalogues, views, reads = context.catalogues, context.views, context.reads

    def view(connection: Connection) -> dict[str, object]:
        return service.user_view(connection, org_ids, userId, options, now, catalogues, views)

    if reads.has_replica:
        # A replica may be slow to answer or to fail: wait for it off the event loop.
        data = await run_in_threadpool(reads.run, view)
    else:
        data = reads.run(view)
    # Domain values and decimal-read JSON columns only: no binary float in the answer.
    return ok(data, float_free=True)
