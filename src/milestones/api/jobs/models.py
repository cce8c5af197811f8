"""Response shapes of the jobs API, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from milestones.api.models import ErrorItem, Pagination
from milestones.api.target_groups.models import Shape


class LineErrorOut(Shape):
    line: int
    message: str


class JobOut(Shape):
    id: int
    type: str
    status: str
    done: int
    total: int | None
    rate: float
    counts: dict[str, int]
    errors: list[LineErrorOut]
    errorsTruncated: bool
    failure: str | None
    resumed: int
    createdAt: str
    startedAt: str | None
    finishedAt: str | None
    options: dict[str, Any]  # what the job was asked for: a rebuild's revoke
    result: dict[str, Any] | None = None


class JobAnswer(Shape):
    data: JobOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class JobPage(Shape):
    data: list[JobOut]
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
    pagination: Pagination
