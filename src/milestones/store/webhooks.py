"""Webhook subscriptions and their deliveries: all the SQL of SPEC §15's push side.

A subscription turns the org's notifications into deliveries in ``sequence`` order
(:meth:`DeliveryQueue.fan_out`), from where it stopped (``webhooks.fanned_out_to``). Of
one customer's pending deliveries to one subscription only the oldest is ``ready``: the
worker sends ready ones only, so a customer's notifications arrive in order, and when
one is delivered (or given up on) the next of that customer becomes ready. A claimed
delivery's ``next_attempt_at`` is pushed past the attempt's deadline (a lease): a worker
that dies mid-attempt leaves it to be claimed again once the lease ends, under the same
``webhook-id``. On PostgreSQL, claims use ``FOR UPDATE SKIP LOCKED`` and fan-out locks
the subscription's row, so several workers share the work without sending anything twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update

from milestones.domain.errors import NotFound
from milestones.domain.notifications import DeliveryStatus, NotificationType, Subscription
from milestones.store.bulk import BulkSql
from milestones.store.outbox import StoredNotification, by_ids
from milestones.store.tables import (
    notification_counters,
    notifications,
    webhook_deliveries,
    webhooks,
)

_PENDING = DeliveryStatus.PENDING.value
_DELIVERED = DeliveryStatus.DELIVERED.value
_FAILED = DeliveryStatus.FAILED.value
_IN_CHUNKS = 500  # keys per membership test


@dataclass(frozen=True, slots=True)
class StoredWebhook:
    id: int
    org_id: int
    subscription: Subscription
    secret: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    id: int
    webhook_id: int
    notification_id: int
    sequence: int
    user_id: int
    type: str | None  # the notification's, while it is kept
    status: DeliveryStatus
    attempts: int
    last_http_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None  # None once DELIVERED or FAILED
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class WebhookRepository:
    """Subscriptions of one org, as the API reads and changes them."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def create(
        self, org_id: int, subscription: Subscription, secret: str, now: datetime
    ) -> StoredWebhook:
        # A new subscription receives what is notified from now on, not the org's history.
        last = self._db.execute(
            select(notification_counters.c.last_sequence).where(
                notification_counters.c.org_id == org_id
            )
        ).scalar()
        webhook_id = self._db.execute(
            insert(webhooks)
            .values(
                org_id=org_id,
                secret=secret,
                fanned_out_to=last or 0,
                created_at=now,
                updated_at=now,
                **_columns(subscription),
            )
            .returning(webhooks.c.id)
        ).scalar_one()
        return self.get(org_id, webhook_id)

    def page(self, org_id: int, limit: int, offset: int) -> tuple[list[StoredWebhook], int]:
        rows = self._db.execute(
            select(webhooks)
            .where(webhooks.c.org_id == org_id)
            .order_by(webhooks.c.id)
            .limit(limit)
            .offset(offset)
        ).all()
        total = self._db.execute(
            select(func.count()).select_from(webhooks).where(webhooks.c.org_id == org_id)
        ).scalar_one()
        return [_webhook(row) for row in rows], int(total)

    def get(self, org_id: int, webhook_id: int) -> StoredWebhook:
        row = self._db.execute(
            select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.org_id == org_id)
        ).first()
        if row is None:
            raise NotFound(f"no webhook {webhook_id}", "id")
        return _webhook(row)

    def update(
        self, org_id: int, webhook_id: int, subscription: Subscription, now: datetime
    ) -> StoredWebhook:
        self.get(org_id, webhook_id)
        self._db.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.org_id == org_id)
            .values(updated_at=now, **_columns(subscription))
        )
        return self.get(org_id, webhook_id)

    def delete(self, org_id: int, webhook_id: int) -> None:
        self.get(org_id, webhook_id)
        self._db.execute(
            delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
        )
        self._db.execute(delete(webhooks).where(webhooks.c.id == webhook_id))

    def deliveries(
        self,
        org_id: int,
        webhook_id: int,
        status: DeliveryStatus | None,
        limit: int,
        offset: int,
    ) -> tuple[list[StoredDelivery], int]:
        """The subscription's deliveries, newest first."""
        self.get(org_id, webhook_id)
        conditions = [webhook_deliveries.c.webhook_id == webhook_id]
        if status is not None:
            conditions.append(webhook_deliveries.c.status == status.value)
        # The count first: on PostgreSQL each statement reads its own snapshot, and a page
        # must never hold fewer rows than a total read before it promised.
        total = self._db.execute(
            select(func.count()).select_from(webhook_deliveries).where(*conditions)
        ).scalar_one()
        rows = self._db.execute(
            select(webhook_deliveries, notifications.c.type)
            .select_from(
                webhook_deliveries.outerjoin(
                    notifications, notifications.c.id == webhook_deliveries.c.notification_id
                )
            )
            .where(*conditions)
            .order_by(webhook_deliveries.c.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return [_delivery(row) for row in rows], int(total)

    def delivery(self, org_id: int, webhook_id: int, delivery_id: int) -> StoredDelivery:
        self.get(org_id, webhook_id)
        row = self._db.execute(
            select(webhook_deliveries, notifications.c.type)
            .select_from(
                webhook_deliveries.outerjoin(
                    notifications, notifications.c.id == webhook_deliveries.c.notification_id
                )
            )
            .where(
                webhook_deliveries.c.id == delivery_id,
                webhook_deliveries.c.webhook_id == webhook_id,
            )
        ).first()
        if row is None:
            raise NotFound(f"no delivery {delivery_id} of webhook {webhook_id}", "deliveryId")
        return _delivery(row)

    def retry(
        self, org_id: int, webhook_id: int, delivery_id: int, now: datetime
    ) -> StoredDelivery | None:
        """Send a DELIVERED or FAILED delivery again, with a fresh round of attempts.

        None when it is still PENDING (it is being sent already). A manual retry is sent
        as soon as a worker can, ahead of the customer's other pending deliveries.
        """
        found = self.delivery(org_id, webhook_id, delivery_id)
        if found.status is DeliveryStatus.PENDING:
            return None
        self._db.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id)
            .values(status=_PENDING, ready=True, attempts=0, next_attempt_at=now)
        )
        return self.delivery(org_id, webhook_id, delivery_id)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a worker is to attempt now: where, signed how, and what."""

    delivery_id: int
    webhook_id: int
    attempt: int  # the attempt's number; its result is recorded only if still current
    url: str
    secret: str
    user_id: int
    notification: StoredNotification


class DeliveryQueue:
    """The worker's side: fan notifications out, claim due deliveries, record results."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._bulk = BulkSql(connection)
        self._postgres = connection.dialect.name == "postgresql"

    def active_webhooks(self) -> list[tuple[int, int, int]]:
        """(id, org, fanned out to) of every active subscription."""
        rows = self._bulk.rows(
            "SELECT id, org_id, fanned_out_to FROM webhooks WHERE active ORDER BY id", []
        )
        return [(int(a), int(b), int(c)) for a, b, c in rows]

    def pending_counts(self) -> list[tuple[int, int]]:
        """(subscription, deliveries PENDING) of every subscription with some."""
        rows = self._bulk.rows(
            "SELECT webhook_id, count(*) FROM webhook_deliveries WHERE status = 'PENDING'"
            " GROUP BY webhook_id ORDER BY webhook_id",
            [],
        )
        return [(int(w), int(n)) for w, n in rows]

    def latest_sequences(self) -> dict[int, int]:
        rows = self._bulk.rows("SELECT org_id, last_sequence FROM notification_counters", [])
        return {int(org): int(last) for org, last in rows}

    def fan_out(self, webhook_id: int, now: datetime, limit: int = 1000) -> int:
        """Turn the subscription's next notifications into deliveries; how many were read."""
        # Waits for another worker's fan-out (or a result, which shares the lock) to end.
        lock = " FOR UPDATE" if self._postgres else ""
        found = self._bulk.rows(
            "SELECT org_id, fanned_out_to, types, include_replayed FROM webhooks"
            f" WHERE id = ? AND active{lock}",
            [webhook_id],
        )
        if not found:
            return 0  # gone, or paused
        org_id, cursor, types, include_replayed = found[0]
        read = self._bulk.rows(
            "SELECT id, sequence, user_id, type, replayed FROM notifications"
            " WHERE org_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
            [org_id, cursor, limit],
        )
        if not read:
            return 0
        wanted_types = _types(str(types))
        wanted = [
            row for row in read if row[3] in wanted_types and (include_replayed or not row[4])
        ]
        busy = self._customers_waiting(webhook_id, sorted({int(row[2]) for row in wanted}))
        at = self._bulk.instant(now)
        rows: list[tuple[object, ...]] = []
        for notification_id, sequence, user_id, _type, _replayed in wanted:
            ready = user_id not in busy
            busy.add(user_id)
            rows.append(
                (webhook_id, notification_id, sequence, user_id, _PENDING, 0, ready, at, at)
            )
        self._bulk.insert(
            webhook_deliveries,
            (
                "webhook_id",
                "notification_id",
                "sequence",
                "user_id",
                "status",
                "attempts",
                "ready",
                "next_attempt_at",
                "created_at",
            ),
            rows,
        )
        self._bulk.rows(
            "UPDATE webhooks SET fanned_out_to = ? WHERE id = ? RETURNING id",
            [read[-1][1], webhook_id],
        )
        return len(read)

    def has_due(self, webhook_id: int, now: datetime) -> bool:
        return bool(
            self._bulk.rows(
                "SELECT 1 FROM webhook_deliveries WHERE webhook_id = ? AND status = 'PENDING'"
                " AND ready AND next_attempt_at <= ? LIMIT 1",
                [webhook_id, self._bulk.instant(now)],
            )
        )

    def claim(self, webhook_id: int, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        """Up to ``limit`` due deliveries of the subscription, leased to this worker."""
        skip = " FOR UPDATE SKIP LOCKED" if self._postgres else ""
        due = self._bulk.rows(
            "SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND status = 'PENDING'"
            f" AND ready AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?{skip}",
            [webhook_id, self._bulk.instant(now), limit],
        )
        if not due:
            return []
        leased = self._bulk.select(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?,"
            " last_attempt_at = ? WHERE id {among}"
            " RETURNING id, notification_id, user_id, attempts",
            [self._bulk.instant(now + lease), self._bulk.instant(now)],
            among=[row[0] for row in due],
        )
        hook = self._bulk.rows("SELECT url, secret FROM webhooks WHERE id = ?", [webhook_id])
        if not hook:
            return []
        url, secret = hook[0]
        notes = by_ids(self._db, [int(row[1]) for row in leased])
        claimed = [
            Claimed(int(id_), webhook_id, int(attempt), str(url), str(secret), int(user), notes[n])
            for id_, n, user, attempt in leased
            if n in notes
        ]
        claimed.sort(key=lambda item: item.notification.sequence)
        return claimed

    def delivered(self, claimed: Claimed, http_status: int, now: datetime) -> None:
        self._settle(claimed, _DELIVERED, http_status, None, now, delivered_at=now)

    def attempt_failed(
        self,
        claimed: Claimed,
        http_status: int | None,
        error: str,
        now: datetime,
        retry_at: datetime | None,
    ) -> None:
        """Try again at ``retry_at``; with none (the last attempt failed), FAILED."""
        if retry_at is None:
            self._settle(claimed, _FAILED, http_status, error, now)
            return
        self._bulk.rows(
            "UPDATE webhook_deliveries SET last_http_status = ?, last_error = ?,"
            " next_attempt_at = ? WHERE id = ? AND attempts = ? AND status = 'PENDING'"
            " RETURNING id",
            [
                http_status,
                error[:500],
                self._bulk.instant(retry_at),
                claimed.delivery_id,
                claimed.attempt,
            ],
        )

    def _settle(
        self,
        claimed: Claimed,
        status: str,
        http_status: int | None,
        error: str | None,
        now: datetime,
        *,
        delivered_at: datetime | None = None,
    ) -> None:
        """End a delivery, and make the customer's next one ready."""
        if self._postgres:
            # Shared with other results, exclusive of a fan-out of this subscription, which
            # decides ``ready`` by what is pending: it must not miss this row's end.
            self._bulk.rows("SELECT id FROM webhooks WHERE id = ? FOR SHARE", [claimed.webhook_id])
        ended = self._bulk.rows(
            "UPDATE webhook_deliveries SET status = ?, ready = ?, last_http_status = ?,"
            " last_error = ?, delivered_at = ?, next_attempt_at = ?"
            " WHERE id = ? AND attempts = ? AND status = 'PENDING' RETURNING id",
            [
                status,
                False,
                http_status,
                None if error is None else error[:500],
                self._bulk.optional_instant(delivered_at),
                self._bulk.instant(now),
                claimed.delivery_id,
                claimed.attempt,
            ],
        )
        if not ended:
            return  # another worker took it over after this one's lease ran out
        self._bulk.rows(
            "UPDATE webhook_deliveries SET ready = ? WHERE id IN ("
            " SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND user_id = ?"
            " AND status = 'PENDING' ORDER BY sequence LIMIT 1) AND NOT ready RETURNING id",
            [True, claimed.webhook_id, claimed.user_id],
        )

    def clean(self, before: datetime) -> int:
        """Drop notifications made before ``before``, with their deliveries; how many went.

        A notification with a PENDING delivery is kept, with all its deliveries, until
        that delivery ends: a FAILED one can be retried by hand until then.
        """
        removed = 0
        while True:
            old = self._bulk.rows(
                "SELECT id FROM notifications n WHERE created_at < ? AND NOT EXISTS ("
                " SELECT 1 FROM webhook_deliveries d WHERE d.notification_id = n.id"
                " AND d.status = 'PENDING') ORDER BY id LIMIT 1000",
                [self._bulk.instant(before)],
            )
            if not old:
                break
            ids = [row[0] for row in old]
            for table in ("webhook_deliveries WHERE notification_id", "notifications WHERE id"):
                self._bulk.select(f"DELETE FROM {table} {{among}} RETURNING 1", [], among=ids)
            removed += len(ids)
        return removed

    def _customers_waiting(self, webhook_id: int, user_ids: Sequence[int]) -> set[int]:
        """Of ``user_ids``, those with a PENDING delivery to this subscription already."""
        waiting: set[int] = set()
        for start in range(0, len(user_ids), _IN_CHUNKS):
            rows = self._bulk.select(
                "SELECT DISTINCT user_id FROM webhook_deliveries WHERE webhook_id = ?"
                " AND status = 'PENDING' AND user_id {among}",
                [webhook_id],
                among=user_ids[start : start + _IN_CHUNKS],
            )
            waiting.update(int(row[0]) for row in rows)
        return waiting


def _columns(subscription: Subscription) -> dict[str, object]:
    every = len(subscription.types) == len(NotificationType)
    return {
        "url": subscription.url,
        "types": "" if every else ",".join(sorted(t.value for t in subscription.types)),
        "description": subscription.description,
        "active": subscription.active,
        "include_replayed": subscription.include_replayed,
    }


def _types(stored: str) -> frozenset[str]:
    if not stored:
        return frozenset(type_.value for type_ in NotificationType)
    return frozenset(stored.split(","))


def _webhook(row: object) -> StoredWebhook:
    mapping = row._mapping  # type: ignore[attr-defined]
    return StoredWebhook(
        id=mapping["id"],
        org_id=mapping["org_id"],
        subscription=Subscription(
            url=mapping["url"],
            types=frozenset(NotificationType(name) for name in _types(mapping["types"])),
            description=mapping["description"],
            active=mapping["active"],
            include_replayed=mapping["include_replayed"],
        ),
        secret=mapping["secret"],
        created_at=mapping["created_at"],
        updated_at=mapping["updated_at"],
    )


def _delivery(row: object) -> StoredDelivery:
    mapping = row._mapping  # type: ignore[attr-defined]
    status = DeliveryStatus(mapping["status"])
    return StoredDelivery(
        id=mapping["id"],
        webhook_id=mapping["webhook_id"],
        notification_id=mapping["notification_id"],
        sequence=mapping["sequence"],
        user_id=mapping["user_id"],
        type=mapping["type"],
        status=status,
        attempts=mapping["attempts"],
        last_http_status=mapping["last_http_status"],
        last_error=mapping["last_error"],
        next_attempt_at=mapping["next_attempt_at"] if status is DeliveryStatus.PENDING else None,
        last_attempt_at=mapping["last_attempt_at"],
        delivered_at=mapping["delivered_at"],
        created_at=mapping["created_at"],
    )
