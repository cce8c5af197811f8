"""Creating and reading target groups: a body mapped to the domain's rules, then stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from milestones.api.target_groups.inputs import group_input
from milestones.api.target_groups.schemas import TargetGroupCreate
from milestones.domain.errors import NameTaken, NotFound
from milestones.domain.group_rules import draft_group
from milestones.domain.orgs import Caller
from milestones.domain.target_groups import TargetGroup
from milestones.store.target_groups import TargetGroupRepository

Warning = dict[str, object]


def create_group(
    connection: Connection, caller: Caller, body: TargetGroupCreate, now: datetime
) -> tuple[int, list[Warning]]:
    """Validate a create body in full and store the group; returns its id and any warnings."""
    draft, warnings = draft_group(group_input(body), caller.org)
    repository = TargetGroupRepository(connection)
    if repository.name_taken(caller.org_id, draft.name):
        raise NameTaken(f"A target group named '{draft.name}' already exists", "name")
    group_id = repository.add(draft, caller.client.id, now)
    return group_id, [{"code": w.code, "message": w.message} for w in warnings]


def group_for(connection: Connection, org_ids: list[int], group_id: int) -> TargetGroup:
    """A group in the caller's scope, or NotFound."""
    group = TargetGroupRepository(connection).find(org_ids, group_id)
    if group is None:
        raise NotFound(f"No target group {group_id} in the caller's data scope", "id")
    return group
