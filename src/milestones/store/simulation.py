"""A simulation's storage (SPEC §16): a draft group held in memory, the stored events read.

:class:`SimulationStore` is what a backfill of the draft would run on
(:class:`milestones.store.replay.ReplayStore`), with everything it would write kept in
memory instead (:class:`milestones.store.memory.MemoryEngineStore`), so that the engine's
own path gives the numbers that creating the group and backfilling it would, and the
database is only read:

- the catalogue is the draft alone, its ids given in memory (:func:`held_in_memory`),
  so nothing read from the database is keyed by them: no enrolments (a new group has
  none), anchors, group achievements or streak care records are read;
- what the customers bring from the database is read as the engine's store reads it:
  audience memberships, custom fields and, for groups cut per customer, zone histories;
- no event is a duplicate and none is stored; each event's contributions are kept under
  its stored id, where a return, a CAPPING return or a re-anchoring finds them, and a
  returned bill is read from its stored row, as it stood just before the return being
  applied (the caller works that out, as a backfill does), with what it brought here;
- the ledger keeps only what the engine can read again (:meth:`SimulationStore.keeps`):
  a CYCLIC group's every entry (a re-anchoring replays them), CAPPING's EXCESS entries,
  and what the bills that some stored return returns brought (:func:`returned_bills`).
  The rest (in most programmes nearly all) is never read: a million events in range
  hold the customers' user targets in memory, not a million ledger entries;
- notifications are counted, not written.

The events read are the org's stored ones inside the range and the group's dates (as a
backfill reads them: returns after the group's end too), up to the last one stored when
the simulation was asked for, in the order they were stored.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import simplejson
from sqlalchemy import ColumnElement, Connection, func, select

from milestones.domain.events import EventPrint
from milestones.domain.notifications import Notice
from milestones.domain.outcomes import ContributionKind
from milestones.domain.periods import EvaluationType
from milestones.domain.returns import ReturnState
from milestones.domain.simulation import SimulationRange
from milestones.domain.target_groups import (
    GROUP_ID_PLACEHOLDER,
    Audit,
    DefaultValue,
    GroupDraft,
    MilestoneTrigger,
    Period,
    StreakLevel,
    Target,
    TargetGroup,
)
from milestones.engine.ingest import AcceptedEvent, LoadScope
from milestones.engine.returns import OriginalBill
from milestones.engine.working_set import CustomerState, WorkingSet
from milestones.store.bulk import BulkSql, Read
from milestones.store.customers import batch_zones_of, batch_zones_read
from milestones.store.database import json_value
from milestones.store.engine import SqlEngineStore
from milestones.store.memory import EventFacts, MemoryEngineStore
from milestones.store.replay import StoredEvent, inside_dates, stored_event
from milestones.store.tables import events

MILLI = Decimal("0.001")
_CHUNK = 500


def held_in_memory(draft: GroupDraft, client_id: int, now: datetime) -> TargetGroup:
    """The group ``draft`` would be once stored and read back (instants in UTC, money to 3
    places, JSON as the column gives it back), with ids given in memory from 1."""
    audit = Audit(now.astimezone(UTC), client_id, now.astimezone(UTC), client_id)
    group_id = 1
    periods = [
        Period(
            id=position,
            position=position,
            window=replace(
                period.window,
                ref_code=period.window.ref_code.replace(GROUP_ID_PLACEHOLDER, str(group_id)),
                starts_at=period.window.starts_at.astimezone(UTC),
                ends_at=period.window.ends_at.astimezone(UTC),
            ),
            description=period.description,
            active=period.active,
            audit=audit,
        )
        for position, period in enumerate(draft.periods, start=1)
    ]
    value_ids, trigger_ids = iter(range(1, 10**9)), iter(range(1, 10**9))
    targets = [
        Target(
            id=position,
            group_id=group_id,
            position=position,
            name=target.name,
            description=target.description,
            active=target.active,
            entity=target.entity,
            target_type=target.target_type,
            event_name=target.event_name,
            expression=target.expression,
            expression_json=target.expression_json,
            filters=_as_stored(target.filters),
            enrolment_method=target.enrolment_method,
            audience_filter=_as_stored(target.audience_filter),
            extended_field_info=_as_stored(target.extended_field_info),
            alternate_currency_identifier=target.alternate_currency_identifier,
            program_id=target.program_id,
            default_values=[
                DefaultValue(next(value_ids), period.id, value.quantize(MILLI))
                for period, value in zip(periods, target.default_values, strict=True)
            ],
            triggers=[
                MilestoneTrigger(
                    next(trigger_ids),
                    trigger.name,
                    trigger.trigger_type,
                    trigger.value_type,
                    trigger.value.quantize(MILLI),
                    trigger.is_active,
                )
                for trigger in target.triggers
            ],
            audit=audit,
        )
        for position, target in enumerate(draft.targets, start=1)
    ]
    levels = sorted(draft.streaks, key=lambda level: level[1])
    return TargetGroup(
        id=group_id,
        org_id=draft.org_id,
        name=draft.name,
        description=draft.description,
        active=draft.active,
        preferred_till_id=draft.preferred_till_id,
        tracking_type=draft.tracking_type,
        evaluation_type=draft.evaluation_type,
        frequency_type=draft.frequency_type,
        frequency=draft.frequency,
        total_periods=draft.total_periods,
        recurring_cycles=draft.recurring_cycles,
        cycle_start=None if draft.cycle_start is None else draft.cycle_start.astimezone(UTC),
        cycle_end=None if draft.cycle_end is None else draft.cycle_end.astimezone(UTC),
        time_zone=draft.time_zone,
        combination_type=draft.combination_type,
        unified_aggregation=draft.unified_aggregation,
        unified_threshold=None
        if draft.unified_threshold is None
        else draft.unified_threshold.quantize(MILLI),
        leaderboard_enabled=draft.leaderboard_enabled,
        user_created=draft.user_created,
        audit=audit,
        periods=periods,
        targets=targets,
        streaks=[
            StreakLevel(index, name, count, audit)
            for index, (name, count) in enumerate(levels, start=1)
        ],
        care=draft.care,
    )


def _as_stored(value: Any) -> Any:
    """A JSON column's value as it is read back."""
    return None if value is None else json_value(simplejson.dumps(value, use_decimal=True))


