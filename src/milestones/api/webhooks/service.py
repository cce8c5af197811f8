"""Webhook requests as domain inputs: the body checked into a :class:`Subscription`."""

from __future__ import annotations

import base64
import secrets

from sqlalchemy import Connection

from milestones.api.webhooks.schemas import WebhookChange, WebhookCreate
from milestones.delivery import wall_clock
from milestones.domain.errors import DeliveryPending
from milestones.domain.notifications import (
    Subscription,
    checked_description,
    checked_url,
    subscribed_types,
)
from milestones.store.webhooks import StoredDelivery, WebhookRepository

_SECRET_BYTES = 24


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes them: ``whsec_`` and base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def subscription_of(body: WebhookCreate) -> Subscription:
    return Subscription(
        url=checked_url(body.url),
        types=subscribed_types(body.types),
        description=checked_description(body.description),
        active=body.active,
        include_replayed=body.includeReplayed,
    )


def changed(current: Subscription, body: WebhookChange) -> Subscription:
    """The subscription with the fields the body gives changed."""
    given = body.model_fields_set
    return Subscription(
        url=checked_url(body.url) if body.url is not None else current.url,
        types=subscribed_types(body.types) if "types" in given else current.types,
        description=(
            checked_description(body.description) if "description" in given else current.description
        ),
        active=body.active if body.active is not None else current.active,
        include_replayed=(
            body.includeReplayed if body.includeReplayed is not None else current.include_replayed
        ),
    )


def retry(connection: Connection, org_id: int, webhook_id: int, delivery_id: int) -> StoredDelivery:
    """Send a DELIVERED or FAILED delivery again; a PENDING one is refused (being sent)."""
    # Due at once on the delivery worker's clock, the wall clock (milestones.delivery).
    delivery = WebhookRepository(connection).retry(org_id, webhook_id, delivery_id, wall_clock())
    if delivery is None:
        raise DeliveryPending(
            f"delivery {delivery_id} is PENDING: it is being sent already", "deliveryId"
        )
    return delivery
