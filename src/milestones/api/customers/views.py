"""A customer as the API shows them (``data.customer`` of the user view, seed 002)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from milestones.api.attribution import actor
from milestones.api.customers.service import DEFAULT_LOYALTY_TYPE
from milestones.domain.orgs import ApiClient
from milestones.domain.times import offset_text
from milestones.store.customers import Customer, Json

_UTC = ZoneInfo("UTC")


def customer_client_ids(customer: Customer | None) -> set[int]:
    """The API clients a customer's attribution names."""
    if customer is None or customer.profile is None:
        return set()
    audit = customer.profile.audit
    return {audit.created_by, audit.updated_by}


def customer_view(customer: Customer, clients: dict[int, ApiClient]) -> Json:
    """``{id, profiles, loyaltyInfo {attribution, loyaltyType, lifetimePurchases}, ...}``,
    and ``timeZone`` when the customer holds one (the seeds' shape otherwise)."""
    profile = customer.profile
    purchases = customer.purchases
    view: Json = {
        "id": customer.user_id,
        "profiles": profile.profiles if profile else [],
        "loyaltyInfo": {
            "attribution": _attribution(customer, clients),
            "loyaltyType": profile.loyalty_type if profile else DEFAULT_LOYALTY_TYPE,
            "lifetimePurchases": purchases.lifetime if purchases else Decimal(0),
        },
        "customFields": profile.custom_fields if profile else {},
    }
    if customer.time_zone is not None:
        view["timeZone"] = customer.time_zone
    return view


def _attribution(customer: Customer, clients: dict[int, ApiClient]) -> Json:
    """Known since the profile or the first event; last changed by a ``PUT`` or an event."""
    created: list[datetime] = []
    updated: list[datetime] = []
    if customer.profile is not None:
        created.append(customer.profile.audit.created_at)
        updated.append(customer.profile.audit.updated_at)
    if customer.purchases is not None:
        created.append(customer.purchases.first_seen)
        updated.append(customer.purchases.last_seen)
    audit = customer.profile.audit if customer.profile else None
    return {
        "createdOn": offset_text(min(created).astimezone(UTC), _UTC),
        "lastUpdatedOn": offset_text(max(updated).astimezone(UTC), _UTC),
        "lastUpdatedBy": actor(audit.updated_by, clients) if audit else None,
        "createdBy": actor(audit.created_by, clients) if audit else None,
    }
