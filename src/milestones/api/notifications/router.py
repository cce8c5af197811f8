"""``GET /v3/notifications``: the pull feed of the outbox, oldest first (SPEC §15).

A consumer keeps the last ``sequence`` it handled and asks for what comes ``after`` it.
Sequences grow in the order notifications become visible, so nothing is missed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from milestones.api.auth import CurrentCaller, scope_org_ids
from milestones.api.dependencies import AppDatabase
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.api.webhooks.models import FeedPage
from milestones.domain.errors import InvalidInput
from milestones.domain.notifications import FEED_PAGE_MAX, subscribed_types
from milestones.store import outbox

router = APIRouter(prefix="/v3/notifications", tags=["notifications"], route_class=ExactRoute)


@router.get(
    "",
    response_model=FeedPage,
    responses=error_responses(400, 401, 403, 500),
    summary="Notifications after a sequence, oldest first",
)
def notification_feed(
    request: Request,
    caller: CurrentCaller,
    database: AppDatabase,
    after: Annotated[int, Query(ge=0, le=2**62, description="the last sequence handled")] = 0,
    limit: Annotated[int, Query(ge=1, le=FEED_PAGE_MAX)] = 100,
    type: Annotated[
        list[str] | None,
        Query(max_length=50, description="only these types (repeat, or comma-separate)"),
    ] = None,
) -> EnvelopeResponse:
    org_ids = scope_org_ids(caller, request.headers, database)
    if len(org_ids) != 1:
        raise InvalidInput(
            "the feed reads one org at a time, its sequence being per org: use DATA-SCOPE "
            "SELF, or OTHER with one DATA-SCOPE-ORG",
            "DATA-SCOPE",
        )
    types = None
    if type:
        names = [name.strip() for value in type for name in value.split(",") if name.strip()]
        try:
            types = subscribed_types(names)
        except InvalidInput as exc:
            raise InvalidInput(exc.message.replace("types[", "type["), "type") from None
    with database.transaction(write=False) as connection:
        found, total = outbox.feed(connection, org_ids[0], after, limit, types)
    last = found[-1].sequence if found else after
    return ok(
        [notification.view() for notification in found],
        pagination={"limit": limit, "offset": 0, "total": total, "next": last},
        float_free=True,
    )
