"""``PUT /v3/targetGroups/{id}``: a body mapped to the domain's update rules, then stored.

What may change is decided in :mod:`milestones.domain.group_updates`; here the steps
are run in the caller's transaction (all or nothing), new periods stored first so
that the targets' values can name them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from milestones.api.target_groups.inputs import group_edit
from milestones.api.target_groups.schemas import TargetGroupUpdate
from milestones.api.target_groups.service import group_for
from milestones.domain.errors import NameTaken
from milestones.domain.group_updates import (
    group_changes,
    new_name,
    new_period_values,
    new_periods,
    refuse_schedule_changes,
    target_changes,
)
from milestones.domain.orgs import Caller
from milestones.domain.streak_care import care_changed
from milestones.store.target_groups import TargetGroupRepository


def update_group(
    connection: Connection, caller: Caller, group_id: int, body: TargetGroupUpdate, now: datetime
) -> None:
    """Apply an update in the caller's transaction (all or nothing)."""
    group = group_for(connection, [caller.org_id], group_id)
    edit = group_edit(body)
    repository = TargetGroupRepository(connection)
    client_id = caller.client.id
    refuse_schedule_changes(group, edit)
    name = new_name(group, edit)
    if name is not None and repository.name_taken(caller.org_id, name, except_group_id=group.id):
        raise NameTaken(f"A target group named '{name}' already exists", "name")
    new_period_ids = [
        repository.add_period(group.id, position, draft, client_id, now)
        for position, draft in enumerate(
            new_periods(group, edit.periods or (), now), start=len(group.periods) + 1
        )
    ]
    grown = repository.load([group.id])[0]
    for change in target_changes(grown, edit.targets or (), new_period_ids, now):
        repository.update_target(change.target_id, change.fields, client_id, now)
        repository.set_default_values(change.target_id, change.values)
    for target_id, values in new_period_values(grown, edit.targets or (), new_period_ids).items():
        repository.set_default_values(target_id, values)
    changes = group_changes(grown, edit, name, len(new_period_ids), now)
    if care_changed(grown.care, changes):
        repository.keep_care_version(group.id, grown.care, now)
    repository.update_group(group.id, changes, client_id, now)
