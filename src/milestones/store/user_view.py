"""The SQL of the user view: one customer's progress, enrolments and audiences, a query each."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import BindParameter, Connection, bindparam, select

from milestones.domain.enrolment import EnrolmentRecord
from milestones.domain.progress import UserTarget
from milestones.store.enrolments import enrolment_record
from milestones.store.tables import (
    audience_members,
    enrolments,
    user_cycles,
    user_group_periods,
    user_milestones,
    user_targets,
)
from milestones.store.user_targets import user_target_of


@dataclass(slots=True)
class Standing:
    """Everything stored about one customer's progress in the orgs of a data scope."""

    user_targets: list[UserTarget] = field(default_factory=list)
    anchors: dict[int, datetime] = field(default_factory=dict)
    enrolments: list[EnrolmentRecord] = field(default_factory=list)
    audiences: set[int] = field(default_factory=set)
    group_achievements: dict[tuple[int, int], datetime] = field(default_factory=dict)


# Built once: each view only binds the customer and the orgs (no statement building per call).
_ORG_IDS: BindParameter[list[int]] = bindparam("org_ids", expanding=True)
_USER_ID: BindParameter[int] = bindparam("user_id")
_PROGRESS = (
    select(
        user_targets,
        user_milestones.c.trigger_id.label("reached_trigger_id"),
        user_milestones.c.achieved_at.label("reached_at"),
    )
    .select_from(
        user_targets.outerjoin(
            user_milestones, user_milestones.c.user_target_id == user_targets.c.id
        )
    )
    .where(user_targets.c.org_id.in_(_ORG_IDS), user_targets.c.user_id == _USER_ID)
)
_GROUP_ACHIEVEMENTS = select(
    user_group_periods.c.target_group_id,
    user_group_periods.c.period_id,
    user_group_periods.c.achieved_at,
).where(user_group_periods.c.user_id == _USER_ID)
_ANCHORS = select(user_cycles.c.target_group_id, user_cycles.c.anchor_at).where(
    user_cycles.c.target_group_id.in_(bindparam("group_ids", expanding=True)),
    user_cycles.c.user_id == _USER_ID,
)
_ENROLMENTS = select(enrolments).where(
    enrolments.c.org_id.in_(_ORG_IDS), enrolments.c.user_id == _USER_ID
)
_AUDIENCES = select(audience_members.c.audience_group_id).where(
    audience_members.c.user_id == _USER_ID,
    audience_members.c.audience_group_id.in_(bindparam("audience_ids", expanding=True)),
)


class UserViewRepository:
    """Reads one customer's standing; at most five indexed queries, whatever the group count."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

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
        standing = Standing()
        scope = {"org_ids": list(org_ids), "user_id": user_id}
        by_id: dict[int, UserTarget] = {}
        for row in self._db.execute(_PROGRESS, scope).mappings():
            user_target = by_id.get(row["id"])
            if user_target is None:
                user_target = by_id[row["id"]] = user_target_of(row)
            if row["reached_trigger_id"] is not None:
                user_target.milestones[row["reached_trigger_id"]] = row["reached_at"]
        standing.user_targets = list(by_id.values())
        if whole_target_ids is None or any(
            ut.achieved_at is not None and ut.target_id in whole_target_ids
            for ut in standing.user_targets
        ):
            rows = self._db.execute(_GROUP_ACHIEVEMENTS, {"user_id": user_id})
            standing.group_achievements = {(row[0], row[1]): row[2] for row in rows}
        if cyclic_group_ids:
            rows = self._db.execute(
                _ANCHORS, {"group_ids": sorted(cyclic_group_ids), "user_id": user_id}
            )
            standing.anchors = {row[0]: row[1] for row in rows}
        enrolled = self._db.execute(_ENROLMENTS, scope).mappings()
        standing.enrolments.extend(enrolment_record(row) for row in enrolled)
        if audience_ids:
            rows = self._db.execute(
                _AUDIENCES, {"audience_ids": sorted(audience_ids), "user_id": user_id}
            )
            standing.audiences = {row[0] for row in rows}
        return standing
