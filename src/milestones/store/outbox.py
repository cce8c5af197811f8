"""The outbox (SPEC §15): notifications written in the transaction that made them.

Writing a notification on PostgreSQL leaves its ``sequence`` empty. When the transaction
is about to commit, :func:`seal` draws the sequences of all it wrote, in one step, from
the org's row of ``notification_counters``. Updating that row locks it until the
commit, so a second transaction drawing for the same org waits until the first has
committed: sequences grow in the order notifications become visible, and a feed consumer
that resumes after the last sequence it handled never misses one that commits late (the
outbox trap of a number drawn early in a transaction that commits after later ones).
The lock is held only from the draw to the commit, the last thing a transaction does.

On PostgreSQL a notification's sequence is its id plus an offset drawn for the whole
transaction. On SQLite, where one writer at a time holds the database's write lock from
its first write to its commit, the sequences are drawn as the rows are written, which
keeps the same order without a second pass over them. Either way sequences are
increasing and unique per org; they may leave gaps, which §15 allows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import orjson
from sqlalchemy import Connection

from milestones.domain.notifications import Notice, NotificationType
from milestones.domain.times import utc_text
from milestones.observability import metrics
from milestones.store.bulk import BulkSql
from milestones.store.tables import notifications

_UNSEALED = "milestones.outbox.unsealed"  # on connection.info: orgs with unsealed rows
_WRITTEN = "milestones.outbox.written"  # on connection.info: this transaction's rows, by type
_COLUMNS = ("org_id", "type", "user_id", "occurred_at", "created_at", "replayed", "data")


def write(
    connection: Connection,
    org_id: int,
    now: datetime,
    notices: Sequence[Notice],
    *,
    replayed: bool = False,
) -> None:
    """Add the notices to the outbox; their sequences are drawn when the transaction ends."""
    if not notices:
        return
    bulk = BulkSql(connection)
    created = bulk.instant(now)
    rows: list[tuple[object, ...]] = [
        (
            org_id,
            notice.type.value,
            notice.user_id,
            bulk.instant(notice.occurred_at),
            created,
            replayed,
            orjson.dumps(notice.data, default=_decimal).decode(),
        )
        for notice in notices
    ]
    if connection.dialect.name == "sqlite":
        # One writer at a time holds SQLite's write lock from this draw to the commit, so
        # sequences drawn now become visible in their order: no second pass to seal them.
        last = _draw(bulk, org_id, len(rows))
        first = last - len(rows) + 1
        rows = [(*row, first + offset) for offset, row in enumerate(rows)]
        bulk.insert(notifications, (*_COLUMNS, "sequence"), rows)
    else:
        bulk.insert(notifications, _COLUMNS, rows)
        connection.info.setdefault(_UNSEALED, set()).add(org_id)
    written: Counter[str] = connection.info.setdefault(_WRITTEN, Counter())
    written.update(notice.type.value for notice in notices)


def forget(connection: Connection) -> None:
    """A transaction begins: whatever an earlier one on this connection wrote is settled."""
    connection.info.pop(_UNSEALED, None)
    connection.info.pop(_WRITTEN, None)


def committed(connection: Connection) -> None:
    """The transaction has committed: count its notifications (one rolled back counts none)."""
    written: Counter[str] = connection.info.pop(_WRITTEN, Counter())
    for type_, count in written.items():
        metrics.NOTIFICATIONS.labels(type_).inc(count)


def seal(connection: Connection) -> None:
    """Draw the sequences of this transaction's notifications; call it just before commit."""
    orgs: set[int] | None = connection.info.pop(_UNSEALED, None)
    if not orgs:
        return
    for org_id in sorted(orgs):
        first, last = connection.exec_driver_sql(
            _marks(
                connection,
                "SELECT min(id), max(id) FROM notifications WHERE org_id = ? AND sequence IS NULL",
            ),
            (org_id,),
        ).one()
        if first is None:
            continue
        drawn = _draw(BulkSql(connection), org_id, last - first + 1)
        connection.exec_driver_sql(
            _marks(
                connection,
                "UPDATE notifications SET sequence = id + ? WHERE org_id = ? AND sequence IS NULL",
            ),
            (drawn - last, org_id),
        )


def _draw(bulk: BulkSql, org_id: int, count: int) -> int:
    """Take the org's next ``count`` sequences; answers the last of them."""
    [(drawn,)] = bulk.rows(
        "INSERT INTO notification_counters (org_id, last_sequence) VALUES (?, ?)"
        " ON CONFLICT (org_id) DO UPDATE"
        " SET last_sequence = notification_counters.last_sequence + excluded.last_sequence"
        " RETURNING last_sequence",
        (org_id, count),
    )
    return int(drawn)


@dataclass(frozen=True, slots=True)
class StoredNotification:
    id: int
    org_id: int
    sequence: int
    type: str
    user_id: int
    occurred_at: datetime
    created_at: datetime
    replayed: bool
    data: str  # JSON text, as written

    def view(self) -> dict[str, object]:
        """The notification as the feed lists it and a webhook receives it."""
        return {
            "id": self.id,
            "type": self.type,
            "orgId": self.org_id,
            "userId": self.user_id,
            "sequence": self.sequence,
            "occurredAt": utc_text(self.occurred_at),
            "createdAt": utc_text(self.created_at),
            "replayed": self.replayed,
            "data": orjson.Fragment(self.data.encode()),
        }

    def body(self) -> bytes:
        """The JSON a webhook delivery posts."""
        return orjson.dumps(self.view())


_SELECTED = (
    "SELECT id, org_id, sequence, type, user_id, occurred_at, created_at, replayed, data"
    " FROM notifications"
)


def feed(
    connection: Connection,
    org_id: int,
    after: int,
    limit: int,
    types: frozenset[NotificationType] | None = None,
) -> tuple[list[StoredNotification], int]:
    """The org's notifications after ``after``, oldest first, and how many follow ``after``."""
    bulk = BulkSql(connection)
    where = " WHERE org_id = ? AND sequence > ?"
    values: list[object] = [org_id, after]
    if types is not None and len(types) < len(NotificationType):
        where += f" AND type IN ({', '.join('?' * len(types))})"
        values.extend(sorted(type_.value for type_ in types))
    rows = bulk.rows(f"{_SELECTED}{where} ORDER BY sequence LIMIT ?", [*values, limit])
    total = bulk.rows(f"SELECT count(*) FROM notifications{where}", values)[0][0]
    return [_stored(bulk, row) for row in rows], int(total)


def by_ids(connection: Connection, ids: Sequence[int]) -> dict[int, StoredNotification]:
    bulk = BulkSql(connection)
    rows = bulk.select(f"{_SELECTED} WHERE id {{among}}", [], among=list(ids))
    return {row[0]: _stored(bulk, row) for row in rows}


def _stored(bulk: BulkSql, row: tuple[object, ...]) -> StoredNotification:
    id_, org_id, sequence, type_, user_id, occurred_at, created_at, replayed, data = row
    return StoredNotification(
        int(id_),  # type: ignore[call-overload]
        int(org_id),  # type: ignore[call-overload]
        int(sequence),  # type: ignore[call-overload]
        str(type_),
        int(user_id),  # type: ignore[call-overload]
        bulk.instant_of(occurred_at),
        bulk.instant_of(created_at),
        bool(replayed),
        str(data),
    )


def _decimal(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"not JSON: {type(value).__name__}")


def _marks(connection: Connection, statement: str) -> str:
    return statement if connection.dialect.name == "sqlite" else statement.replace("?", "%s")
