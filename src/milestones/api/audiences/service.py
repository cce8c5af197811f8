"""Audience groups: the customers an AUDIENCE_FILTER target counts (SPEC §8)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection

from milestones.api.audiences.schemas import AudienceGroupCreate, MembersChange, MembershipChange
from milestones.domain.errors import InvalidInput, NotFound
from milestones.store.enrolments import AudienceGroup, AudienceRepository


def create_group(
    connection: Connection, org_id: int, body: AudienceGroupCreate, now: datetime
) -> AudienceGroup:
    """A new audience group of the org, with its first members."""
    name = body.name.strip()
    if not name:
        raise InvalidInput("name must not be empty", "name")
    repository = AudienceRepository(connection)
    group_id = repository.create(org_id, name, body.description, now)
    repository.add_members(group_id, body.userIds)
    return audience_for(connection, [org_id], group_id)


def change_members(
    connection: Connection, org_id: int, group_id: int, body: MembersChange, now: datetime
) -> AudienceGroup:
    """Replace, add or remove members of one of the org's audience groups."""
    audience_for(connection, [org_id], group_id)
    repository = AudienceRepository(connection)
    if body.mode is MembershipChange.REPLACE:
        repository.replace_members(group_id, body.userIds)
    elif body.mode is MembershipChange.ADD:
        repository.add_members(group_id, body.userIds)
    else:
        repository.remove_members(group_id, body.userIds)
    repository.touch(group_id, now)
    return audience_for(connection, [org_id], group_id)


def audience_for(connection: Connection, org_ids: Collection[int], group_id: int) -> AudienceGroup:
    """An audience group in the given orgs, or NotFound."""
    group = AudienceRepository(connection).find(org_ids, group_id)
    if group is None:
        raise NotFound(f"No audience group {group_id} in the caller's data scope", "id")
    return group
