"""All SQL about customers: their stored profile, and what the event stream says of them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from milestones.domain.events import TRANSACTION_ADD
from milestones.domain.target_groups import Audit
from milestones.store.bulk import BulkSql, Read
from milestones.store.database import json_value
from milestones.store.tables import customer_zones, customers, pruned_purchases
from milestones.store.types import money_from_stored, money_to_stored

_IN_CHUNK = 1_000
Json = dict[str, Any]


_SPLIT = 1_000_000
# A cleared zone (``timeZone: null``, the group's zone again) is stored as the empty name.
_CLEARED = ""
_ZONES_SQL = (
    "SELECT org_id, user_id, zone, changed_at FROM customer_zones"
    " WHERE user_id = ? AND org_id {among} ORDER BY id"
)
_BATCH_ZONES_SQL = (
    "SELECT user_id, zone, changed_at FROM customer_zones"
    " WHERE org_id = ? AND user_id {among} ORDER BY id"
)
ZoneHistories = dict[int, list[tuple[datetime, str | None]]]
_NET = "(bill_amount - returned_amount)"


@cache
def _customer_sql(org_count: int) -> str:
    """Profiles (kind ``p``), purchases (kind ``e``, per org: net billed on
    ``TransactionAdd``, first and last event received) and what pruned events said of them
    (kind ``x``, ``pruned_purchases``) in one round trip.

    The net is summed in two parts (millions of thousandths, and the rest): SQLite's
    ``sum()`` fails on a total past 64 bits, and each bill may be up to 10^15.

    JSON columns come as text, to be parsed with exact decimals whichever the driver.
    """
    orgs = ", ".join("?" * org_count)
    bills = f"CASE WHEN event_name = '{TRANSACTION_ADD}' THEN {{}} ELSE 0 END"
    return (
        "SELECT 'p', org_id, CAST(profiles AS TEXT), CAST(custom_fields AS TEXT), loyalty_type,"
        " source, created_at, created_by, updated_at, updated_by, NULL, NULL, NULL, NULL"
        f" FROM customers WHERE user_id = ? AND org_id IN ({orgs})"
        " UNION ALL"
        " SELECT 'e', org_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
        f" coalesce(sum({bills.format(f'{_NET} / {_SPLIT}')}), 0),"
        f" coalesce(sum({bills.format(f'{_NET} - {_NET} / {_SPLIT} * {_SPLIT}')}), 0),"
        " min(received_at), max(received_at)"
        f" FROM events WHERE user_id = ? AND org_id IN ({orgs}) GROUP BY org_id"
        " UNION ALL"
        " SELECT 'x', org_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
        " net_millions, net_rest, first_received_at, last_received_at"
        f" FROM pruned_purchases WHERE user_id = ? AND org_id IN ({orgs})"
    )


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

    def and_pruned(self, pruned: Purchases | None) -> Purchases:
        """These purchases with those the org's pruned events had said."""
        if pruned is None:
            return self
        return Purchases(
            self.lifetime + pruned.lifetime,
            min(self.first_seen, pruned.first_seen),
            max(self.last_seen, pruned.last_seen),
        )


@dataclass(frozen=True, slots=True)
class CarriedPurchases:
    """What a prune's deleted events said of one customer's purchases."""

    net: Decimal
    first_received_at: datetime
    last_received_at: datetime

    def plus(self, net: Decimal, received_at: datetime) -> CarriedPurchases:
        return CarriedPurchases(
            self.net + net,
            min(self.first_received_at, received_at),
            max(self.last_received_at, received_at),
        )


def carry_purchases(
    connection: Connection, org_id: int, carried: dict[int, CarriedPurchases]
) -> None:
    """Add what pruned events said of each customer to ``pruned_purchases`` (in the
    transaction that deletes them)."""
    if not carried:
        return
    postgres = connection.dialect.name == "postgresql"
    insert = (postgresql.insert if postgres else sqlite.insert)(pruned_purchases)
    rows = []
    for user_id, purchase in sorted(carried.items()):
        thousandths = money_to_stored(purchase.net)
        millions, rest = divmod(thousandths, _SPLIT)
        rows.append(
            {
                "org_id": org_id,
                "user_id": user_id,
                "net_millions": millions,
                "net_rest": rest,
                "first_received_at": purchase.first_received_at,
                "last_received_at": purchase.last_received_at,
            }
        )
    # SQLite's two-argument min() and max() are PostgreSQL's least() and greatest().
    earliest, latest = (func.least, func.greatest) if postgres else (func.min, func.max)
    table, excluded = pruned_purchases.c, insert.excluded
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=["org_id", "user_id"],
            set_={
                "net_millions": table.net_millions + excluded.net_millions,
                "net_rest": table.net_rest + excluded.net_rest,
                "first_received_at": earliest(table.first_received_at, excluded.first_received_at),
                "last_received_at": latest(table.last_received_at, excluded.last_received_at),
            },
        ),
        rows,
    )


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer as one org knows them: a stored profile, events received, or both."""

    org_id: int
    user_id: int
    profile: Profile | None
    purchases: Purchases | None
    time_zone: str | None = None  # the profile's ``timeZone`` (None: the groups' zones)


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """What a ``PUT`` sets; ``None`` leaves a field as it is (or at its default when new)."""

    profiles: list[Json] | None = None
    custom_fields: Json | None = None
    loyalty_type: str | None = None
    source: str | None = None


def customer_read(org_ids: Sequence[int], user_id: int) -> Read:
    """The read of :meth:`CustomerRepository.find` (for :func:`customer_of`), to be sent
    with others in one round trip."""
    return Read(
        _customer_sql(len(org_ids)), (user_id, *org_ids, user_id, *org_ids, user_id, *org_ids)
    )


def zones_read(org_ids: Sequence[int], user_id: int) -> Read:
    """The read of one customer's zone histories in ``org_ids`` (for :func:`zones_of`)."""
    return Read(_ZONES_SQL, (user_id,), list(org_ids))


