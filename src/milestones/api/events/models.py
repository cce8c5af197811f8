"""Response shapes of the event API, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from milestones.api.models import ErrorItem


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MilestoneOut(Shape):
    id: int
    triggerName: str
    triggerValueType: str
    triggerValue: float
    achievedDateTime: str


class RevokedMilestoneOut(Shape):
    id: int
    triggerName: str


class StreakOut(Shape):
    streakId: int
    streakName: str
    targetCountOfSequence: int
    status: str
    currentCount: int
    streakAchievedDateTime: str | None
    streakAchievedUserTargetId: int | None


class SideEffectOut(Shape):
    targetGroupId: int
    targetGroupName: str
    targetRuleId: int
    targetName: str
    userTargetId: int
    userId: int
    periodId: int
    periodRefCode: str
    periodStartDate: str
    periodEndDate: str
    periodStartDateWithTimeStamp: str
    periodEndDateWithTimeStamp: str
    targetEvaluationType: str
    trackingType: str
    contributionType: str
    definedTargetValue: float
    currentEventTargetValue: float
    targetAchievedValueBeforeEvent: float
    targetAchievedValueAfterEvent: float
    targetAchieved: bool
    targetAchievedDateTime: str | None
    milestonesAchieved: list[MilestoneOut]
    streaksAchieved: list[StreakOut]
    targetAchievementRevoked: bool | None = None
    milestonesRevoked: list[RevokedMilestoneOut] | None = None
    cappedValue: float | None = None
    excessValue: float | None = None
    groupAchieved: bool | None = None
    groupAchievedNow: bool | None = None
    groupAchievedDateTime: str | None = None
    groupAchievementRevoked: bool | None = None
    streaksRevoked: list[StreakOut] | None = None


class OutcomeOut(Shape):
    eventId: str | None
    status: str
    sideEffects: list[SideEffectOut]
    errors: list[ErrorItem]


class SummaryOut(Shape):
    total: int
    APPLIED: int
    DUPLICATE: int
    NO_MATCH: int
    OUT_OF_WINDOW: int
    REJECTED: int


class BulkOut(Shape):
    results: list[OutcomeOut]
    summary: SummaryOut


class OutcomeAnswer(Shape):
    data: OutcomeOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class BulkAnswer(Shape):
    data: BulkOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class RejectedAnswer(Shape):
    data: OutcomeOut | None
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
