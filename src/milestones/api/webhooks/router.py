"""``/v3/webhooks``: subscriptions, their deliveries, and a manual retry (SPEC §15).

Writes act on the caller's org; so do reads: a subscription, its secret and its
deliveries belong to one org, and another org's id is answered 404 like an unknown one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from milestones.api.auth import CurrentCaller
from milestones.api.dependencies import AppClock, AppDatabase
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.api.webhooks import service
from milestones.api.webhooks.models import (
    DeletedAnswer,
    DeliveryAnswer,
    DeliveryPage,
    WebhookAnswer,
    WebhookPage,
)
from milestones.api.webhooks.schemas import WebhookChange, WebhookCreate
from milestones.api.webhooks.views import delivery_view, webhook_view
from milestones.domain.notifications import DeliveryStatus
from milestones.store.webhooks import WebhookRepository

router = APIRouter(prefix="/v3/webhooks", tags=["webhooks"], route_class=ExactRoute)
WebhookId = Annotated[int, Path(ge=1, le=2**62, description="webhook subscription id")]
DeliveryId = Annotated[int, Path(ge=1, le=2**62, description="delivery id")]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@router.post(
    "",
    status_code=201,
    response_model=WebhookAnswer,
    responses={
        201: {"description": "The subscription, with its signing secret (shown only here)"},
        **error_responses(400, 401, 413, 500),
    },
    summary="Subscribe an endpoint to notifications",
)
def create_webhook(
    body: WebhookCreate, caller: CurrentCaller, database: AppDatabase, clock: AppClock
) -> EnvelopeResponse:
    subscription = service.subscription_of(body)
    with database.transaction() as connection:
        webhook = WebhookRepository(connection).create(
            caller.org_id, subscription, service.new_secret(), clock.now()
        )
    return ok(webhook_view(webhook, secret=True), status_code=201)


@router.get(
    "",
    response_model=WebhookPage,
    responses=error_responses(400, 401, 500),
    summary="List the org's subscriptions, oldest first",
)
def list_webhooks(
    caller: CurrentCaller, database: AppDatabase, limit: Limit = 10, offset: Offset = 0
) -> EnvelopeResponse:
    with database.transaction(write=False) as connection:
        webhooks, total = WebhookRepository(connection).page(caller.org_id, limit, offset)
    data = [webhook_view(webhook) for webhook in webhooks]
    return ok(data, pagination={"limit": limit, "offset": offset, "total": total})


@router.get(
    "/{webhookId}",
    response_model=WebhookAnswer,
    responses=error_responses(400, 401, 404, 500),
    summary="One subscription (its secret is not shown again)",
)
def get_webhook(
    webhookId: WebhookId, caller: CurrentCaller, database: AppDatabase
) -> EnvelopeResponse:
    with database.transaction(write=False) as connection:
        webhook = WebhookRepository(connection).get(caller.org_id, webhookId)
    return ok(webhook_view(webhook))


@router.put(
    "/{webhookId}",
    response_model=WebhookAnswer,
    responses=error_responses(400, 401, 404, 413, 500),
    summary="Change a subscription: the fields given change, the others stay",
)
def update_webhook(
    webhookId: WebhookId,
    body: WebhookChange,
    caller: CurrentCaller,
    database: AppDatabase,
    clock: AppClock,
) -> EnvelopeResponse:
    with database.transaction() as connection:
        repository = WebhookRepository(connection)
        current = repository.get(caller.org_id, webhookId)
        subscription = service.changed(current.subscription, body)
        webhook = repository.update(caller.org_id, webhookId, subscription, clock.now())
    return ok(webhook_view(webhook))


@router.delete(
    "/{webhookId}",
    response_model=DeletedAnswer,
    responses=error_responses(400, 401, 404, 500),
    summary="Delete a subscription and its deliveries",
)
def delete_webhook(
    webhookId: WebhookId, caller: CurrentCaller, database: AppDatabase
) -> EnvelopeResponse:
    with database.transaction() as connection:
        WebhookRepository(connection).delete(caller.org_id, webhookId)
    return ok({"id": webhookId, "deleted": True})


@router.get(
    "/{webhookId}/deliveries",
    response_model=DeliveryPage,
    responses=error_responses(400, 401, 404, 500),
    summary="A subscription's deliveries, newest first",
)
def list_deliveries(
    webhookId: WebhookId,
    caller: CurrentCaller,
    database: AppDatabase,
    status: DeliveryStatus | None = None,
    limit: Limit = 10,
    offset: Offset = 0,
) -> EnvelopeResponse:
    with database.transaction(write=False) as connection:
        deliveries, total = WebhookRepository(connection).deliveries(
            caller.org_id, webhookId, status, limit, offset
        )
    data = [delivery_view(delivery) for delivery in deliveries]
    return ok(data, pagination={"limit": limit, "offset": offset, "total": total})


@router.post(
    "/{webhookId}/deliveries/{deliveryId}/retry",
    response_model=DeliveryAnswer,
    responses=error_responses(400, 401, 404, 409, 500),
    summary="Send a DELIVERED or FAILED delivery again (a fresh round of attempts)",
)
def retry_delivery(
    webhookId: WebhookId,
    deliveryId: DeliveryId,
    caller: CurrentCaller,
    database: AppDatabase,
) -> EnvelopeResponse:
    with database.transaction() as connection:
        delivery = service.retry(connection, caller.org_id, webhookId, deliveryId)
    return ok(delivery_view(delivery))