# --- The events a simulation reads ------------------------------------------------------


def returned_bills(connection: Connection, org_id: int, upto_pk: int) -> set[str]:
    """The eventIds of the bills the org's stored returns (up to ``upto_pk``) return."""
    rows = connection.execute(
        select(events.c.payload).where(
            events.c.org_id == org_id,
            events.c.event_name == "ReturnBill",
            events.c.id <= upto_pk,
        )
    )
    found = {_returned_bill(_payload(payload)) for (payload,) in rows}
    return {event_id for event_id in found if event_id is not None}


def events_in_range(
    connection: Connection,
    group: TargetGroup,
    asked: SimulationRange,
    after_pk: int,
    upto_pk: int,
    limit: int,
) -> list[StoredEvent]:
    """Up to ``limit`` of the events a simulation of ``group`` over ``asked`` reads, after
    ``after_pk`` and up to ``upto_pk``, in the order they were stored."""
    columns = (events.c.id, events.c.event_name, events.c.user_id, events.c.payload)
    query = select(*columns).where(*_in_range(group, asked, after_pk, upto_pk))
    rows = connection.execute(query.order_by(events.c.id).limit(limit)).all()
    return [stored_event(*row) for row in rows]


def count_in_range(
    connection: Connection, group: TargetGroup, asked: SimulationRange, upto_pk: int
) -> int:
    """How many stored events a simulation of ``group`` over ``asked`` reads."""
    query = select(func.count()).select_from(events)
    query = query.where(*_in_range(group, asked, 0, upto_pk))
    return int(connection.execute(query).scalar_one())


def _in_range(
    group: TargetGroup, asked: SimulationRange, after_pk: int, upto_pk: int
) -> list[ColumnElement[bool]]:
    """The org's events in the range asked and the group's dates as a backfill reads them
    (:func:`milestones.store.replay.inside_dates`), between the two ids."""
    return [
        # ``+ 0``: read along the primary key, from ``after_pk``, not the org's index (which
        # SQLite prefers, then sorts all the org's events by id for every chunk).
        events.c.org_id + 0 == group.org_id,
        events.c.id > after_pk,
        events.c.id <= upto_pk,
        events.c.event_time >= asked.starts_at,
        events.c.event_time < asked.ends_at,
        *inside_dates(group),
    ]


def _payload(value: object) -> dict[str, Any]:
    if isinstance(value, str):
        value = json_value(value)
    return value if isinstance(value, dict) else {}


# --- The store --------------------------------------------------------------------------


