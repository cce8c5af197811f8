"""Response shapes of the audience-group API, for the OpenAPI document (no extra keys)."""

from __future__ import annotations

from typing import Any

from milestones.api.models import ErrorItem
from milestones.api.target_groups.models import Shape


class AudienceGroupOut(Shape):
    id: int
    name: str
    description: str | None
    memberCount: int
    createdOn: str
    lastUpdatedOn: str


class AudienceGroupAnswer(Shape):
    data: AudienceGroupOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
