"""An ``EngineStore`` over dicts: the storage contract of ``SqlEngineStore``, without SQL.

It keeps what the tables keep (rows with ids, money to 3 places, instants in UTC, event
bodies as JSON gives them back) and hands out fresh objects on every read, as a
database does, so a change the engine makes in memory but forgets to save is lost here
too. ``save`` applies a batch's working set in the order the real one does, and a row
written twice under a unique key fails as the database would.

Seeding (groups, enrolments, audiences, custom fields) and reading back (user targets,
ledger rows, stored events) are plain methods for tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

import simplejson

from milestones.domain.enrolment import EnrolmentRecord
from milestones.domain.events import RETURN_BILL, TRANSACTION_ADD, EventPrint, event_print
from milestones.domain.notifications import Notice
from milestones.domain.outcomes import ContributionKind
from milestones.domain.progress import UserTarget
from milestones.domain.streaks import NO_RECORD, CareRecord
from milestones.domain.target_groups import TargetGroup
from milestones.engine.anchors import GroupHistory, StoredContribution
from milestones.engine.ingest import AcceptedEvent, LoadScope
from milestones.engine.returns import OriginalBill
from milestones.engine.working_set import CustomerState, Day, WorkingSet
from milestones.store.ledger import entry_id
from milestones.store.stored_events import return_state_of, stored_bill, stored_return_state

MILLI = Decimal("0.001")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class UniqueViolation(AssertionError):
    """A row inserted under a key that is already taken (the database's IntegrityError)."""


def _money(value: Decimal) -> Decimal:
    return value.quantize(MILLI)


def _instant(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _optional_instant(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _insert(table: dict[K, V], key: K, row: V) -> None:
    if key in table:
        raise UniqueViolation(f"{key!r} is already stored")
    table[key] = row


@dataclass
class EventRow:
    """A row of ``events``."""

    pk: int
    org_id: int
    event_id: str
    event_name: str
    user_id: int
    event_time: datetime
    received_at: datetime
    status: str
    bill_amount: Decimal | None
    payload: dict[str, object]
    returned_amount: Decimal = Decimal("0.000")
    returned_lines: str | None = None


@dataclass
class UserTargetRow:
    """A row of ``user_targets``."""

    id: int
    org_id: int
    group_id: int
    target_id: int
    period_id: int
    user_id: int
    slot: int
    starts_at: datetime
    ends_at: datetime
    target_value: Decimal
    achieved_value: Decimal
    achieved_at: datetime | None
    enrolled_at: datetime
    updated_at: datetime
    reached_at: datetime | None


@dataclass
class LedgerRow:
    """One entry of the ledger (packed per event in the store): a contribution, by kind."""

    id: int
    event_pk: int
    user_target_id: int
    amount: Decimal
    kind: str


@dataclass
class FakeEngineStore:
    """:class:`milestones.engine.ingest.EngineStore` over dicts, for unit tests."""

    groups: dict[int, TargetGroup] = field(default_factory=dict)  # by group id
    revisions: dict[int, int] = field(default_factory=dict)  # group id -> times changed
    events: dict[int, EventRow] = field(default_factory=dict)  # by pk
    user_target_rows: dict[int, UserTargetRow] = field(default_factory=dict)  # by id
    # (user target id, trigger id) -> achieved at
    milestones: dict[tuple[int, int], datetime] = field(default_factory=dict)
    # (user target id, local day) -> (visited, the day's MAX)
    days: dict[tuple[int, str], tuple[bool, Decimal | None]] = field(default_factory=dict)
    ledger: dict[int, LedgerRow] = field(default_factory=dict)  # by id, in ledger order
    anchors: dict[tuple[int, int], datetime] = field(default_factory=dict)  # (group, user)
    enrolments: list[tuple[int, EnrolmentRecord]] = field(default_factory=list)  # (org, ...)
    members: set[tuple[int, int]] = field(default_factory=set)  # (audience group, user)
    # (org, user) -> the customer's custom fields
    custom_fields: dict[tuple[int, int], dict[str, object]] = field(default_factory=dict)
    # (group, period, user) -> when the group as a whole was achieved (unified, streaks)
    group_periods: dict[tuple[int, int, int], datetime] = field(default_factory=dict)
    locked: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # each lock call
    saves: int = 0
    notices: list[Notice] = field(default_factory=list)  # the outbox, in the order written
    _event_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _user_target_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # Entries each event holds (taken back ones included): a ledger entry's id is its
    # event's pk and position, as the store's packed ledger numbers them.
    _positions: dict[int, int] = field(default_factory=dict)

    # --- Seeding -------------------------------------------------------------

    @classmethod
    def of(cls, *groups: TargetGroup) -> FakeEngineStore:
        store = cls()
        for group in groups:
            store.put_group(group)
        return store

    def put_group(self, group: TargetGroup) -> None:
        """Create or change a group; a change moves the catalogue signature."""
        self.groups[group.id] = group
        self.revisions[group.id] = self.revisions.get(group.id, -1) + 1

    def enrol(self, org_id: int, record: EnrolmentRecord) -> None:
        self.enrolments.append((org_id, record))

    def add_member(self, audience_id: int, user_id: int) -> None:
        self.members.add((audience_id, user_id))

    def set_custom_fields(self, org_id: int, user_id: int, fields: dict[str, object]) -> None:
        self.custom_fields[(org_id, user_id)] = dict(fields)

    # --- EngineStore -----------------------------------------------------------

    def lock_customers(self, org_id: int, user_ids: Sequence[int]) -> None:
        self.locked.append((org_id, tuple(user_ids)))

    def known_events(self, org_id: int, event_ids: Collection[str]) -> dict[str, EventPrint]:
        wanted = set(event_ids)
        return {
            row.event_id: event_print(row.user_id, row.event_name, row.event_time, row.payload)
            for row in self.events.values()
            if row.org_id == org_id and row.event_id in wanted
        }

    def catalogue_signature(self, org_id: int) -> Hashable:
        mine = [group_id for group_id, group in self.groups.items() if group.org_id == org_id]
        return (len(mine), sum(self.revisions[group_id] for group_id in mine))

    def load_groups(self, org_id: int) -> list[TargetGroup]:
        mine = [group for group in self.groups.values() if group.org_id == org_id]
        return sorted(mine, key=lambda group: group.id)  # as SqlEngineStore: in id order

    def load_customers(
        self, org_id: int, user_ids: Sequence[int], scope: LoadScope
    ) -> CustomerState:
        users = set(user_ids)
        state = CustomerState()
        state.user_targets = [
            self._read(row)
            for row in self.user_target_rows.values()
            if row.org_id == org_id
            and row.user_id in users
            and (row.ends_at > scope.ended_before or row.group_id in scope.whole_groups)
        ]
        # Anchors, memberships and group achievements are keyed by customer alone, as stored.
        state.anchors = {key: at for key, at in self.anchors.items() if key[1] in users}
        state.enrolments = [
            record for org, record in self.enrolments if org == org_id and record.user_id in users
        ]
        state.memberships = {key for key in self.members if key[1] in users}
        state.custom_fields = {
            user: dict(fields)
            for (org, user), fields in self.custom_fields.items()
            if org == org_id and user in users
        }
        state.group_achievements = {
            key: at for key, at in self.group_periods.items() if key[2] in users
        }
        loaded = {user_target.id for user_target in state.user_targets}
        state.days = {
            (user_target_id, day): Day(visited=visited, max_value=max_value, is_new=False)
            for (user_target_id, day), (visited, max_value) in self.days.items()
            if user_target_id in loaded and day >= scope.since_day
        }
        return state

    def user_targets_by_id(self, org_id: int, ids: Collection[int]) -> list[UserTarget]:
        return [
            self._read(self.user_target_rows[user_target_id])
            for user_target_id in sorted(ids)
            if user_target_id in self.user_target_rows
            and self.user_target_rows[user_target_id].org_id == org_id
        ]

    def original_bill(self, org_id: int, event_id: str) -> OriginalBill | None:
        row = self._event(org_id, event_id)
        if row is None or row.event_name != TRANSACTION_ADD or row.bill_amount is None:
            return None
        bill = stored_bill(row.payload, row.user_id, row.event_time)
        assert bill.transaction is not None
        brought = [
            (entry.user_target_id, entry.amount)
            for entry in sorted(self.ledger.values(), key=lambda entry: entry.id)
            if entry.event_pk == row.pk
            and entry.kind in (ContributionKind.EVENT, ContributionKind.EXCESS)
        ]
        state = return_state_of(
            row.returned_amount, row.returned_lines, len(bill.transaction.line_items)
        )
        return OriginalBill(row.pk, bill, state, brought)

    def excess_of(self, user_target_ids: Collection[int]) -> dict[int, Decimal]:
        found = dict.fromkeys(user_target_ids, Decimal(0))
        for entry in self.ledger.values():
            if entry.kind == ContributionKind.EXCESS and entry.user_target_id in found:
                found[entry.user_target_id] += entry.amount
        return found

    def group_history(self, org_id: int, user_id: int, group_id: int) -> GroupHistory:
        found = {
            row.id: self._read(row)
            for row in self.user_target_rows.values()
            if (row.org_id, row.user_id, row.group_id) == (org_id, user_id, group_id)
        }
        if not found:
            return GroupHistory([], [])
        ledger = []
        for entry in sorted(self.ledger.values(), key=lambda entry: entry.id):
            event = self.events[entry.event_pk]
            if entry.user_target_id not in found or (event.org_id, event.user_id) != (
                org_id,
                user_id,
            ):
                continue
            ledger.append(
                StoredContribution(
                    id=entry.id,
                    event_id=event.event_id,
                    event_time=event.event_time,
                    received_at=event.received_at,
                    user_target_id=entry.user_target_id,
                    target_id=found[entry.user_target_id].target_id,
                    amount=entry.amount,
                    kind=ContributionKind(entry.kind),
                    event_pk=entry.event_pk,
                    returns=_returned_bill(event.payload)
                    if event.event_name == RETURN_BILL
                    else None,
                )
            )
        return GroupHistory(list(found.values()), ledger)

    def notify(self, org_id: int, now: datetime, notices: Sequence[Notice]) -> None:
        """The outbox: every notice in the order written."""
        self.notices.extend(notices)

    def save(
        self, org_id: int, now: datetime, accepted: list[AcceptedEvent], ws: WorkingSet
    ) -> None:
        """Write the batch, step by step as ``SqlEngineStore.save`` does."""
        self.saves += 1
        if ws.reset:
            self._clear_relaid(ws)
        new_ids = self._insert_user_targets(org_id, now, ws)
        for user_target in ws.dirty.values():
            row = self.user_target_rows.get(user_target.id)
            if row is not None:  # an UPDATE of a missing row changes nothing
                row.achieved_value = _money(user_target.achieved_value)
                row.achieved_at = _optional_instant(user_target.achieved_at)
                row.updated_at = _instant(now)
                row.reached_at = _optional_instant(user_target.reached_at)
        if ws.relaid or ws.ledger_moves or ws.moved_anchors:
            self._save_relaid(ws)
        self._save_days(ws, new_ids)
        # As SqlEngineStore._save_milestones: the revoked go first, then each trigger added
        # is stored once, as its user target holds it at the end of the batch.
        for user_target, trigger_id in ws.milestones_removed:
            self.milestones.pop((user_target.id, trigger_id), None)
        final = {
            (user_target.id, trigger_id): user_target.milestones[trigger_id]
            for user_target, trigger_id, _ in ws.milestones_added
            if trigger_id in user_target.milestones
        }
        for key, achieved_at in final.items():
            _insert(self.milestones, key, _instant(achieved_at))
        for key, anchor in ws.new_anchors.items():
            _insert(self.anchors, key, _instant(anchor))
        for period_key in ws.group_achievements_removed:
            self.group_periods.pop(period_key, None)
        for period_key, achieved_at in ws.group_achievements_added.items():
            self.group_periods[period_key] = _instant(achieved_at)
        event_pks = self._insert_events(org_id, now, accepted)
        for entry in ws.ledger:
            event_pk = event_pks[entry.event_index] if entry.event_pk is None else entry.event_pk
            position = self._positions.get(event_pk, 0)
            self._positions[event_pk] = position + 1
            ledger_id = entry_id(event_pk, position)
            self.ledger[ledger_id] = LedgerRow(
                ledger_id,
                event_pk,
                entry.user_target.id,
                _money(entry.amount),
                entry.kind,
            )
        for item in accepted:
            if item.returns is not None:
                original, after = item.returns
                bill_row = self._event(org_id, original.event_id)
                if bill_row is not None:
                    bill_row.returned_amount, bill_row.returned_lines = stored_return_state(
                        original, after
                    )
                    bill_row.returned_amount = _money(bill_row.returned_amount)

    def _clear_relaid(self, ws: WorkingSet) -> None:
        for milestone in [key for key in self.milestones if key[0] in ws.reset]:
            del self.milestones[milestone]
        for day in [key for key in self.days if key[0] in ws.reset]:
            del self.days[day]
        for user_target_id in ws.removed:
            self.user_target_rows.pop(user_target_id, None)

    def _insert_user_targets(self, org_id: int, now: datetime, ws: WorkingSet) -> dict[int, int]:
        """Give the batch's new user targets their ids, in place, and store them."""
        new_ids: dict[int, int] = {}
        group_of = {
            target.id: group.id for group in self.groups.values() for target in group.targets
        }
        taken = {(r.target_id, r.period_id, r.user_id) for r in self.user_target_rows.values()}
        for user_target in ws.new_user_targets:
            new_id = next(self._user_target_ids)
            new_ids[user_target.id] = new_id
            user_target.id = new_id
            key = (user_target.target_id, user_target.period_id, user_target.user_id)
            if key in taken:
                raise UniqueViolation(f"user target {key} is already stored")
            taken.add(key)
            self.user_target_rows[new_id] = UserTargetRow(
                id=new_id,
                org_id=org_id,
                group_id=group_of[user_target.target_id],
                target_id=user_target.target_id,
                period_id=user_target.period_id,
                user_id=user_target.user_id,
                slot=user_target.slot,
                starts_at=_instant(user_target.starts_at),
                ends_at=_instant(user_target.ends_at),
                target_value=_money(user_target.target_value),
                achieved_value=_money(user_target.achieved_value),
                achieved_at=_optional_instant(user_target.achieved_at),
                enrolled_at=_instant(user_target.enrolled_at or now),
                updated_at=_instant(now),
                reached_at=_optional_instant(user_target.reached_at),
            )
        return new_ids

    def _save_relaid(self, ws: WorkingSet) -> None:
        for user_target in ws.relaid.values():
            row = self.user_target_rows.get(user_target.id)
            if row is not None:
                row.starts_at = _instant(user_target.starts_at)
                row.ends_at = _instant(user_target.ends_at)
        for key, anchor in ws.moved_anchors.items():
            if key in self.anchors:
                self.anchors[key] = _instant(anchor)
        for move in ws.ledger_moves.values():
            if move.to is None:
                self.ledger.pop(move.contribution_id, None)
            elif move.contribution_id in self.ledger:
                entry = self.ledger[move.contribution_id]
                entry.user_target_id, entry.amount = move.to.id, _money(move.amount)

    def _save_days(self, ws: WorkingSet, new_ids: dict[int, int]) -> None:
        for (user_target_id, day_key), day in ws.days.items():
            if not day.dirty:
                continue
            key = (new_ids.get(user_target_id, user_target_id), day_key)
            value = (day.visited, None if day.max_value is None else _money(day.max_value))
            if day.is_new:
                _insert(self.days, key, value)
            elif key in self.days:  # an UPDATE of a missing row changes nothing
                self.days[key] = value

    def _insert_events(
        self, org_id: int, now: datetime, accepted: list[AcceptedEvent]
    ) -> dict[int, int]:
        pks: dict[int, int] = {}
        stored = {(row.org_id, row.event_id) for row in self.events.values()}
        for item in accepted:
            event = item.event
            if (org_id, event.event_id) in stored:
                raise UniqueViolation(f"event {event.event_id} is already stored")
            stored.add((org_id, event.event_id))
            pk = next(self._event_ids)
            self.events[pk] = EventRow(
                pk=pk,
                org_id=org_id,
                event_id=event.event_id,
                event_name=event.event_name,
                user_id=event.user_id,
                event_time=_instant(event.event_time),
                received_at=_instant(now),
                status=item.status,
                bill_amount=_money(event.transaction.bill_amount) if event.transaction else None,
                payload=_as_stored(item.payload),
            )
            pks[item.index] = pk
        return pks

    # --- Reading back, for tests ------------------------------------------------

    def _read(self, row: UserTargetRow) -> UserTarget:
        """A stored user target as a fresh object, with its milestones."""
        return UserTarget(
            id=row.id,
            target_id=row.target_id,
            period_id=row.period_id,
            user_id=row.user_id,
            slot=row.slot,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            target_value=row.target_value,
            achieved_value=row.achieved_value,
            achieved_at=row.achieved_at,
            enrolled_at=row.enrolled_at,
            milestones={
                trigger_id: achieved_at
                for (user_target_id, trigger_id), achieved_at in self.milestones.items()
                if user_target_id == row.id
            },
            reached_at=row.reached_at,
        )

    def _event(self, org_id: int, event_id: str) -> EventRow | None:
        return next(
            (r for r in self.events.values() if (r.org_id, r.event_id) == (org_id, event_id)),
            None,
        )

    def event(self, event_id: str, org_id: int = 1) -> EventRow:
        """A stored event by its eventId (KeyError if it was not stored)."""
        row = self._event(org_id, event_id)
        if row is None:
            raise KeyError(event_id)
        return row

    def user_targets(self, target_id: int, user_id: int) -> list[UserTarget]:
        """A customer's stored user targets of one target, in slot order."""
        rows = [
            row
            for row in self.user_target_rows.values()
            if (row.target_id, row.user_id) == (target_id, user_id)
        ]
        return [self._read(row) for row in sorted(rows, key=lambda row: (row.slot, row.starts_at))]

    def values(self, target_id: int, user_id: int) -> list[Decimal]:
        """A customer's achieved values of one target, in slot order."""
        return [ut.achieved_value for ut in self.user_targets(target_id, user_id)]

    def find(self, target_id: int, period_id: int, user_id: int) -> UserTarget | None:
        """A stored user target (``group_progress.UserTargetLookup``, as the user view reads)."""
        return next(
            (
                self._read(row)
                for row in self.user_target_rows.values()
                if (row.target_id, row.period_id, row.user_id) == (target_id, period_id, user_id)
            ),
            None,
        )

    def group_achieved_at(self, group_id: int, period_id: int, user_id: int) -> datetime | None:
        return self.group_periods.get((group_id, period_id, user_id))

    def care_of(self, group_id: int, user_id: int) -> CareRecord:
        return NO_RECORD

    def ledger_of(self, user_target_id: int) -> list[tuple[str, Decimal]]:
        """The (kind, amount) ledger rows of one user target, in ledger order."""
        return [
            (entry.kind, entry.amount)
            for entry in sorted(self.ledger.values(), key=lambda entry: entry.id)
            if entry.user_target_id == user_target_id
        ]


def _as_stored(payload: dict[str, object]) -> dict[str, object]:
    """The body as the JSON column gives it back (numbers as ints or Decimals)."""
    text = simplejson.dumps(payload, use_decimal=True)
    stored: dict[str, object] = simplejson.loads(text, use_decimal=True)
    return stored


def _returned_bill(payload: object) -> str | None:
    bill_return = payload.get("return") if isinstance(payload, dict) else None
    original = bill_return.get("originalEventId") if isinstance(bill_return, dict) else None
    return original if isinstance(original, str) else None
