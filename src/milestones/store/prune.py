"""Pruning stored events (``milestones events prune``, SPEC §16): what may go, and its record.

Events go by ``eventTime``: the instant a group's dates are compared with. An org's events
stamped before an instant may go when none of its groups still needs them
(:func:`milestones.domain.history.group_needs_events_before`: active, not ended, dates
reaching back before it) and no backfill or rebuild of a group reaching back before it
is queued or running. Each prune of an org is recorded in ``event_prunes`` before its
first event goes, so a later backfill or rebuild of a group whose dates reach back
before it is refused (:func:`pruned_before`) rather than run on half its history.

What each event brought stays where it was counted: user targets, milestones, CAPPING
excess rows, notifications. The ledger packed in the event goes with it, so a return of
a pruned bill is refused (no bill to return). What the events said of each customer's
purchases (the net billed, the first and last received) is carried into
``pruned_purchases`` by the statement that deletes them, so ``lifetimePurchases`` and the
customer's dates do not move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, delete, func, insert, select, update

from milestones.domain.events import TRANSACTION_ADD
from milestones.domain.history import dates_start, group_needs_events_before
from milestones.domain.jobs import JobStatus, JobType
from milestones.domain.target_groups import TargetGroup
from milestones.store.customers import CarriedPurchases, carry_purchases
from milestones.store.tables import event_prunes, events, jobs, orgs, target_groups
from milestones.store.target_groups import TargetGroupRepository

_HISTORY_JOBS = (JobType.BACKFILL.value, JobType.REBUILD.value)
_OPEN = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Blocker:
    """A group that still needs the events a prune would delete, and why."""

    group: TargetGroup
    reason: str


def org_ids(connection: Connection, only: int | None = None) -> list[int]:
    """Every org's id (or ``only``, if it exists), in order."""
    query = select(orgs.c.id).order_by(orgs.c.id)
    if only is not None:
        query = query.where(orgs.c.id == only)
    return [int(row[0]) for row in connection.execute(query)]


def blockers(connection: Connection, org_id: int, before: datetime, now: datetime) -> list[Blocker]:
    """The org's groups that still need its events stamped before ``before``."""
    ids = [
        int(row[0])
        for row in connection.execute(
            select(target_groups.c.id)
            .where(target_groups.c.org_id == org_id)
            .order_by(target_groups.c.id)
        )
    ]
    with_jobs = {
        int(row[0])
        for row in connection.execute(
            select(jobs.c.target_group_id).where(
                jobs.c.org_id == org_id,
                jobs.c.type.in_(_HISTORY_JOBS),
                jobs.c.status.in_(_OPEN),
            )
        )
        if row[0] is not None
    }
    found: list[Blocker] = []
    for group in TargetGroupRepository(connection).load(ids):
        start = dates_start(group)
        reaches_back = start is None or start < before
        if group_needs_events_before(group, before, now):
            found.append(Blocker(group, "running"))
        elif group.id in with_jobs and reaches_back:
            found.append(Blocker(group, "a backfill or rebuild is queued or running"))
    return found


def count_before(connection: Connection, org_id: int, before: datetime) -> int:
    """How many of the org's events are stamped before ``before``."""
    return int(
        connection.execute(
            select(func.count())
            .select_from(events)
            .where(events.c.org_id == org_id, events.c.event_time < before)
        ).scalar_one()
    )


def start_prune(connection: Connection, org_id: int, before: datetime, now: datetime) -> int:
    """Record a prune of the org (before any event goes); its id."""
    return int(
        connection.execute(
            insert(event_prunes)
            .values(org_id=org_id, before=before, events=0, pruned_at=now)
            .returning(event_prunes.c.id)
        ).scalar_one()
    )


def prunable(
    connection: Connection, org_id: int, before: datetime, after_pk: int, limit: int
) -> list[int]:
    """Up to ``limit`` ids of the org's events stamped before ``before``, above ``after_pk``,
    in id order (walked so from chunk to chunk: one pass over the table in all). A read:
    on SQLite it takes no write lock while it scans."""
    return [
        int(row[0])
        for row in connection.execute(
            select(events.c.id)
            .where(events.c.org_id == org_id, events.c.id > after_pk, events.c.event_time < before)
            .order_by(events.c.id)
            .limit(limit)
        )
    ]


def delete_events(
    connection: Connection, prune_id: int, org_id: int, before: datetime, pks: list[int]
) -> int:
    """Delete those of ``pks`` still stamped before ``before``, counted on the prune's record."""
    gone = connection.execute(
        delete(events)
        .where(events.c.org_id == org_id, events.c.id.in_(pks), events.c.event_time < before)
        .returning(
            events.c.user_id,
            events.c.event_name,
            events.c.bill_amount,
            events.c.returned_amount,
            events.c.received_at,
        )
    ).all()
    # What was deleted, as the statement answers it: a concurrent prune of the same events
    # deletes (and carries) each of them once.
    carried: dict[int, CarriedPurchases] = {}
    for user_id, name, billed, returned, received_at in gone:
        net = billed - returned if name == TRANSACTION_ADD and billed is not None else _ZERO
        found = carried.get(user_id)
        carried[user_id] = (
            CarriedPurchases(net, received_at, received_at)
            if found is None
            else found.plus(net, received_at)
        )
    carry_purchases(connection, org_id, carried)
    connection.execute(
        update(event_prunes)
        .where(event_prunes.c.id == prune_id)
        .values(events=event_prunes.c.events + len(gone))
    )
    return len(gone)


def pruned_before(connection: Connection, org_id: int) -> datetime | None:
    """The latest instant before which the org's events were pruned (None: never)."""
    value = connection.execute(
        select(func.max(event_prunes.c.before)).where(event_prunes.c.org_id == org_id)
    ).scalar_one()
    return value if isinstance(value, datetime) else None
