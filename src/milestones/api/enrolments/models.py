"""Response shapes of the enrolment API, for the OpenAPI document (no extra keys)."""

from __future__ import annotations

from typing import Any

from milestones.api.models import ErrorItem
from milestones.api.target_groups.models import Shape


class EnrolmentOut(Shape):
    id: int
    targetGroupId: int
    targetId: int
    userId: int
    periodId: int | None
    periodRefCode: str | None
    targetValue: float | None
    initialValue: float | None
    resetStreak: bool
    enrolledOn: str


class EnrolmentAnswer(Shape):
    data: EnrolmentOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class RowErrorOut(Shape):
    line: int
    message: str


class ImportSummaryOut(Shape):
    rowsRead: int
    rowsApplied: int
    rowsRejected: int
    errors: list[RowErrorOut]
    errorsTruncated: bool


class ImportAnswer(Shape):
    data: ImportSummaryOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
