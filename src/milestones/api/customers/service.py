"""Customers: storing the profile a ``PUT`` sends, finding a customer in a data scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from milestones.api.customers.schemas import CommChannelIn, CustomerIn, ProfileIn
from milestones.domain.errors import NotFound
from milestones.domain.orgs import Caller
from milestones.store.customers import Customer, CustomerRepository, Json, ProfileChanges

DEFAULT_SOURCE = "instore"
DEFAULT_LOYALTY_TYPE = "loyalty"
_NEW = ProfileChanges(profiles=[], custom_fields={}, loyalty_type=DEFAULT_LOYALTY_TYPE)


def save_customer(
    connection: Connection, caller: Caller, user_id: int, body: CustomerIn, now: datetime
) -> Customer:
    """Create or update a customer of the caller's org; fields left out keep their value."""
    repository = CustomerRepository(connection)
    known = repository.find([caller.org_id], user_id)
    stored_source = known.profile.source if known and known.profile else None
    source = body.source or stored_source or DEFAULT_SOURCE
    profiles = None
    if body.profiles is not None:
        profiles = [_profile(profile, user_id, source) for profile in body.profiles]
    changes = ProfileChanges(profiles, body.customFields, body.loyaltyType, body.source)
    repository.save(caller.org_id, user_id, changes, _NEW, caller.client.id, now)
    if body.sets_zone:
        repository.set_zone(caller.org_id, user_id, body.timeZone, now)
    saved = repository.find([caller.org_id], user_id)
    if saved is None:  # pragma: no cover - the row was written in this transaction
        raise NotFound(f"Customer {user_id} vanished while being saved", "userId")
    return saved


def find_customer(connection: Connection, org_ids: Sequence[int], user_id: int) -> Customer:
    """The customer as the first org of the scope that knows them, or NotFound."""
    customer = CustomerRepository(connection).find(org_ids, user_id)
    if customer is None:
        raise NotFound(
            f"No customer {user_id} in the caller's data scope (no profile, no events)", "userId"
        )
    return customer


def _profile(profile: ProfileIn, user_id: int, source: str) -> Json:
    return {
        "firstName": profile.firstName,
        "lastName": profile.lastName,
        "commChannels": [_channel(channel) for channel in profile.commChannels],
        "source": profile.source or source,
        "accountId": profile.accountId,
        "userId": user_id,
        "orgSourceId": profile.orgSourceId,
    }


def _channel(channel: CommChannelIn) -> Json:
    return {
        "type": channel.type,
        "accountId": channel.accountId,
        "value": channel.value,
        "primary": channel.primary,
        "verified": channel.verified,
        "subscribed": channel.subscribed,
        "attributes": channel.attributes,
    }