class SimulationStore(MemoryEngineStore):
    """The engine's store for a simulation of ``group``: reads the connection it is given
    (:meth:`use`), writes nothing to it. ``pks`` are the stored ids of the events of the
    current :func:`ingest` call."""

    _db: Connection
    _bulk: BulkSql

    def __init__(self, group: TargetGroup) -> None:
        super().__init__()
        self.group = group
        self.put_group(group)
        self.pks: list[int] = []
        # Of the bill the call's return returns: its state before that return.
        self.bill_states: dict[str, ReturnState] = {}
        self.zones: dict[int, list[tuple[datetime, str | None]]] = {}  # the customers' read
        # The stored ids of the events applied whose eventId some stored return returns.
        self.returned: set[int] = set()
        self._every_entry = group.evaluation_type is EvaluationType.CYCLIC_WINDOW
        self.notified = 0

    def use(self, connection: Connection) -> None:
        """Read ``connection`` from now on (a job reads each chunk in a transaction of its own)."""
        self._db = connection
        self._bulk = BulkSql(connection)

    def keeps(self, event_pk: int, kind: str) -> bool:
        return self._every_entry or kind == ContributionKind.EXCESS or event_pk in self.returned

    def lock_customers(self, org_id: int, user_ids: Sequence[int]) -> None:
        """Nothing is written: nothing to serialise."""

    def known_events(self, org_id: int, event_ids: Collection[str]) -> dict[str, EventPrint]:
        return {}

    def catalogue_signature(self, org_id: int) -> Hashable:
        return ("simulation", self.group.id)

    def load_customers(
        self, org_id: int, user_ids: Sequence[int], scope: LoadScope
    ) -> CustomerState:
        state = super().load_customers(org_id, user_ids, scope)
        for start in range(0, len(user_ids), _CHUNK):
            chunk = list(user_ids[start : start + _CHUNK])
            reads = [
                Read(
                    "SELECT audience_group_id, user_id FROM audience_members WHERE user_id {among}",
                    (),
                    chunk,
                ),
                Read(
                    "SELECT user_id, CAST(custom_fields AS TEXT) FROM customers"
                    " WHERE org_id = ? AND user_id {among}",
                    (org_id,),
                    chunk,
                ),
            ]
            if scope.zone_histories:
                reads.append(batch_zones_read(org_id, chunk))
            found = self._bulk.read_all(reads)
            state.memberships.update((row[0], row[1]) for row in found[0])
            state.custom_fields.update((row[0], dict(json_value(row[1]))) for row in found[1])
            if scope.zone_histories:
                batch_zones_of(self._bulk, found[2], state.zones)
        self.zones.update(state.zones)
        return state

    def original_bill(self, org_id: int, event_id: str) -> OriginalBill | None:
        bill = SqlEngineStore(self._db).original_bill(org_id, event_id)
        if bill is None or bill.pk is None:
            return None
        return replace(
            bill,
            state=self.bill_states.get(event_id, ReturnState.fresh(len(bill.lines))),
            contributions=self.brought_by(bill.pk),
        )

    def event_facts(self, org_id: int, user_id: int, pks: Iterable[int]) -> dict[int, EventFacts]:
        facts: dict[int, EventFacts] = {}
        wanted = sorted(pks)
        for start in range(0, len(wanted), _CHUNK):
            for pk, event_id, name, at, received, payload in self._bulk.select(
                "SELECT id, event_id, event_name, event_time, received_at, CAST(payload AS TEXT)"
                " FROM events WHERE org_id = ? AND user_id = ? AND id {among}",
                (org_id, user_id),
                among=wanted[start : start + _CHUNK],
            ):
                returns = _returned_bill(json_value(payload)) if name == "ReturnBill" else None
                facts[pk] = EventFacts(
                    event_id, self._bulk.instant_of(at), self._bulk.instant_of(received), returns
                )
        return facts

    def save(
        self, org_id: int, now: datetime, accepted: list[AcceptedEvent], ws: WorkingSet
    ) -> None:
        """The group's progress in memory; each event's entries under its stored id."""
        for entry in ws.ledger:
            if entry.event_pk is None:
                entry.event_pk = self.pks[entry.event_index]
        super().save(org_id, now, [], ws)

    def notify(self, org_id: int, now: datetime, notices: Sequence[Notice]) -> None:
        self.notified += len(notices)


def _returned_bill(payload: object) -> str | None:
    back = payload.get("return") if isinstance(payload, dict) else None
    original = back.get("originalEventId") if isinstance(back, dict) else None
    return original if isinstance(original, str) else None
