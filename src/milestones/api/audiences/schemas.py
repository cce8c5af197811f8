"""Request bodies of the audience-group API."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from milestones.api.enrolments.schemas import UserId
from milestones.api.target_groups.schemas import Input, Str, Text255

MAX_MEMBERS_PER_REQUEST = 100_000
UserIds = Annotated[list[UserId], Field(max_length=MAX_MEMBERS_PER_REQUEST)]


class MembershipChange(StrEnum):
    """How ``userIds`` change the members: become them, join them, or leave."""

    REPLACE = "REPLACE"
    ADD = "ADD"
    REMOVE = "REMOVE"


class AudienceGroupCreate(Input):
    """Body of ``POST /v3/audienceGroups``."""

    name: Annotated[Str, Field(min_length=1, max_length=200)]
    description: Text255 | None = None
    userIds: UserIds = []


class MembersChange(Input):
    """Body of ``PUT /v3/audienceGroups/{id}/members``."""

    userIds: UserIds
    mode: MembershipChange = MembershipChange.REPLACE
