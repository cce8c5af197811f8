"""The event engine's SQL: lock customers, load their state, save a batch's changes in bulk."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, select, text, update

from milestones.domain.progress import UserTarget
from milestones.domain.target_groups import TargetGroup
from milestones.engine.ingest import AcceptedEvent
from milestones.engine.returns import OriginalBill
from milestones.engine.working_set import CustomerState, Day, WorkingSet
from milestones.store.customers import CustomerRepository
from milestones.store.enrolments import EnrolmentRepository
from milestones.store.tables import (
    audience_members,
    contributions,
    events,
    target_groups,
    targets,
    user_cycles,
    user_group_periods,
    user_milestones,
    user_target_days,
    user_targets,
)
from milestones.store.target_groups import TargetGroupRepository
from milestones.store.user_targets import user_target_of

CHUNK = 500
_LOCK_SPACE = 2**63 - 1
# Built once: every event batch and every user view asks it.
_SIGNATURE = select(func.count(), func.coalesce(func.sum(target_groups.c.revision), 0)).where(
    target_groups.c.org_id == bindparam("org_id")
)


def customer_lock_key(org_id: int, user_id: int) -> int:
    """A signed 64-bit advisory-lock key for one customer of one org."""
    key = (org_id * 1_000_003 + user_id) % _LOCK_SPACE
    return key - 2**62 if key >= 2**62 else key


class SqlEngineStore:
    """:class:`milestones.engine.ingest.EngineStore` on SQLite or PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._postgres = connection.dialect.name == "postgresql"

    def lock_customers(self, org_id: int, user_ids: Sequence[int]) -> None:
        """Serialise concurrent batches per customer (SQLite's write lock already does)."""
        if not self._postgres or not user_ids:
            return
        keys = sorted({customer_lock_key(org_id, user_id) for user_id in user_ids})
        self._db.execute(
            text(
                "SELECT pg_advisory_xact_lock(k) FROM "
                "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS ordered"
            ),
            {"keys": keys},
        )

    def known_event_ids(self, org_id: int, event_ids: Collection[str]) -> set[str]:
        known: set[str] = set()
        for chunk in _chunks(list(event_ids)):
            rows = self._db.execute(
                select(events.c.event_id).where(
                    events.c.org_id == org_id, events.c.event_id.in_(chunk)
                )
            )
            known.update(row[0] for row in rows)
        return known

    def catalogue_signature(self, org_id: int) -> Hashable:
        row = self._db.execute(_SIGNATURE, {"org_id": org_id}).one()
        return (int(row[0]), int(row[1]))

    def load_groups(self, org_id: int) -> list[TargetGroup]:
        ids = [
            row[0]
            for row in self._db.execute(
                select(target_groups.c.id).where(target_groups.c.org_id == org_id)
            )
        ]
        return TargetGroupRepository(self._db).load(ids)

    def load_customers(self, org_id: int, user_ids: Sequence[int], since_day: str) -> CustomerState:
        state = CustomerState()
        for chunk in _chunks(list(user_ids)):
            state.user_targets.extend(self._user_targets(org_id, chunk))
            for row in self._db.execute(
                select(user_cycles).where(user_cycles.c.user_id.in_(chunk))
            ).mappings():
                state.anchors[(row["target_group_id"], row["user_id"])] = row["anchor_at"]
            state.enrolments.extend(EnrolmentRepository(self._db).for_users(org_id, chunk))
            rows = self._db.execute(
                select(audience_members.c.audience_group_id, audience_members.c.user_id).where(
                    audience_members.c.user_id.in_(chunk)
                )
            )
            state.memberships.update((row[0], row[1]) for row in rows)
            state.custom_fields.update(CustomerRepository(self._db).custom_fields_of(org_id, chunk))
            for row in self._db.execute(
                select(user_group_periods).where(user_group_periods.c.user_id.in_(chunk))
            ).mappings():
                key = (row["target_group_id"], row["period_id"], row["user_id"])
                state.group_achievements[key] = row["achieved_at"]
        by_id = {user_target.id: user_target for user_target in state.user_targets}
        for chunk in _chunks(list(by_id)):
            for row in self._db.execute(
                select(user_milestones).where(user_milestones.c.user_target_id.in_(chunk))
            ).mappings():
                by_id[row["user_target_id"]].milestones[row["trigger_id"]] = row["achieved_at"]
            for row in self._db.execute(
                select(user_target_days).where(
                    user_target_days.c.user_target_id.in_(chunk),
                    user_target_days.c.day >= since_day,
                )
            ).mappings():
                state.days[(row["user_target_id"], row["day"])] = Day(
                    visited=row["visited"], max_value=row["max_value"], is_new=False
                )
        return state

    def _user_targets(self, org_id: int, user_ids: list[int]) -> Iterator[UserTarget]:
        query = select(user_targets).where(
            user_targets.c.org_id == org_id, user_targets.c.user_id.in_(user_ids)
        )
        for row in self._db.execute(query).mappings():
            yield user_target_of(row)

    def original_bill(self, org_id: int, event_id: str) -> OriginalBill | None:
        row = (
            self._db.execute(
                select(events).where(events.c.org_id == org_id, events.c.event_id == event_id)
            )
            .mappings()
            .first()
        )
        if row is None or row["event_name"] != "TransactionAdd" or row["bill_amount"] is None:
            return None
        brought = self._db.execute(
            select(contributions.c.user_target_id, contributions.c.amount).where(
                contributions.c.event_pk == row["id"], contributions.c.kind == "EVENT"
            )
        )
        return OriginalBill(
            row["id"],
            event_id,
            row["user_id"],
            row["bill_amount"],
            row["returned_amount"],
            [(r[0], r[1]) for r in brought],
        )

    def save(
        self, org_id: int, now: datetime, accepted: list[AcceptedEvent], ws: WorkingSet
    ) -> None:
        """Write the batch: new and changed user targets, days, milestones, events, ledger."""
        new_ids = self._insert_user_targets(org_id, now, ws)
        self._update_user_targets(now, ws)
        self._save_days(ws, new_ids)
        if ws.milestones_added:
            self._db.execute(
                insert(user_milestones),
                [
                    {"user_target_id": ut.id, "trigger_id": tid, "achieved_at": at}
                    for ut, tid, at in ws.milestones_added
                ],
            )
        for user_target, trigger_id in ws.milestones_removed:
            self._db.execute(
                delete(user_milestones).where(
                    user_milestones.c.user_target_id == user_target.id,
                    user_milestones.c.trigger_id == trigger_id,
                )
            )
        if ws.new_anchors:
            self._db.execute(
                insert(user_cycles),
                [
                    {"target_group_id": g, "user_id": u, "anchor_at": at}
                    for (g, u), at in ws.new_anchors.items()
                ],
            )
        self._save_group_achievements(ws)
        event_pks = self._insert_events(org_id, now, accepted)
        if ws.ledger:
            self._db.execute(
                insert(contributions),
                [
                    {
                        "event_pk": event_pks[entry.event_index],
                        "user_target_id": entry.user_target.id,
                        "amount": entry.amount,
                        "kind": entry.kind,
                    }
                    for entry in ws.ledger
                ],
            )
        for item in accepted:
            if item.returns is not None:
                original_id, amount = item.returns
                self._db.execute(
                    update(events)
                    .where(events.c.org_id == org_id, events.c.event_id == original_id)
                    .values(returned_amount=events.c.returned_amount + amount)
                )

    def _save_group_achievements(self, ws: WorkingSet) -> None:
        table = user_group_periods
        for group_id, period_id, user_id in ws.group_achievements_removed:
            self._db.execute(
                delete(table).where(
                    table.c.target_group_id == group_id,
                    table.c.period_id == period_id,
                    table.c.user_id == user_id,
                )
            )
        if ws.group_achievements_added:
            keys = list(ws.group_achievements_added)
            for group_id, period_id, user_id in keys:
                self._db.execute(
                    delete(table).where(
                        table.c.target_group_id == group_id,
                        table.c.period_id == period_id,
                        table.c.user_id == user_id,
                    )
                )
            self._db.execute(
                insert(table),
                [
                    {"target_group_id": g, "period_id": p, "user_id": u, "achieved_at": at}
                    for (g, p, u), at in ws.group_achievements_added.items()
                ],
            )

    def _insert_user_targets(self, org_id: int, now: datetime, ws: WorkingSet) -> dict[int, int]:
        if not ws.new_user_targets:
            return {}
        group_ids = self._group_ids({ut.target_id for ut in ws.new_user_targets})
        ids = self._allocate_ids(user_targets, len(ws.new_user_targets))
        new_ids = {ut.id: new_id for ut, new_id in zip(ws.new_user_targets, ids, strict=True)}
        for user_target in ws.new_user_targets:
            user_target.id = new_ids[user_target.id]
        rows = [
            {
                "id": ut.id,
                "org_id": org_id,
                "target_group_id": group_ids[ut.target_id],
                "target_id": ut.target_id,
                "period_id": ut.period_id,
                "user_id": ut.user_id,
                "slot": ut.slot,
                "starts_at": ut.starts_at,
                "ends_at": ut.ends_at,
                "target_value": ut.target_value,
                "achieved_value": ut.achieved_value,
                "achieved_at": ut.achieved_at,
                "enrolled_at": ut.enrolled_at or now,
                "updated_at": now,
            }
            for ut in ws.new_user_targets
        ]
        self._db.execute(insert(user_targets), rows)
        return new_ids

    def _allocate_ids(self, table: Table, count: int) -> list[int]:
        """Ids for ``count`` new rows, so they can be inserted in one executemany.

        (SQLite cannot batch ``INSERT ... RETURNING``; it holds the write lock for the
        whole transaction, so ``max(id)`` is safe there. PostgreSQL draws from the
        column's sequence.)
        """
        if self._postgres:
            rows = self._db.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"table": table.name, "n": count},
            )
            return [int(row[0]) for row in rows]
        start = int(self._db.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
        return list(range(start + 1, start + 1 + count))

    def _group_ids(self, target_ids: set[int]) -> dict[int, int]:
        rows = self._db.execute(
            select(targets.c.id, targets.c.target_group_id).where(targets.c.id.in_(target_ids))
        )
        return {row[0]: row[1] for row in rows}

    def _update_user_targets(self, now: datetime, ws: WorkingSet) -> None:
        dirty = [ut for ut in ws.dirty.values() if ut.id > 0]
        if not dirty:
            return
        statement = (
            update(user_targets)
            .where(user_targets.c.id == bindparam("ut_id"))
            .values(
                achieved_value=bindparam("value"),
                achieved_at=bindparam("at"),
                updated_at=bindparam("now"),
            )
        )
        self._db.execute(
            statement,
            [
                {"ut_id": ut.id, "value": ut.achieved_value, "at": ut.achieved_at, "now": now}
                for ut in dirty
            ],
        )

    def _save_days(self, ws: WorkingSet, new_ids: dict[int, int]) -> None:
        fresh: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for (user_target_id, day_key), day in ws.days.items():
            if not day.dirty:
                continue
            row = {
                "ut_id": new_ids.get(user_target_id, user_target_id),
                "day_key": day_key,
                "visited": day.visited,
                "max_value": day.max_value,
            }
            (fresh if day.is_new else changed).append(row)
        if fresh:
            self._db.execute(
                insert(user_target_days),
                [
                    {
                        "user_target_id": r["ut_id"],
                        "day": r["day_key"],
                        "visited": r["visited"],
                        "max_value": r["max_value"],
                    }
                    for r in fresh
                ],
            )
        if changed:
            self._db.execute(
                update(user_target_days)
                .where(
                    user_target_days.c.user_target_id == bindparam("ut_id"),
                    user_target_days.c.day == bindparam("day_key"),
                )
                .values(visited=bindparam("visited"), max_value=bindparam("max_value")),
                changed,
            )

    def _insert_events(
        self, org_id: int, now: datetime, accepted: list[AcceptedEvent]
    ) -> dict[int, int]:
        if not accepted:
            return {}
        ids = self._allocate_ids(events, len(accepted))
        rows = [
            {
                "id": pk,
                "org_id": org_id,
                "event_id": item.event.event_id,
                "event_name": item.event.event_name,
                "user_id": item.event.user_id,
                "event_time": item.event.event_time,
                "received_at": now,
                "status": item.status,
                "bill_amount": item.event.transaction.bill_amount
                if item.event.transaction
                else None,
                "returned_amount": Decimal(0),
                "payload": item.payload,
            }
            for item, pk in zip(accepted, ids, strict=True)
        ]
        self._db.execute(insert(events), rows)
        return {item.index: pk for item, pk in zip(accepted, ids, strict=True)}


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
