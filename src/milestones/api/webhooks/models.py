"""Response shapes of the webhook and notification API, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from milestones.api.models import ErrorItem, Pagination
from milestones.api.target_groups.models import Shape


class WebhookOut(Shape):
    id: int
    url: str
    types: list[str]
    description: str
    active: bool
    includeReplayed: bool
    createdOn: str
    lastUpdatedOn: str
    secret: str | None = None  # only in the answer to the create


class WebhookAnswer(Shape):
    data: WebhookOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class WebhookPage(Shape):
    data: list[WebhookOut]
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
    pagination: Pagination


class DeletedOut(Shape):
    id: int
    deleted: bool


class DeletedAnswer(Shape):
    data: DeletedOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class DeliveryOut(Shape):
    id: int
    webhookId: int
    notificationId: int
    sequence: int
    userId: int
    type: str | None
    status: str
    attempts: int
    lastHttpStatus: int | None
    lastError: str | None
    nextAttemptAt: str | None
    lastAttemptAt: str | None
    deliveredAt: str | None
    createdAt: str


class DeliveryAnswer(Shape):
    data: DeliveryOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class DeliveryPage(Shape):
    data: list[DeliveryOut]
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
    pagination: Pagination


class NotificationOut(Shape):
    id: int
    type: str
    orgId: int
    userId: int
    sequence: int
    occurredAt: str
    createdAt: str
    replayed: bool
    data: dict[str, Any]


class FeedPagination(Pagination):
    next: int  # the ``after`` of the next page: the last sequence of this one


class FeedPage(Shape):
    data: list[NotificationOut]
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
    pagination: FeedPagination
