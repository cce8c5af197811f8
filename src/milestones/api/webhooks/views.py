"""Webhooks and deliveries as the API answers them."""

from __future__ import annotations

from datetime import datetime

from milestones.domain.times import utc_text
from milestones.store.webhooks import StoredDelivery, StoredWebhook

Json = dict[str, object]


def webhook_view(webhook: StoredWebhook, *, secret: bool = False) -> Json:
    subscription = webhook.subscription
    view: Json = {
        "id": webhook.id,
        "url": subscription.url,
        "types": sorted(type_.value for type_ in subscription.types),
        "description": subscription.description,
        "active": subscription.active,
        "includeReplayed": subscription.include_replayed,
        "createdOn": utc_text(webhook.created_at),
        "lastUpdatedOn": utc_text(webhook.updated_at),
    }
    if secret:
        view["secret"] = webhook.secret
    return view


def delivery_view(delivery: StoredDelivery) -> Json:
    return {
        "id": delivery.id,
        "webhookId": delivery.webhook_id,
        "notificationId": delivery.notification_id,
        "sequence": delivery.sequence,
        "userId": delivery.user_id,
        "type": delivery.type,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "lastHttpStatus": delivery.last_http_status,
        "lastError": delivery.last_error,
        "nextAttemptAt": _instant(delivery.next_attempt_at),
        "lastAttemptAt": _instant(delivery.last_attempt_at),
        "deliveredAt": _instant(delivery.delivered_at),
        "createdAt": utc_text(delivery.created_at),
    }


def _instant(value: datetime | None) -> str | None:
    return None if value is None else utc_text(value)
