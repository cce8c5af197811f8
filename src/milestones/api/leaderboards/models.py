"""Response shapes of the leaderboard API, for the OpenAPI document (no extra keys)."""

from __future__ import annotations

from typing import Any

from milestones.api.models import ErrorItem, Pagination
from milestones.api.target_groups.models import Shape


class EntryOut(Shape):
    rank: int
    userId: int
    value: float
    achievedDateTime: str | None


class BoardOut(Shape):
    targetGroupId: int
    targetGroupName: str
    targetRuleId: int
    targetName: str
    periodId: int
    periodRefCode: str
    periodStartDate: str
    periodEndDate: str
    periodStatus: str
    totalRanked: int
    entries: list[EntryOut]


class BoardAnswer(Shape):
    pagination: Pagination
    data: BoardOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class RankOut(Shape):
    targetGroupId: int
    targetGroupName: str
    targetRuleId: int
    targetName: str
    periodId: int
    periodRefCode: str
    rank: int | None
    value: float
    achievedDateTime: str | None
    totalRanked: int


class UserRanksOut(Shape):
    userId: int
    ranks: list[RankOut]


class UserRanksAnswer(Shape):
    data: UserRanksOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
