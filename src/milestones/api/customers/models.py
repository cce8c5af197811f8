"""Response shapes of the customer API, for the OpenAPI document (no extra keys)."""

from __future__ import annotations

from typing import Any

from milestones.api.models import ErrorItem
from milestones.api.target_groups.models import Actor, Shape

Scalar = str | float | bool | None


class CommChannelOut(Shape):
    type: str
    accountId: str | None
    value: str
    primary: bool
    verified: bool
    subscribed: bool | None
    attributes: dict[str, Scalar] | None


class ProfileOut(Shape):
    firstName: str | None
    lastName: str | None
    commChannels: list[CommChannelOut]
    source: str | None
    accountId: str | None
    userId: int
    orgSourceId: int


class CustomerAttribution(Shape):
    createdOn: str
    lastUpdatedOn: str
    lastUpdatedBy: Actor | None
    createdBy: Actor | None


class LoyaltyInfoOut(Shape):
    attribution: CustomerAttribution
    loyaltyType: str
    lifetimePurchases: float


class CustomerOut(Shape):
    id: int
    profiles: list[ProfileOut]
    loyaltyInfo: LoyaltyInfoOut
    customFields: dict[str, Scalar]
    timeZone: str | None = None  # only when the customer holds one


class CustomerAnswer(Shape):
    data: CustomerOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