def zones_of(bulk: BulkSql, rows: list[tuple[Any, ...]]) -> ZoneHistories:
    """:func:`zones_read`'s rows as each org's history, oldest first (None: cleared)."""
    found: ZoneHistories = {}
    for org_id, _user_id, zone, changed_at in rows:
        found.setdefault(org_id, []).append((bulk.instant_of(changed_at), zone or None))
    return found


def batch_zones_read(org_id: int, user_ids: Sequence[int]) -> Read:
    """The read of many customers' zone histories in one org (for :func:`batch_zones_of`)."""
    return Read(_BATCH_ZONES_SQL, (org_id,), list(user_ids))


def batch_zones_of(bulk: BulkSql, rows: list[tuple[Any, ...]], into: ZoneHistories) -> None:
    """Add :func:`batch_zones_read`'s rows to ``into``, per customer, oldest first."""
    for user_id, zone, changed_at in rows:
        into.setdefault(user_id, []).append((bulk.instant_of(changed_at), zone or None))


def current_zone(history: Sequence[tuple[datetime, str | None]]) -> str | None:
    """The zone a customer holds now: their last change (None: never set, or cleared)."""
    return history[-1][1] if history else None


def customer_of(
    bulk: BulkSql,
    rows: list[tuple[Any, ...]],
    org_ids: Sequence[int],
    user_id: int,
    zones: ZoneHistories | None = None,
) -> Customer | None:
    """The customer :func:`customer_read`'s rows describe, in the first org that knows them;
    ``zones`` (:func:`zones_of`) gives their ``timeZone``."""
    profiles: dict[int, Profile] = {}
    stored: dict[int, Purchases] = {}
    pruned: dict[int, Purchases] = {}
    for row in rows:
        kind, org_id = row[0], row[1]
        if kind == "p":
            profiles[org_id] = _profile(bulk, row)
        else:
            (stored if kind == "e" else pruned)[org_id] = Purchases(
                lifetime=money_from_stored(int(row[10]) * _SPLIT + int(row[11])),
                first_seen=bulk.instant_of(row[12]),
                last_seen=bulk.instant_of(row[13]),
            )
    purchases = {
        org_id: stored[org_id].and_pruned(pruned.get(org_id))
        if org_id in stored
        else pruned[org_id]
        for org_id in stored.keys() | pruned.keys()
    }
    for org_id in org_ids:
        if org_id in profiles or org_id in purchases:
            zone = current_zone((zones or {}).get(org_id, []))
            return Customer(org_id, user_id, profiles.get(org_id), purchases.get(org_id), zone)
    return None


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
        bulk = BulkSql(self._db)
        rows, zones = bulk.read_all([customer_read(org_ids, user_id), zones_read(org_ids, user_id)])
        return customer_of(bulk, rows, org_ids, user_id, zones_of(bulk, zones))

    def set_zone(self, org_id: int, user_id: int, zone: str | None, now: datetime) -> bool:
        """Note the customer's zone from ``now`` on (None clears it), unless it is unchanged.

        Every change is a new row: past periods are laid out from the history and never move.
        """
        bulk = BulkSql(self._db)
        [rows] = bulk.read_all([zones_read([org_id], user_id)])
        if current_zone(zones_of(bulk, rows).get(org_id, [])) == zone:
            return False
        self._db.execute(
            insert(customer_zones).values(
                org_id=org_id, user_id=user_id, zone=zone or _CLEARED, changed_at=now
            )
        )
        return True

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


def _profile(bulk: BulkSql, row: tuple[Any, ...]) -> Profile:
    return Profile(
        profiles=list(json_value(row[2])),
        custom_fields=dict(json_value(row[3])),
        loyalty_type=row[4],
        source=row[5],
        audit=Audit(bulk.instant_of(row[6]), row[7], bulk.instant_of(row[8]), row[9]),
    )
