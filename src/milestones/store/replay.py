"""A backfill's storage (SPEC §16): stored events applied again, to one group alone.

:class:`ReplayStore` is the engine's store with four differences, so the engine's own
path (:func:`milestones.engine.ingest.ingest`) applies stored events to a group created
after them:

- its catalogue is the one group: no other group's targets listen, so no other group's
  progress can move;
- no event is a duplicate (they are all stored: that is the point) and none is stored
  again: what each contributes to the group is appended to its stored ledger, where
  returns, CAPPING excess and re-anchorings will find it as if it had been there;
- a returned bill is seen as it stood just before the return being applied (the
  stored bill has every later return in its state already), with only what it brought
  to this group;
- notifications are ``replayed``.

:func:`events_to_replay` reads the events to apply: the org's stored events received
before the group was created (those received since met the group live), inside its
dates (:func:`inside_dates`), in the order they were stored.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, or_, select

from milestones.domain.events import RETURN_BILL, EventPrint
from milestones.domain.history import dates_end, dates_start
from milestones.domain.returns import ReturnState
from milestones.domain.target_groups import TargetGroup
from milestones.engine.ingest import AcceptedEvent
from milestones.engine.returns import OriginalBill
from milestones.engine.working_set import WorkingSet
from milestones.store.database import json_value
from milestones.store.engine import SqlEngineStore
from milestones.store.tables import events, user_targets


@dataclass(frozen=True, slots=True)
class StoredEvent:
    pk: int
    event_name: str
    user_id: int
    payload: dict[str, Any]

    @property
    def returned_bill(self) -> str | None:
        """The eventId of the bill a ReturnBill returns."""
        back = self.payload.get("return")
        original = back.get("originalEventId") if isinstance(back, dict) else None
        return original if isinstance(original, str) else None


def events_to_replay(
    connection: Connection, group: TargetGroup, after_pk: int, limit: int
) -> list[StoredEvent]:
    """Up to ``limit`` of the events a backfill of ``group`` applies, after ``after_pk``."""
    columns = (events.c.id, events.c.event_name, events.c.user_id, events.c.payload)
    query = select(*columns).where(*_replayed(group, after_pk))
    rows = connection.execute(query.order_by(events.c.id).limit(limit)).all()
    return [stored_event(*row) for row in rows]


def stored_event(pk: Any, name: Any, user_id: Any, payload: Any) -> StoredEvent:
    """A row of (id, event_name, user_id, payload) of ``events``."""
    return StoredEvent(int(pk), str(name), int(user_id), _payload(payload))


def count_to_replay(connection: Connection, group: TargetGroup, after_pk: int) -> int:
    """How many events a backfill of ``group`` applies after ``after_pk``."""
    query = select(func.count()).select_from(events).where(*_replayed(group, after_pk))
    return int(connection.execute(query).scalar_one())


def last_event_id(connection: Connection, org_id: int) -> int:
    """The id of the org's last stored event (0: none)."""
    query = select(func.max(events.c.id)).where(events.c.org_id == org_id)
    return int(connection.execute(query).scalar_one() or 0)


def _replayed(group: TargetGroup, after_pk: int) -> list[ColumnElement[bool]]:
    """Received before the group was made, inside its dates, after ``after_pk``."""
    return [
        # ``+ 0``: read along the primary key, from ``after_pk``, not the org's index (which
        # SQLite prefers, then sorts all the org's events by id for every chunk).
        events.c.org_id + 0 == group.org_id,
        events.c.id > after_pk,
        events.c.received_at < group.audit.created_at,
        *inside_dates(group),
    ]


def inside_dates(group: TargetGroup) -> list[ColumnElement[bool]]:
    """Events the group's dates reach (:mod:`milestones.domain.history`): ``eventTime``
    from its start to its end, and returns after its end too."""
    where: list[ColumnElement[bool]] = []
    start, end = dates_start(group), dates_end(group)
    if start is not None:
        where.append(events.c.event_time >= start)
    if end is not None:
        where.append(or_(events.c.event_time < end, events.c.event_name == RETURN_BILL))
    return where


def returns_before(
    connection: Connection, org_id: int, user_id: int, bill_event_id: str, before_pk: int
) -> list[StoredEvent]:
    """The customer's stored returns of a bill, stored before ``before_pk``, in order."""
    rows = connection.execute(
        select(events.c.id, events.c.event_name, events.c.user_id, events.c.payload)
        .where(
            events.c.org_id == org_id,
            events.c.user_id == user_id,
            events.c.event_name == "ReturnBill",
            events.c.id < before_pk,
        )
        .order_by(events.c.id)
    ).all()
    found = [
        StoredEvent(int(pk), str(name), int(user), _payload(payload))
        for pk, name, user, payload in rows
    ]
    return [event for event in found if event.returned_bill == bill_event_id]


class ReplayStore(SqlEngineStore):
    """The engine's store for a backfill of ``group``; ``pks`` are the stored ids of the
    events of the current :func:`ingest` call, in its order."""

    def __init__(self, connection: Connection, group: TargetGroup, pks: list[int]) -> None:
        super().__init__(connection, replayed=True)
        self.group = group
        self.pks = pks
        # Of the bill the call's return returns: its state before that return, worked out
        # by the caller from the bill's earlier returns.
        self.bill_states: dict[str, ReturnState] = {}

    def known_events(self, org_id: int, event_ids: Collection[str]) -> dict[str, EventPrint]:
        return {}

    def catalogue_signature(self, org_id: int) -> Hashable:
        return ("backfill", self.group.id, super().catalogue_signature(org_id))

    def load_groups(self, org_id: int) -> list[TargetGroup]:
        return [self.group]

    def original_bill(self, org_id: int, event_id: str) -> OriginalBill | None:
        bill = super().original_bill(org_id, event_id)
        if bill is None:
            return None
        ours = self._of_group({ut for ut, _ in bill.contributions})
        return replace(
            bill,
            state=self.bill_states.get(event_id, ReturnState.fresh(len(bill.lines))),
            contributions=[(ut, amount) for ut, amount in bill.contributions if ut in ours],
        )

    def save(
        self, org_id: int, now: datetime, accepted: list[AcceptedEvent], ws: WorkingSet
    ) -> None:
        """The group's progress, and each event's new ledger entries appended to its own."""
        for entry in ws.ledger:
            if entry.event_pk is None:
                entry.event_pk = self.pks[entry.event_index]
        super().save(org_id, now, [], ws)

    def _of_group(self, user_target_ids: set[int]) -> set[int]:
        if not user_target_ids:
            return set()
        rows = self._db.execute(
            select(user_targets.c.id).where(
                user_targets.c.id.in_(sorted(user_target_ids)),
                user_targets.c.target_group_id == self.group.id,
            )
        ).all()
        return {int(row[0]) for row in rows}


def _payload(value: object) -> dict[str, Any]:
    if isinstance(value, str):
        value = json_value(value)
    return value if isinstance(value, dict) else {}
