"""The SQL of the user view: one customer's progress, enrolments and audiences, a query each.

Every view reads the same few statements for one customer, so they go straight to the
driver (:class:`~milestones.store.bulk.BulkSql`): each stored value is converted once by
the column types' own rules, without SQLAlchemy's per-row result processing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from milestones.domain.enrolment import EnrolmentRecord
from milestones.domain.progress import UserTarget
from milestones.store.bulk import BulkSql, optional_money_of
from milestones.store.user_targets import USER_TARGET_READ, USER_TARGET_WIDTH, user_target_read


@dataclass(slots=True)
class Standing:
    """Everything stored about one customer's progress in the orgs of a data scope."""

    user_targets: list[UserTarget] = field(default_factory=list)
    anchors: dict[int, datetime] = field(default_factory=dict)
    enrolments: list[EnrolmentRecord] = field(default_factory=list)
    audiences: set[int] = field(default_factory=set)
    group_achievements: dict[tuple[int, int], datetime] = field(default_factory=dict)


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
    """Reads one customer's standing; at most five indexed queries, whatever the group count."""

    def __init__(self, connection: Connection) -> None:
        self._bulk = BulkSql(connection)

    def standing(
        self,
        org_ids: Sequence[int],
        user_id: int,
        cyclic_group_ids: Collection[int],
        audience_ids: Collection[int],
        whole_target_ids: Collection[int] | None = None,
    ) -> Standing:
        """User targets (with their triggers reached), cycle anchors, enrolments, audiences.

        When a group is achieved as a whole is read only if the customer has achieved one of
        ``whole_target_ids`` (the targets of unified and streak groups; ``None``: always):
        a group's period is never achieved as a whole without an achieved target.
        """
        bulk = self._bulk
        standing = Standing()
        by_id: dict[int, UserTarget] = {}
        for row in bulk.select(_PROGRESS, (user_id,), among=org_ids):
            user_target = by_id.get(row[0])
            if user_target is None:
                user_target = by_id[row[0]] = user_target_read(bulk, row)
            trigger_id = row[USER_TARGET_WIDTH]
            if trigger_id is not None:
                user_target.milestones[trigger_id] = bulk.instant_of(row[USER_TARGET_WIDTH + 1])
        standing.user_targets = list(by_id.values())
        if whole_target_ids is None or any(
            ut.achieved_at is not None and ut.target_id in whole_target_ids
            for ut in standing.user_targets
        ):
            rows = bulk.rows(_GROUP_ACHIEVEMENTS, (user_id,))
            standing.group_achievements = {(g, p): bulk.instant_of(at) for g, p, at in rows}
        if cyclic_group_ids:
            rows = bulk.select(_ANCHORS, (user_id,), among=sorted(cyclic_group_ids))
            standing.anchors = {group_id: bulk.instant_of(at) for group_id, at in rows}
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
                bulk.select(_ENROLMENTS, (user_id,), among=org_ids)
            )
        ]
        if audience_ids:
            rows = bulk.select(_AUDIENCES, (user_id,), among=sorted(audience_ids))
            standing.audiences = {row[0] for row in rows}
        return standing
