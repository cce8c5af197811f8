"""All SQL about customers: their stored profile, and what the event stream says of them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Connection,
    RowMapping,
    String,
    bindparam,
    case,
    func,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite

from milestones.domain.target_groups import Audit
from milestones.store.tables import customers, events
from milestones.store.types import Instant, Money

TRANSACTION_ADD = "TransactionAdd"
_IN_CHUNK = 1_000
Json = dict[str, Any]


def _purchase_columns() -> list[ColumnElement[Any]]:
    """Per org: billed and returned on ``TransactionAdd``, first and last event seen."""
    is_bill = events.c.event_name == TRANSACTION_ADD
    zero = type_coerce(Decimal(0), Money())
    billed = type_coerce(
        func.coalesce(func.sum(case((is_bill, events.c.bill_amount), else_=zero)), zero),
        Money(),
    )
    returned = type_coerce(
        func.coalesce(func.sum(case((is_bill, events.c.returned_amount), else_=zero)), zero),
        Money(),
    )
    return [billed, returned, func.min(events.c.received_at), func.max(events.c.received_at)]


# Built once: a lookup only binds the customer and the orgs.
_ORG_IDS: BindParameter[list[int]] = bindparam("org_ids", expanding=True)
_USER_ID: BindParameter[int] = bindparam("user_id")


def _customer_query() -> CompoundSelect[Any]:
    """Profiles (``kind`` p) and purchases (``kind`` e) per org, in one round trip."""
    money, instant = Money(), Instant()
    profiles = select(
        literal_column("'p'", String()).label("kind"),
        customers.c.org_id,
        customers.c.profiles,
        customers.c.custom_fields,
        customers.c.loyalty_type,
        customers.c.source,
        customers.c.created_at,
        customers.c.created_by,
        customers.c.updated_at,
        customers.c.updated_by,
        type_coerce(null(), money).label("billed"),
        type_coerce(null(), money).label("returned"),
        type_coerce(null(), instant).label("first_seen"),
        type_coerce(null(), instant).label("last_seen"),
    ).where(customers.c.org_id.in_(_ORG_IDS), customers.c.user_id == _USER_ID)
    seen = (
        select(
            literal_column("'e'", String()),
            events.c.org_id,
            *[null()] * 8,
            *_purchase_columns(),
        )
        .where(events.c.org_id.in_(_ORG_IDS), events.c.user_id == _USER_ID)
        .group_by(events.c.org_id)
    )
    return union_all(profiles, seen)


_CUSTOMER = _customer_query()


@dataclass(frozen=True, slots=True)
class Profile:
    """A customer's stored profile in one org, as the last ``PUT`` left it."""

    profiles: list[Json]
    custom_fields: Json
    loyalty_type: str
    source: str | None
    audit: Audit


@dataclass(frozen=True, slots=True)
class Purchases:
    """What the event stream says of a customer in one org."""

    lifetime: Decimal
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer as one org knows them: a stored profile, events received, or both."""

    org_id: int
    user_id: int
    profile: Profile | None
    purchases: Purchases | None


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """What a ``PUT`` sets; ``None`` leaves a field as it is (or at its default when new)."""

    profiles: list[Json] | None = None
    custom_fields: Json | None = None
    loyalty_type: str | None = None
    source: str | None = None


class CustomerRepository:
    """Reads and writes customers; never commits (the unit of work does)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def save(
        self,
        org_id: int,
        user_id: int,
        changes: ProfileChanges,
        defaults: ProfileChanges,
        client_id: int,
        now: datetime,
    ) -> None:
        """Create the customer from ``changes`` over ``defaults``, or update the given fields.

        One statement (INSERT ... ON CONFLICT), so two first writes at once cannot collide.
        """
        given = _columns(changes)
        new_row = {
            **_columns(defaults),
            **given,
            "org_id": org_id,
            "user_id": user_id,
            "created_at": now,
            "created_by": client_id,
            "updated_at": now,
            "updated_by": client_id,
        }
        insert = (
            postgresql.insert(customers)
            if self._db.dialect.name == "postgresql"
            else sqlite.insert(customers)
        ).values(new_row)
        statement = insert.on_conflict_do_update(
            index_elements=["org_id", "user_id"],
            set_={**given, "updated_at": now, "updated_by": client_id},
        )
        self._db.execute(statement)

    def find(self, org_ids: Sequence[int], user_id: int) -> Customer | None:
        """The customer in the first of ``org_ids`` that knows them (a profile or any event)."""
        scope = {"org_ids": list(org_ids), "user_id": user_id}
        profiles: dict[int, Profile] = {}
        purchases: dict[int, Purchases] = {}
        for row in self._db.execute(_CUSTOMER, scope).mappings():  # profiles and events
            if row["kind"] == "p":
                profiles[row["org_id"]] = _profile(row)
            else:
                purchases[row["org_id"]] = Purchases(
                    lifetime=row["billed"] - row["returned"],
                    first_seen=row["first_seen"],
                    last_seen=row["last_seen"],
                )
        for org_id in org_ids:
            if org_id in profiles or org_id in purchases:
                return Customer(org_id, user_id, profiles.get(org_id), purchases.get(org_id))
        return None

    def custom_fields_of(self, org_id: int, user_ids: Collection[int]) -> dict[int, Json]:
        """Custom fields of many customers at once (absent customers are left out)."""
        found: dict[int, Json] = {}
        ordered = sorted(set(user_ids))
        for start in range(0, len(ordered), _IN_CHUNK):
            rows = self._db.execute(
                select(customers.c.user_id, customers.c.custom_fields).where(
                    customers.c.org_id == org_id,
                    customers.c.user_id.in_(ordered[start : start + _IN_CHUNK]),
                )
            )
            found.update({row[0]: dict(row[1]) for row in rows})
        return found


def _columns(changes: ProfileChanges) -> dict[str, object]:
    values: dict[str, object] = {
        "profiles": changes.profiles,
        "custom_fields": changes.custom_fields,
        "loyalty_type": changes.loyalty_type,
        "source": changes.source,
    }
    return {key: value for key, value in values.items() if value is not None}


def _profile(row: RowMapping) -> Profile:
    return Profile(
        profiles=list(row["profiles"]),
        custom_fields=dict(row["custom_fields"]),
        loyalty_type=row["loyalty_type"],
        source=row["source"],
        audit=Audit(row["created_at"], row["created_by"], row["updated_at"], row["updated_by"]),
    )
