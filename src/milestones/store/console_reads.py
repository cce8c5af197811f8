"""What the console reads beyond the API's reads: a group's figures, a customer's events.

The figures count user targets as they are stored (customers with any progress, those who
achieved, each trigger reached); they scan a group's user targets, which no index orders by
group, so they are for a person looking at one page, not for a hot path.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, and_, case, func, select

from milestones.domain.outcomes import ContributionKind
from milestones.store.ledger import unpack
from milestones.store.tables import events, user_group_periods, user_milestones, user_targets
from milestones.store.types import money_from_stored

MAX_EVENTS = 20


@dataclass(slots=True)
class PeriodFigures:
    """One period of a group: customers with progress, who achieved, per target and trigger."""

    with_progress: int = 0
    achieved: int = 0
    group_achieved: int = 0  # a UNIFIED or streak group achieved as a whole
    by_target: dict[int, tuple[int, int]] = field(default_factory=dict)  # (progress, achieved)
    by_trigger: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One entry of an event's ledger: what it moved, by how much."""

    user_target_id: int
    amount: Decimal
    kind: ContributionKind


@dataclass(frozen=True, slots=True)
class CustomerEvent:
    """A stored event of the customer and what it contributed."""

    id: int
    event_id: str
    event_name: str
    event_time: datetime
    received_at: datetime
    status: str
    bill_amount: Decimal | None
    contributions: list[Contribution]


def group_figures(
    connection: Connection, org_id: int, group_ids: Collection[int]
) -> dict[int, dict[int, PeriodFigures]]:
    """Per group of ``group_ids`` (of ``org_id``), per period id: its figures."""
    if not group_ids:
        return {}
    ut = user_targets
    wanted = and_(ut.c.org_id == org_id, ut.c.target_group_id.in_(sorted(group_ids)))
    progressed = ut.c.achieved_value > Decimal(0)
    achieved = ut.c.achieved_at.is_not(None)
    found: dict[int, dict[int, PeriodFigures]] = {group_id: {} for group_id in group_ids}

    def figures(group_id: int, period_id: int) -> PeriodFigures:
        return found[group_id].setdefault(period_id, PeriodFigures())

    customers = select(
        ut.c.target_group_id,
        ut.c.period_id,
        func.count(func.distinct(case((progressed, ut.c.user_id)))),
        func.count(func.distinct(case((achieved, ut.c.user_id)))),
    ).where(wanted)
    for group_id, period_id, with_progress, did in connection.execute(
        customers.group_by(ut.c.target_group_id, ut.c.period_id)
    ):
        entry = figures(group_id, period_id)
        entry.with_progress, entry.achieved = int(with_progress), int(did)
    per_target = select(
        ut.c.target_group_id,
        ut.c.period_id,
        ut.c.target_id,
        func.count(case((progressed, 1))),
        func.count(case((achieved, 1))),
    ).where(wanted)
    for group_id, period_id, target_id, with_progress, did in connection.execute(
        per_target.group_by(ut.c.target_group_id, ut.c.period_id, ut.c.target_id)
    ):
        figures(group_id, period_id).by_target[target_id] = (int(with_progress), int(did))
    triggers = (
        select(ut.c.target_group_id, ut.c.period_id, user_milestones.c.trigger_id, func.count())
        .select_from(user_milestones.join(ut, ut.c.id == user_milestones.c.user_target_id))
        .where(wanted)
        .group_by(ut.c.target_group_id, ut.c.period_id, user_milestones.c.trigger_id)
    )
    for group_id, period_id, trigger_id, count in connection.execute(triggers):
        figures(group_id, period_id).by_trigger[trigger_id] = int(count)
    ugp = user_group_periods
    whole = (
        select(ugp.c.target_group_id, ugp.c.period_id, func.count())
        .where(ugp.c.target_group_id.in_(sorted(group_ids)))
        .group_by(ugp.c.target_group_id, ugp.c.period_id)
    )
    for group_id, period_id, count in connection.execute(whole):
        figures(group_id, period_id).group_achieved = int(count)
    return found


def latest_events(
    connection: Connection, org_id: int, user_id: int, limit: int = MAX_EVENTS
) -> list[CustomerEvent]:
    """The customer's latest stored events (newest first), each with its ledger entries."""
    e = events
    rows = connection.execute(
        select(
            e.c.id,
            e.c.event_id,
            e.c.event_name,
            e.c.event_time,
            e.c.received_at,
            e.c.status,
            e.c.bill_amount,
            e.c.ledger,
        )
        .where(e.c.org_id == org_id, e.c.user_id == user_id)
        .order_by(e.c.id.desc())
        .limit(limit)
    )
    return [
        CustomerEvent(
            id=pk,
            event_id=event_id,
            event_name=name,
            event_time=event_time,
            received_at=received_at,
            status=status,
            bill_amount=bill,
            contributions=[
                Contribution(entry[0], money_from_stored(entry[1]), entry[2])
                for entry in unpack(ledger)
                if entry is not None
            ],
        )
        for pk, event_id, name, event_time, received_at, status, bill, ledger in rows
    ]
