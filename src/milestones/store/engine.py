"""The event engine's SQL: lock customers, load their state, save a batch's changes in bulk."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Table, select, text, update

from milestones.domain.enrolment import EnrolmentRecord
from milestones.domain.events import EventPrint, event_print
from milestones.domain.notifications import Notice
from milestones.domain.orgs import Org
from milestones.domain.outcomes import ContributionKind
from milestones.domain.progress import UserTarget
from milestones.domain.target_groups import TargetGroup
from milestones.engine.anchors import GroupHistory, StoredContribution
from milestones.engine.ingest import AcceptedEvent, LoadScope
from milestones.engine.returns import OriginalBill
from milestones.engine.working_set import CustomerState, Day, LedgerEntry, LedgerMove, WorkingSet
from milestones.store import outbox
from milestones.store.bulk import BulkSql, Read, optional_money, optional_money_of
from milestones.store.customers import batch_zones_of, batch_zones_read
from milestones.store.database import json_text, json_value
from milestones.store.ledger import (
    POSITIONS,
    LedgerFull,
    Packed,
    entry_id,
    pack,
    position_of,
    unpack,
)
from milestones.store.orgs import OrgRepository
from milestones.store.stored_events import return_state_of, stored_bill, stored_return_state
from milestones.store.streak_care import StreakCareRepository
from milestones.store.tables import (
    contributions,
    events,
    target_groups,
    user_cycles,
    user_group_periods,
    user_milestones,
    user_target_days,
    user_targets,
)
from milestones.store.target_groups import TargetGroupRepository
from milestones.store.types import money_from_stored, money_to_stored
from milestones.store.user_targets import USER_TARGET_READ, user_target_read

CHUNK = 500
USER_TARGET_COLUMNS = (
    "id",
    "org_id",
    "target_group_id",
    "target_id",
    "period_id",
    "user_id",
    "slot",
    "starts_at",
    "ends_at",
    "target_value",
    "achieved_value",
    "achieved_at",
    "enrolled_at",
    "updated_at",
    "reached_at",
    "ranked",
)
EVENT_COLUMNS = (
    "id",
    "org_id",
    "event_id",
    "event_name",
    "user_id",
    "event_time",
    "received_at",
    "status",
    "bill_amount",
    "returned_amount",
    "payload",
    "ledger",
)
_LOCK_SPACE = 2**63 - 1
# Asked before every batch and every user view: straight to the driver.
_SIGNATURE = "SELECT count(*), coalesce(sum(revision), 0) FROM target_groups WHERE org_id = ?"


def signature_read(org_id: int) -> Read:
    """The read of an org's catalogue signature: its groups' count and revisions, which
    move whenever a group is created or changed."""
    return Read(_SIGNATURE, (org_id,))


def signature_of(rows: Sequence[tuple[Any, ...]]) -> Hashable:
    """The signature in the rows of :func:`signature_read`."""
    [(count, revisions)] = rows
    return (int(count), int(revisions))


def customer_lock_key(org_id: int, user_id: int) -> int:
    """A signed 64-bit advisory-lock key for one customer of one org."""
    key = (org_id * 1_000_003 + user_id) % _LOCK_SPACE
    return key - 2**62 if key >= 2**62 else key


class SqlEngineStore:
    """:class:`milestones.engine.ingest.EngineStore` on SQLite or PostgreSQL."""

    def __init__(self, connection: Connection, *, replayed: bool = False) -> None:
        self._db = connection
        self._replayed = replayed  # notifications of an import are replayed (SPEC §15, §16)
        self._postgres = connection.dialect.name == "postgresql"
        self._bulk = BulkSql(connection)

    def notify(self, org_id: int, now: datetime, notices: Sequence[Notice]) -> None:
        outbox.write(self._db, org_id, now, notices, replayed=self._replayed)

    def org(self, org_id: int) -> Org | None:
        """The org, read in this transaction (see ``api/events/router.py``)."""
        return OrgRepository(self._db).get_org(org_id)

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

    def known_events(self, org_id: int, event_ids: Collection[str]) -> dict[str, EventPrint]:
        known: dict[str, EventPrint] = {}
        bulk = self._bulk
        for chunk in _chunks(list(event_ids)):
            for event_id, user_id, event_name, event_time, payload in bulk.select(
                "SELECT event_id, user_id, event_name, event_time, CAST(payload AS TEXT)"
                " FROM events WHERE org_id = ? AND event_id {among}",
                (org_id,),
                among=chunk,
            ):
                body = json_value(payload)
                known[event_id] = event_print(
                    user_id,
                    event_name,
                    bulk.instant_of(event_time),
                    body if isinstance(body, dict) else {},
                )
        return known

    def catalogue_signature(self, org_id: int) -> Hashable:
        read = signature_read(org_id)
        return signature_of(self._bulk.rows(read.statement, read.values))

    def load_groups(self, org_id: int) -> list[TargetGroup]:
        ids = [
            row[0]
            for row in self._db.execute(
                # In id order, so the catalogue (and the order of an answer's side effects)
                # does not follow the database's row order of the day.
                select(target_groups.c.id)
                .where(target_groups.c.org_id == org_id)
                .order_by(target_groups.c.id)
            )
        ]
        return TargetGroupRepository(self._db).load(ids)

    def load_customers(
        self, org_id: int, user_ids: Sequence[int], scope: LoadScope
    ) -> CustomerState:
        state = CustomerState()
        bulk = self._bulk
        instant_of = bulk.instant_of
        needs = scope.needs
        for chunk in _chunks(list(user_ids)):
            # Driver-level reads, sent together (one round trip on PostgreSQL): a one-event
            # call makes them all, and SQLAlchemy's statement building cost more than they do.
            reads = {"user_targets": self._user_targets_read(org_id, chunk, scope)}
            if needs.anchors:
                reads["anchors"] = Read(
                    "SELECT target_group_id, user_id, anchor_at FROM user_cycles"
                    " WHERE user_id {among}",
                    (),
                    chunk,
                )
            reads["enrolments"] = Read(
                "SELECT target_id, user_id, period_id, target_value, initial_value,"
                " reset_streak, enrolled_at FROM enrolments"
                " WHERE org_id = ? AND user_id {among}",
                (org_id,),
                chunk,
            )
            if needs.memberships:
                reads["memberships"] = Read(
                    "SELECT audience_group_id, user_id FROM audience_members WHERE user_id {among}",
                    (),
                    chunk,
                )
            if needs.custom_fields:
                reads["custom_fields"] = Read(
                    "SELECT user_id, CAST(custom_fields AS TEXT) FROM customers"
                    " WHERE org_id = ? AND user_id {among}",
                    (org_id,),
                    chunk,
                )
            if needs.group_progress:
                reads["group_achievements"] = Read(
                    "SELECT target_group_id, period_id, user_id, achieved_at"
                    " FROM user_group_periods WHERE user_id {among}",
                    (),
                    chunk,
                )
            if scope.zone_histories:
                reads["zones"] = batch_zones_read(org_id, chunk)
            found = dict(zip(reads, bulk.read_all(list(reads.values())), strict=True))
            if "zones" in found:
                batch_zones_of(bulk, found["zones"], state.zones)
            state.user_targets.extend(user_target_read(bulk, row) for row in found["user_targets"])
            for group_id, user_id, anchor_at in found.get("anchors", ()):
                state.anchors[(group_id, user_id)] = instant_of(anchor_at)
            state.enrolments.extend(
                EnrolmentRecord(
                    target_id=row[0],
                    user_id=row[1],
                    period_id=row[2] or None,
                    target_value=optional_money_of(row[3]),
                    initial_value=optional_money_of(row[4]),
                    reset_streak=bool(row[5]),
                    enrolled_at=instant_of(row[6]),
                )
                for row in found["enrolments"]
            )
            state.memberships.update((row[0], row[1]) for row in found.get("memberships", ()))
            state.custom_fields.update(
                (row[0], dict(json_value(row[1]))) for row in found.get("custom_fields", ())
            )
            for group_id, period_id, user_id, at in found.get("group_achievements", ()):
                state.group_achievements[(group_id, period_id, user_id)] = instant_of(at)
        state.care = StreakCareRepository(self._db).records_of(user_ids, scope.care_groups)
        by_id = {user_target.id: user_target for user_target in state.user_targets}
        self._add_milestones(by_id)
        bulk = self._bulk
        for chunk in _chunks(list(by_id) if needs.days else []):
            for user_target_id, day, visited, max_value in bulk.select(
                "SELECT user_target_id, day, visited, max_value FROM user_target_days "
                "WHERE day >= ? AND user_target_id {among}",
                (scope.since_day,),
                among=chunk,
            ):
                state.days[(user_target_id, day)] = Day(
                    visited=bool(visited), max_value=optional_money_of(max_value), is_new=False
                )
        return state

    def user_targets_by_id(self, org_id: int, ids: Collection[int]) -> list[UserTarget]:
        found: list[UserTarget] = []
        for chunk in _chunks(sorted(ids)):
            rows = self._bulk.select(
                f"SELECT {USER_TARGET_READ} FROM user_targets WHERE org_id = ? AND id {{among}}",
                (org_id,),
                among=chunk,
            )
            found.extend(user_target_read(self._bulk, row) for row in rows)
        self._add_milestones({user_target.id: user_target for user_target in found})
        return found

    def _add_milestones(self, by_id: dict[int, UserTarget]) -> None:
        bulk = self._bulk
        for chunk in _chunks(list(by_id)):
            for user_target_id, trigger_id, achieved_at in bulk.select(
                "SELECT user_target_id, trigger_id, achieved_at FROM user_milestones "
                "WHERE user_target_id {among}",
                (),
                among=chunk,
            ):
                by_id[user_target_id].milestones[trigger_id] = bulk.instant_of(achieved_at)

    def _user_targets_read(self, org_id: int, user_ids: list[int], scope: LoadScope) -> Read:
        """The customers' user targets of periods still open at the batch's earliest event."""
        bulk = self._bulk
        whole = sorted(scope.whole_groups)
        also_whole = f" OR target_group_id IN ({', '.join('?' * len(whole))})" if whole else ""
        return Read(
            f"SELECT {USER_TARGET_READ} FROM user_targets "
            f"WHERE org_id = ? AND (ends_at > ?{also_whole}) AND user_id {{among}}",
            (org_id, bulk.instant(scope.ended_before), *whole),
            user_ids,
        )

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
        bill = stored_bill(row["payload"], row["user_id"], row["event_time"])
        assert bill.transaction is not None
        # In the order the bill made them, so a return's side effects come in the order of
        # the bill's, whether the bill is from this call or an earlier one.
        brought = [
            (entry[0], money_from_stored(entry[1]))
            for entry in unpack(row["ledger"])
            if entry is not None and entry[2] in _BROUGHT
        ]
        state = return_state_of(
            row["returned_amount"], row["returned_lines"], len(bill.transaction.line_items)
        )
        return OriginalBill(row["id"], bill, state, brought)

    def excess_of(self, user_target_ids: Collection[int]) -> dict[int, Decimal]:
        found = dict.fromkeys(user_target_ids, Decimal(0))
        for chunk in _chunks(sorted(found)):
            for user_target_id, amount in self._bulk.select(
                "SELECT user_target_id, sum(amount) FROM contributions "
                "WHERE kind = 'EXCESS' AND user_target_id {among} GROUP BY user_target_id",
                (),
                among=chunk,
            ):
                found[user_target_id] = money_from_stored(amount)
        return found

    def group_history(self, org_id: int, user_id: int, group_id: int) -> GroupHistory:
        """The customer's user targets of the group and their ledger rows, in ledger order.

        The rows are found from the customer's events (indexed by customer), not by user
        target, which the ledger has no index for.
        """
        bulk = self._bulk
        rows = bulk.rows(
            f"SELECT {USER_TARGET_READ} FROM user_targets "
            "WHERE org_id = ? AND user_id = ? AND target_group_id = ?",
            (org_id, user_id, group_id),
        )
        found = {row[0]: user_target_read(bulk, row) for row in rows}
        self._add_milestones(found)
        if not found:
            return GroupHistory([], [])
        ledger: list[StoredContribution] = []
        # The customer's events (indexed by customer), each with its packed ledger.
        for pk, event_id, event_name, event_time, received_at, payload, packed in bulk.rows(
            "SELECT id, event_id, event_name, event_time, received_at, CAST(payload AS TEXT),"
            " ledger FROM events WHERE org_id = ? AND user_id = ? AND ledger IS NOT NULL",
            (org_id, user_id),
        ):
            entries = unpack(packed)
            if not any(entry is not None and entry[0] in found for entry in entries):
                continue
            returns = _returned_bill(json_value(payload)) if event_name == "ReturnBill" else None
            at, received = bulk.instant_of(event_time), bulk.instant_of(received_at)
            ledger.extend(
                StoredContribution(
                    id=entry_id(pk, position),
                    event_id=event_id,
                    event_time=at,
                    received_at=received,
                    user_target_id=entry[0],
                    target_id=found[entry[0]].target_id,
                    amount=money_from_stored(entry[1]),
                    kind=entry[2],
                    event_pk=pk,
                    returns=returns,
                )
                for position, entry in enumerate(entries)
                if entry is not None and entry[0] in found
            )
        ledger.sort(key=lambda row: row.id)
        return GroupHistory(list(found.values()), ledger)

    def save(
        self, org_id: int, now: datetime, accepted: list[AcceptedEvent], ws: WorkingSet
    ) -> None:
        """Write the batch: new and changed user targets, days, milestones, events, ledger."""
        if ws.reset:
            self._clear_relaid(ws)
        new_ids = self._insert_user_targets(org_id, now, ws)
        self._update_user_targets(now, ws)
        if ws.relaid or ws.ledger_moves or ws.moved_anchors:
            self._save_relaid(ws)
        self._save_days(ws, new_ids)
        self._save_milestones(ws)
        bulk = self._bulk
        bulk.insert(
            user_cycles,
            ("target_group_id", "user_id", "anchor_at"),
            [(g, u, bulk.instant(at)) for (g, u), at in ws.new_anchors.items()],
        )
        self._save_group_achievements(ws)
        of_event: dict[int, list[LedgerEntry]] = {}
        later: dict[int, list[LedgerEntry]] = {}  # entries of events stored before the batch
        for entry in ws.ledger:
            if entry.event_pk is None:
                of_event.setdefault(entry.event_index, []).append(entry)
            else:
                later.setdefault(entry.event_pk, []).append(entry)
        noted: list[tuple[int, int, int, int, ContributionKind]] = []
        packs = {index: _packed(entries, noted, index) for index, entries in of_event.items()}
        event_pks = self._insert_events(org_id, now, accepted, packs)
        excess: list[tuple[object, ...]] = [
            (entry_id(event_pks[index], position), event_pks[index], *row)
            for index, position, *row in noted
        ]
        if ws.ledger_moves or later:
            excess.extend(self._rewrite_stored_ledgers(ws, later))
        bulk.insert(contributions, ("id", "event_pk", "user_target_id", "amount", "kind"), excess)
        for item in accepted:
            if item.returns is not None:
                original, after = item.returns
                returned, lines = stored_return_state(original, after)
                self._db.execute(
                    update(events)
                    .where(events.c.org_id == org_id, events.c.event_id == original.event_id)
                    .values(returned_amount=returned, returned_lines=lines)
                )

    def _clear_relaid(self, ws: WorkingSet) -> None:
        """Re-anchored user targets lose their stored milestones and days (saved anew) and
        the emptied ones go, before anything new takes their place."""
        bulk = self._bulk
        reset: list[tuple[object, ...]] = [(user_target_id,) for user_target_id in sorted(ws.reset)]
        bulk.delete(user_milestones, ("user_target_id",), reset)
        bulk.delete(user_target_days, ("user_target_id",), reset)
        removed: list[tuple[object, ...]] = [(user_target_id,) for user_target_id in ws.removed]
        bulk.delete(user_targets, ("id",), removed)

    def _save_relaid(self, ws: WorkingSet) -> None:
        """New windows of re-anchored user targets, moved anchors, re-pointed ledger rows."""
        bulk = self._bulk
        bulk.update(
            user_targets,
            ("starts_at", "ends_at"),
            ("id",),
            [
                (bulk.instant(ut.starts_at), bulk.instant(ut.ends_at), ut.id)
                for ut in ws.relaid.values()
            ],
        )
        for (group_id, user_id), at in ws.moved_anchors.items():
            self._db.execute(
                update(user_cycles)
                .where(user_cycles.c.target_group_id == group_id, user_cycles.c.user_id == user_id)
                .values(anchor_at=at)
            )
        # Re-pointed EXCESS entries are also rows of ``contributions`` (by the same id); the
        # events' packed ledgers are rewritten with the batch's new entries, in save().
        moves = ws.ledger_moves.values()
        bulk.update(
            contributions,
            ("user_target_id", "amount"),
            ("id",),
            [(m.to.id, money_to_stored(m.amount), m.contribution_id) for m in moves if m.to],
        )
        bulk.delete(contributions, ("id",), [(m.contribution_id,) for m in moves if m.to is None])

    def _rewrite_stored_ledgers(
        self, ws: WorkingSet, later: dict[int, list[LedgerEntry]]
    ) -> list[tuple[object, ...]]:
        """Stored events' packed ledgers after a re-anchoring: entries re-pointed or taken
        back (each keeps its position), new entries appended; the new EXCESS rows."""
        moves: dict[int, list[LedgerMove]] = {}
        for move in ws.ledger_moves.values():
            moves.setdefault(position_of(move.contribution_id)[0], []).append(move)
        pks = sorted(set(moves) | set(later))
        bulk = self._bulk
        rows: list[tuple[object, ...]] = []
        excess: list[tuple[object, ...]] = []
        for chunk in _chunks(pks):
            for pk, packed in bulk.select(
                "SELECT id, ledger FROM events WHERE id {among}", (), among=chunk
            ):
                entries = unpack(packed)
                for move in moves.get(pk, []):
                    position = position_of(move.contribution_id)[1]
                    held = entries[position]
                    if held is not None:
                        entries[position] = (
                            None
                            if move.to is None
                            else (move.to.id, money_to_stored(move.amount), held[2])
                        )
                for entry in later.get(pk, []):
                    stored = (entry.user_target.id, money_to_stored(entry.amount), entry.kind)
                    if entry.kind == ContributionKind.EXCESS:
                        excess.append((entry_id(pk, len(entries)), pk, *stored))
                    entries.append(stored)
                rows.append((pack(entries), pk))
        bulk.update(events, ("ledger",), ("id",), rows)
        return excess

    def _save_milestones(self, ws: WorkingSet) -> None:
        """Each trigger the batch touched ends as its user target holds it: a trigger revoked
        and achieved again in one batch is stored once, at its new time."""
        bulk = self._bulk
        removed = {(ut.id, trigger_id) for ut, trigger_id in ws.milestones_removed}
        bulk.delete(user_milestones, ("user_target_id", "trigger_id"), sorted(removed))
        final: dict[tuple[int, int], tuple[object, ...]] = {}
        for ut, trigger_id, _ in ws.milestones_added:
            at = ut.milestones.get(trigger_id)
            if at is not None:
                final[(ut.id, trigger_id)] = (ut.id, trigger_id, bulk.instant(at))
        bulk.insert(
            user_milestones, ("user_target_id", "trigger_id", "achieved_at"), list(final.values())
        )

    def _save_group_achievements(self, ws: WorkingSet) -> None:
        bulk = self._bulk
        keys = ("target_group_id", "period_id", "user_id")
        bulk.delete(user_group_periods, keys, list(ws.group_achievements_removed))
        bulk.upsert(
            user_group_periods,
            keys,
            ("achieved_at",),
            [(*key, bulk.instant(at)) for key, at in ws.group_achievements_added.items()],
        )

    def _insert_user_targets(self, org_id: int, now: datetime, ws: WorkingSet) -> dict[int, int]:
        if not ws.new_user_targets:
            return {}
        groups = self._groups_of({ut.target_id for ut in ws.new_user_targets})
        ids = self._new_user_target_ids(ws.new_user_targets)
        new_ids = {ut.id: new_id for ut, new_id in zip(ws.new_user_targets, ids, strict=True)}
        for user_target in ws.new_user_targets:
            user_target.id = new_ids[user_target.id]
        bulk = self._bulk
        at_now = bulk.instant(now)
        instant = bulk.instant
        rows: list[tuple[object, ...]] = []
        for ut in sorted(ws.new_user_targets, key=_index_order):
            group_id, ranked = groups[ut.target_id]
            achieved_at, enrolled_at, reached_at = ut.achieved_at, ut.enrolled_at, ut.reached_at
            rows.append(
                (
                    ut.id,
                    org_id,
                    group_id,
                    ut.target_id,
                    ut.period_id,
                    ut.user_id,
                    ut.slot,
                    instant(ut.starts_at),
                    instant(ut.ends_at),
                    money_to_stored(ut.target_value),
                    money_to_stored(ut.achieved_value),
                    None if achieved_at is None else instant(achieved_at),
                    at_now if enrolled_at is None else instant(enrolled_at),
                    at_now,
                    None if reached_at is None else instant(reached_at),
                    ranked,
                )
            )
        bulk.insert(user_targets, USER_TARGET_COLUMNS, rows)
        return new_ids

    def _new_user_target_ids(self, new: list[UserTarget]) -> list[int]:
        """The ids the batch's new user targets are stored under, in order (a rebuild
        gives a customer's target in a period back the id it had)."""
        return self._allocate_ids(user_targets, len(new))

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
        [(start,)] = self._bulk.rows(f"SELECT coalesce(max(id), 0) FROM {table.name}", ())
        return list(range(int(start) + 1, int(start) + 1 + count))

    def _groups_of(self, target_ids: set[int]) -> dict[int, tuple[int, object]]:
        """Each target's group, and whether its user targets are ranked (a leaderboard)."""
        rows = self._bulk.select(
            "SELECT t.id, t.target_group_id, g.leaderboard_enabled FROM targets t"
            " JOIN target_groups g ON g.id = t.target_group_id WHERE t.id {among}",
            (),
            among=sorted(target_ids),
        )
        flag = self._bulk.flag
        return {row[0]: (row[1], flag(bool(row[2]))) for row in rows}

    def _update_user_targets(self, now: datetime, ws: WorkingSet) -> None:
        dirty = [ut for ut in ws.dirty.values() if ut.id > 0]
        if not dirty:
            return
        bulk = self._bulk
        at_now = bulk.instant(now)
        bulk.update(
            user_targets,
            ("achieved_value", "achieved_at", "updated_at", "reached_at"),
            ("id",),
            [
                (
                    money_to_stored(ut.achieved_value),
                    bulk.optional_instant(ut.achieved_at),
                    at_now,
                    bulk.optional_instant(ut.reached_at),
                    ut.id,
                )
                for ut in dirty
            ],
        )

    def _save_days(self, ws: WorkingSet, new_ids: dict[int, int]) -> None:
        bulk = self._bulk
        fresh: list[tuple[object, ...]] = []
        changed: list[tuple[object, ...]] = []
        for (user_target_id, day_key), day in ws.days.items():
            if not day.dirty:
                continue
            values = (bulk.flag(day.visited), optional_money(day.max_value))
            user_target_id = new_ids.get(user_target_id, user_target_id)
            if day.is_new:
                fresh.append((user_target_id, day_key, *values))
            else:
                changed.append((*values, user_target_id, day_key))
        bulk.insert(user_target_days, ("user_target_id", "day", "visited", "max_value"), fresh)
        bulk.update(user_target_days, ("visited", "max_value"), ("user_target_id", "day"), changed)

    def _insert_events(
        self, org_id: int, now: datetime, accepted: list[AcceptedEvent], packs: dict[int, str]
    ) -> dict[int, int]:
        if not accepted:
            return {}
        ids = self._allocate_ids(events, len(accepted))
        bulk = self._bulk
        at_now = bulk.instant(now)
        bulk.insert(
            events,
            EVENT_COLUMNS,
            [
                (
                    pk,
                    org_id,
                    item.event.event_id,
                    item.event.event_name,
                    item.event.user_id,
                    bulk.instant(item.event.event_time),
                    at_now,
                    item.status,
                    money_to_stored(item.event.transaction.bill_amount)
                    if item.event.transaction
                    else None,
                    0,
                    json_text(item.payload),
                    packs.get(item.index),
                )
                for item, pk in zip(accepted, ids, strict=True)
            ],
        )
        return {item.index: pk for item, pk in zip(accepted, ids, strict=True)}


_BROUGHT = (ContributionKind.EVENT, ContributionKind.EXCESS)


def _packed(
    entries: list[LedgerEntry],
    excess: list[tuple[int, int, int, int, ContributionKind]],
    index: int,
) -> str:
    """One new event's ledger text; its EXCESS entries noted as (index, position, row...)."""
    if len(entries) > POSITIONS:
        raise LedgerFull(f"an event holds at most {POSITIONS} contributions")
    stored: list[Packed | None] = []
    for position, entry in enumerate(entries):
        row = (entry.user_target.id, money_to_stored(entry.amount), entry.kind)
        if entry.kind == ContributionKind.EXCESS:
            excess.append((index, position, *row))
        stored.append(row)
    return pack(stored)


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _returned_bill(payload: object) -> str | None:
    """The eventId a stored ReturnBill's payload returns."""
    bill_return = payload.get("return") if isinstance(payload, dict) else None
    original = bill_return.get("originalEventId") if isinstance(bill_return, dict) else None
    return original if isinstance(original, str) else None


# Rows inserted in the order of the unique index land on neighbouring pages.
_index_order = attrgetter("user_id", "target_id", "period_id")
