"""The SQL of the user view: one customer's progress, enrolments, audiences and profile.

Every view reads the same few statements for one customer, so they go straight to the
driver (:class:`~milestones.store.bulk.BulkSql`): each stored value is converted once by
the column types' own rules, without SQLAlchemy's per-row result processing.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from milestones.domain.enrolment import EnrolmentRecord
from milestones.domain.progress import UserTarget
from milestones.store.bulk import BulkSql, Read, optional_money_of
from milestones.store.customers import (
    Customer,
    ZoneHistories,
    customer_of,
    customer_read,
    zones_of,
    zones_read,
)
from milestones.store.engine import signature_of, signature_read
from milestones.store.user_targets import USER_TARGET_READ, USER_TARGET_WIDTH, user_target_read


@dataclass(slots=True)
class Standing:
    """Everything stored about one customer's progress in the orgs of a data scope."""

    user_targets: list[UserTarget] = field(default_factory=list)
    anchors: dict[int, datetime] = field(default_factory=dict)
    enrolments: list[EnrolmentRecord] = field(default_factory=list)
    audiences: set[int] = field(default_factory=set)
    group_achievements: dict[tuple[int, int], datetime] = field(default_factory=dict)
    customer: Customer | None = None
    zones: ZoneHistories = field(default_factory=dict)  # per org, the zone history
    # The catalogue signatures asked for with the standing, read in the same snapshot.
    signatures: dict[int, Hashable] = field(default_factory=dict)


_PROGRESS = (
    "SELECT "
    + ", ".join(f"ut.{column.strip()}" for column in USER_TARGET_READ.split(","))
    + ", um.trigger_id, um.achieved_at FROM user_targets ut"
    " LEFT JOIN user_milestones um ON um.user_target_id = ut.id"
    " WHERE ut.user_id = ? AND ut.org_id {among}"
)
_GROUP_ACHIEVEMENTS = (
    "SELECT target_group_id, period_id, achieved_at FROM user_group_periods WHERE user_id = ?"
)
_ANCHORS = (
    "SELECT target_group_id, anchor_at FROM user_cycles"
    " WHERE user_id = ? AND target_group_id {among}"
)
_ENROLMENTS = (
    "SELECT target_id, period_id, target_value, initial_value, reset_streak, enrolled_at"
    " FROM enrolments WHERE user_id = ? AND org_id {among}"
)
_AUDIENCES = (
    "SELECT audience_group_id FROM audience_members WHERE user_id = ? AND audience_group_id {among}"
)


class UserViewRepository:
    """Reads one customer's standing and profile: a handful of indexed queries, whatever the
    group count, sent together (one round trip on PostgreSQL)."""

    def __init__(self, connection: Connection) -> None:
        self._bulk = BulkSql(connection)

    def standing(
        self,
        org_ids: Sequence[int],
        user_id: int,
        cyclic_group_ids: Collection[int],
        audience_ids: Collection[int],
        whole_target_ids: Collection[int],
        signature_orgs: Sequence[int] = (),
    ) -> Standing:
        """User targets (with their triggers reached), cycle anchors, enrolments, audiences,
        the customer and their zone history; and, when a unified or streak group is in scope
        (``whole_target_ids``, their targets), when such groups were achieved as a whole.

        ``signature_orgs``: orgs whose catalogue signature is read with the rest (in the
        same round trip), for a caller that chose the keys from catalogues read earlier."""
        bulk = self._bulk
        reads = {
            "progress": Read(_PROGRESS, (user_id,), org_ids),
            "enrolments": Read(_ENROLMENTS, (user_id,), org_ids),
            "customer": customer_read(org_ids, user_id),
            "zones": zones_read(org_ids, user_id),
        }
        if whole_target_ids:
            reads["wholes"] = Read(_GROUP_ACHIEVEMENTS, (user_id,))
        if cyclic_group_ids:
            reads["anchors"] = Read(_ANCHORS, (user_id,), sorted(cyclic_group_ids))
        if audience_ids:
            reads["audiences"] = Read(_AUDIENCES, (user_id,), sorted(audience_ids))
        signatures = [signature_read(org_id) for org_id in signature_orgs]
        rows = bulk.read_all([*signatures, *reads.values()])
        found = dict(zip(reads, rows[len(signatures) :], strict=True))
        standing = Standing()
        standing.signatures = {
            org_id: signature_of(found_rows)
            for org_id, found_rows in zip(signature_orgs, rows[: len(signatures)], strict=True)
        }
        by_id: dict[int, UserTarget] = {}
        for row in found["progress"]:
            user_target = by_id.get(row[0])
            if user_target is None:
                user_target = by_id[row[0]] = user_target_read(bulk, row)
            trigger_id = row[USER_TARGET_WIDTH]
            if trigger_id is not None:
                user_target.milestones[trigger_id] = bulk.instant_of(row[USER_TARGET_WIDTH + 1])
        standing.user_targets = list(by_id.values())
        standing.group_achievements = {
            (group_id, period_id): bulk.instant_of(at)
            for group_id, period_id, at in found.get("wholes", ())
        }
        standing.anchors = {
            group_id: bulk.instant_of(at) for group_id, at in found.get("anchors", ())
        }
        standing.enrolments = [
            EnrolmentRecord(
                target_id=target_id,
                user_id=user_id,
                period_id=period_id or None,
                target_value=optional_money_of(target_value),
                initial_value=optional_money_of(initial_value),
                reset_streak=bool(reset_streak),
                enrolled_at=bulk.instant_of(enrolled_at),
            )
            for target_id, period_id, target_value, initial_value, reset_streak, enrolled_at in (
                found["enrolments"]
            )
        ]
        standing.audiences = {row[0] for row in found.get("audiences", ())}
        standing.zones = zones_of(bulk, found["zones"])
        standing.customer = customer_of(bulk, found["customer"], org_ids, user_id, standing.zones)
        return standing
