"""An ``EngineStore`` in memory: the storage contract of ``SqlEngineStore``, without SQL.

It keeps what the tables keep (rows with ids, money to 3 places, instants in UTC, event
bodies as JSON gives them back) and hands out fresh objects on every read, as a
database does, so a change the engine makes in memory but forgets to save is lost here
too. ``save`` applies a batch's working set in the order the real one does, and a row
written twice under a unique key fails as the database would. Rows are indexed the way
the tables are (by customer, by eventId, by event and by user target for the ledger),
so a batch costs what its customers hold, not what the store holds.

Two users: the engine's unit tests (``tests/unit/fake_store.py``, checked against a real
database by ``tests/integration/test_fake_store_contract.py``), and the simulation of a
draft group (SPEC §16, :mod:`milestones.store.simulation`), which must write nothing.

Seeding (groups, enrolments, audiences, custom fields) is plain methods.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

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
_BROUGHT = (ContributionKind.EVENT, ContributionKind.EXCESS)


class UniqueViolation(AssertionError):
    """A row inserted under a key that is already taken (the database's IntegrityError)."""


def _money(value: Decimal) -> Decimal:
    return value.quantize(MILLI)


def _instant(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _optional_instant(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
class LedgerRow:
    """One entry of the ledger (packed per event in the store): a contribution, by kind."""

    id: int
    event_pk: int
    user_target_id: int
    amount: Decimal
    kind: str


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What a re-anchoring needs of a stored event (``group_history``)."""

    event_id: str
    event_time: datetime
    received_at: datetime
    returns: str | None  # a ReturnBill's: the eventId of the bill it returns


class MemoryEngineStore:
    """:class:`milestones.engine.ingest.EngineStore` in memory."""

    def __init__(self) -> None:
        self.groups: dict[int, TargetGroup] = {}  # by group id
        self.revisions: dict[int, int] = {}  # group id -> times changed
        self.events: dict[int, EventRow] = {}  # by pk
        self.user_target_rows: dict[int, UserTargetRow] = {}  # by id
        self.ledger: dict[int, LedgerRow] = {}  # by id
        self.anchors: dict[tuple[int, int], datetime] = {}  # (group, user)
        self.enrolments: list[tuple[int, EnrolmentRecord]] = []  # (org, record)
        self.members: set[tuple[int, int]] = set()  # (audience group, user)
        # (org, user) -> the customer's custom fields
        self.custom_fields: dict[tuple[int, int], dict[str, object]] = {}
        # (group, period, user) -> when the group as a whole was achieved (unified, streaks)
        self.group_periods: dict[tuple[int, int, int], datetime] = {}
        self.locked: list[tuple[int, tuple[int, ...]]] = []  # each lock call
        self.saves = 0
        self.notices: list[Notice] = []  # the outbox, in the order written
        self._event_ids = itertools.count(1)
        self._user_target_ids = itertools.count(1)
        # Indexes, as the tables' own.
        self._group_of_target: dict[int, int] = {}
        self._event_pk: dict[tuple[int, str], int] = {}  # (org, eventId) -> pk
        self._of_customer: dict[tuple[int, int], list[int]] = {}  # (org, user) -> ids
        self._by_key: dict[tuple[int, int, int], int] = {}  # (target, period, user) -> id
        self._milestones: dict[int, dict[int, datetime]] = {}  # user target -> trigger -> at
        self._days: dict[int, dict[str, tuple[bool, Decimal | None]]] = {}  # user target -> day
        self._ledger_of_event: dict[int, list[int]] = {}  # event pk -> ledger ids
        self._ledger_of: dict[int, list[int]] = {}  # user target -> ledger ids
        self._enrolled: dict[tuple[int, int], list[EnrolmentRecord]] = {}  # (org, user)
        self._keyed_by_user: dict[int, list[tuple[int, int]]] = {}  # user -> anchor keys
        # Entries each event holds (taken back ones included): a ledger entry's id is its
        # event's pk and position, as the store's packed ledger numbers them.
        self._positions: dict[int, int] = {}

    # --- Seeding -------------------------------------------------------------

    @classmethod
    def of(cls, *groups: TargetGroup) -> MemoryEngineStore:
        store = cls()
        for group in groups:
            store.put_group(group)
        return store

    def put_group(self, group: TargetGroup) -> None:
        """Create or change a group; a change moves the catalogue signature."""
        self.groups[group.id] = group
        self.revisions[group.id] = self.revisions.get(group.id, -1) + 1
        for target in group.targets:
            self._group_of_target[target.id] = group.id

    def enrol(self, org_id: int, record: EnrolmentRecord) -> None:
        self.enrolments.append((org_id, record))
        self._enrolled.setdefault((org_id, record.user_id), []).append(record)

    def add_member(self, audience_id: int, user_id: int) -> None:
        self.members.add((audience_id, user_id))

    def set_custom_fields(self, org_id: int, user_id: int, fields: dict[str, object]) -> None:
        self.custom_fields[(org_id, user_id)] = dict(fields)

    # --- Reading, as the tables are read ----------------------------------------

    @property
    def milestones(self) -> dict[tuple[int, int], datetime]:
        """``user_milestones``: (user target id, trigger id) -> achieved at."""
        return {
            (user_target_id, trigger_id): at
            for user_target_id, triggers in self._milestones.items()
            for trigger_id, at in triggers.items()
        }

    @property
    def days(self) -> dict[tuple[int, str], tuple[bool, Decimal | None]]:
        """``user_target_days``: (user target id, local day) -> (visited, the day's MAX)."""
        return {
            (user_target_id, day): value
            for user_target_id, days in self._days.items()
            for day, value in days.items()
        }

    def rows_of_customer(self, org_id: int, user_id: int) -> list[UserTargetRow]:
        """A customer's stored user targets, in id order."""
        rows = self.user_target_rows
        return [
            rows[user_target_id] for user_target_id in self._of_customer.get((org_id, user_id), ())
        ]

    def customers(self) -> list[tuple[int, int]]:
        """Every (org, user) holding a user target, in the order they first got one."""
        return [key for key, ids in self._of_customer.items() if ids]

    def read(self, row: UserTargetRow) -> UserTarget:
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
            milestones=dict(self._milestones.get(row.id, {})),
            reached_at=row.reached_at,
        )

    def find(self, target_id: int, period_id: int, user_id: int) -> UserTarget | None:
        """A stored user target (``group_progress.UserTargetLookup``, as the user view reads)."""
        found = self._by_key.get((target_id, period_id, user_id))
        return None if found is None else self.read(self.user_target_rows[found])

    def group_achieved_at(self, group_id: int, period_id: int, user_id: int) -> datetime | None:
        return self.group_periods.get((group_id, period_id, user_id))

    def care_of(self, group_id: int, user_id: int) -> CareRecord:
        return NO_RECORD

    def excess_held(self, user_target_id: int) -> Decimal:
        """What a CAPPING user target holds past its cap: its EXCESS entries."""
        ledger = self.ledger
        return sum(
            (
                ledger[entry].amount
                for entry in self._ledger_of.get(user_target_id, ())
                if ledger[entry].kind == ContributionKind.EXCESS
            ),
            Decimal(0),
        )

    # --- EngineStore -----------------------------------------------------------

    def lock_customers(self, org_id: int, user_ids: Sequence[int]) -> None:
        self.locked.append((org_id, tuple(user_ids)))

    def known_events(self, org_id: int, event_ids: Collection[str]) -> dict[str, EventPrint]:
        known: dict[str, EventPrint] = {}
        for event_id in event_ids:
            pk = self._event_pk.get((org_id, event_id))
            if pk is not None:
                row = self.events[pk]
                known[event_id] = event_print(
                    row.user_id, row.event_name, row.event_time, row.payload
                )
        return known

    def catalogue_signature(self, org_id: int) -> Hashable:
        mine = [group_id for group_id, group in self.groups.items() if group.org_id == org_id]
        return (len(mine), sum(self.revisions[group_id] for group_id in mine))

    def load_groups(self, org_id: int) -> list[TargetGroup]:
        mine = [group for group in self.groups.values() if group.org_id == org_id]
        return sorted(mine, key=lambda group: group.id)  # as SqlEngineStore: in id order

    def load_customers(
        self, org_id: int, user_ids: Sequence[int], scope: LoadScope
    ) -> CustomerState:
        state = CustomerState()
        for user_id in user_ids:
            state.user_targets.extend(
                self.read(row)
                for row in self.rows_of_customer(org_id, user_id)
                if row.ends_at > scope.ended_before or row.group_id in scope.whole_groups
            )
            # Anchors, memberships and group achievements are keyed by customer alone, as stored.
            for key in self._keyed_by_user.get(user_id, ()):
                if key in self.anchors:
                    state.anchors[key] = self.anchors[key]
            state.enrolments.extend(self._enrolled.get((org_id, user_id), ()))
            fields = self.custom_fields.get((org_id, user_id))
            if fields is not None:
                state.custom_fields[user_id] = dict(fields)
        state.user_targets.sort(key=lambda user_target: user_target.id)  # as stored: id order
        users = set(user_ids)
        if self.members:
            state.memberships = {key for key in self.members if key[1] in users}
        if self.group_periods:
            state.group_achievements = {
                key: at for key, at in self.group_periods.items() if key[2] in users
            }
        for user_target in state.user_targets:
            for day, (visited, max_value) in self._days.get(user_target.id, {}).items():
                if day >= scope.since_day:
                    state.days[(user_target.id, day)] = Day(
                        visited=visited, max_value=max_value, is_new=False
                    )
        return state

    def user_targets_by_id(self, org_id: int, ids: Collection[int]) -> list[UserTarget]:
        rows = self.user_target_rows
        return [
            self.read(rows[user_target_id])
            for user_target_id in sorted(ids)
            if user_target_id in rows and rows[user_target_id].org_id == org_id
        ]

    def original_bill(self, org_id: int, event_id: str) -> OriginalBill | None:
        pk = self._event_pk.get((org_id, event_id))
        row = None if pk is None else self.events[pk]
        if row is None or row.event_name != TRANSACTION_ADD or row.bill_amount is None:
            return None
        bill = stored_bill(row.payload, row.user_id, row.event_time)
        assert bill.transaction is not None
        state = return_state_of(
            row.returned_amount, row.returned_lines, len(bill.transaction.line_items)
        )
        return OriginalBill(row.pk, bill, state, self.brought_by(row.pk))

    def brought_by(self, event_pk: int) -> list[tuple[int, Decimal]]:
        """What an event's EVENT and EXCESS entries brought, in the order it made them."""
        ledger = self.ledger
        entries = sorted(self._ledger_of_event.get(event_pk, ()))
        return [
            (ledger[entry].user_target_id, ledger[entry].amount)
            for entry in entries
            if ledger[entry].kind in _BROUGHT
        ]

    def excess_of(self, user_target_ids: Collection[int]) -> dict[int, Decimal]:
        return {
            user_target_id: self.excess_held(user_target_id) for user_target_id in user_target_ids
        }

    def group_history(self, org_id: int, user_id: int, group_id: int) -> GroupHistory:
        found = {
            row.id: self.read(row)
            for row in self.rows_of_customer(org_id, user_id)
            if row.group_id == group_id
        }
        if not found:
            return GroupHistory([], [])
        entries = sorted(
            {entry for user_target_id in found for entry in self._ledger_of.get(user_target_id, ())}
        )
        rows = [self.ledger[entry] for entry in entries]
        facts = self.event_facts(org_id, user_id, {row.event_pk for row in rows})
        ledger = [
            StoredContribution(
                id=row.id,
                event_id=fact.event_id,
                event_time=fact.event_time,
                received_at=fact.received_at,
                user_target_id=row.user_target_id,
                target_id=found[row.user_target_id].target_id,
                amount=row.amount,
                kind=ContributionKind(row.kind),
                event_pk=row.event_pk,
                returns=fact.returns,
            )
            for row in rows
            if (fact := facts.get(row.event_pk)) is not None
        ]
        return GroupHistory(list(found.values()), ledger)

    def event_facts(self, org_id: int, user_id: int, pks: Iterable[int]) -> dict[int, EventFacts]:
        """The customer's stored events among ``pks``, as a re-anchoring reads them."""
        facts: dict[int, EventFacts] = {}
        for pk in pks:
            event = self.events.get(pk)
            if event is None or (event.org_id, event.user_id) != (org_id, user_id):
                continue
            returns = _returned_bill(event.payload) if event.event_name == RETURN_BILL else None
            facts[pk] = EventFacts(event.event_id, event.event_time, event.received_at, returns)
        return facts

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
            self._milestones.get(user_target.id, {}).pop(trigger_id, None)
        final = {
            (user_target.id, trigger_id): user_target.milestones[trigger_id]
            for user_target, trigger_id, _ in ws.milestones_added
            if trigger_id in user_target.milestones
        }
        for (user_target_id, trigger_id), achieved_at in final.items():
            held = self._milestones.setdefault(user_target_id, {})
            if trigger_id in held:
                raise UniqueViolation(f"{(user_target_id, trigger_id)!r} is already stored")
            held[trigger_id] = _instant(achieved_at)
        for key, anchor in ws.new_anchors.items():
            if key in self.anchors:
                raise UniqueViolation(f"{key!r} is already stored")
            self.anchors[key] = _instant(anchor)
            self._keyed_by_user.setdefault(key[1], []).append(key)
        for period_key in ws.group_achievements_removed:
            self.group_periods.pop(period_key, None)
        for period_key, achieved_at in ws.group_achievements_added.items():
            self.group_periods[period_key] = _instant(achieved_at)
        event_pks = self._insert_events(org_id, now, accepted)
        for entry in ws.ledger:
            event_pk = event_pks[entry.event_index] if entry.event_pk is None else entry.event_pk
            self._add_entry(event_pk, entry.user_target.id, _money(entry.amount), entry.kind)
        for item in accepted:
            if item.returns is not None:
                original, after = item.returns
                pk = self._event_pk.get((org_id, original.event_id))
                if pk is not None:
                    bill_row = self.events[pk]
                    returned, bill_row.returned_lines = stored_return_state(original, after)
                    bill_row.returned_amount = _money(returned)

    def keeps(self, event_pk: int, kind: str) -> bool:
        """Whether the ledger keeps this entry: every one here (see ``SimulationStore``)."""
        return True

    def _add_entry(self, event_pk: int, user_target_id: int, amount: Decimal, kind: str) -> None:
        if not self.keeps(event_pk, kind):
            return
        position = self._positions.get(event_pk, 0)
        self._positions[event_pk] = position + 1
        ledger_id = entry_id(event_pk, position)
        self.ledger[ledger_id] = LedgerRow(ledger_id, event_pk, user_target_id, amount, kind)
        self._ledger_of_event.setdefault(event_pk, []).append(ledger_id)
        self._ledger_of.setdefault(user_target_id, []).append(ledger_id)

    def _drop_entry(self, ledger_id: int) -> None:
        entry = self.ledger.pop(ledger_id, None)
        if entry is not None:
            self._ledger_of_event[entry.event_pk].remove(ledger_id)
            self._ledger_of[entry.user_target_id].remove(ledger_id)

    def _clear_relaid(self, ws: WorkingSet) -> None:
        for user_target_id in ws.reset:
            self._milestones.pop(user_target_id, None)
            self._days.pop(user_target_id, None)
        for user_target_id in ws.removed:
            row = self.user_target_rows.pop(user_target_id, None)
            if row is not None:
                self._of_customer[(row.org_id, row.user_id)].remove(user_target_id)
                del self._by_key[(row.target_id, row.period_id, row.user_id)]

    def _insert_user_targets(self, org_id: int, now: datetime, ws: WorkingSet) -> dict[int, int]:
        """Give the batch's new user targets their ids, in place, and store them."""
        new_ids: dict[int, int] = {}
        for user_target in ws.new_user_targets:
            new_id = next(self._user_target_ids)
            new_ids[user_target.id] = new_id
            user_target.id = new_id
            key = (user_target.target_id, user_target.period_id, user_target.user_id)
            if key in self._by_key:
                raise UniqueViolation(f"user target {key} is already stored")
            self._by_key[key] = new_id
            self._of_customer.setdefault((org_id, user_target.user_id), []).append(new_id)
            self.user_target_rows[new_id] = UserTargetRow(
                id=new_id,
                org_id=org_id,
                group_id=self._group_of_target[user_target.target_id],
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
                self._drop_entry(move.contribution_id)
            elif move.contribution_id in self.ledger:
                entry = self.ledger[move.contribution_id]
                if entry.user_target_id != move.to.id:
                    self._ledger_of[entry.user_target_id].remove(entry.id)
                    self._ledger_of.setdefault(move.to.id, []).append(entry.id)
                entry.user_target_id, entry.amount = move.to.id, _money(move.amount)

    def _save_days(self, ws: WorkingSet, new_ids: dict[int, int]) -> None:
        for (user_target_id, day_key), day in ws.days.items():
            if not day.dirty:
                continue
            held = self._days.setdefault(new_ids.get(user_target_id, user_target_id), {})
            value = (day.visited, None if day.max_value is None else _money(day.max_value))
            if day.is_new:
                if day_key in held:
                    raise UniqueViolation(f"{(user_target_id, day_key)!r} is already stored")
                held[day_key] = value
            elif day_key in held:  # an UPDATE of a missing row changes nothing
                held[day_key] = value

    def _insert_events(
        self, org_id: int, now: datetime, accepted: list[AcceptedEvent]
    ) -> dict[int, int]:
        pks: dict[int, int] = {}
        for item in accepted:
            event = item.event
            if (org_id, event.event_id) in self._event_pk:
                raise UniqueViolation(f"event {event.event_id} is already stored")
            pk = next(self._event_ids)
            self._event_pk[(org_id, event.event_id)] = pk
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


def _as_stored(payload: dict[str, object]) -> dict[str, object]:
    """The body as the JSON column gives it back (numbers as ints or Decimals)."""
    text = simplejson.dumps(payload, use_decimal=True)
    stored: dict[str, object] = simplejson.loads(text, use_decimal=True)
    return stored


def _returned_bill(payload: object) -> str | None:
    bill_return = payload.get("return") if isinstance(payload, dict) else None
    original = bill_return.get("originalEventId") if isinstance(bill_return, dict) else None
    return original if isinstance(original, str) else None
