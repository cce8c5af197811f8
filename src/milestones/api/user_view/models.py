"""Response shape of the user view, for the OpenAPI document (no extra keys)."""

from __future__ import annotations

from typing import Any

from milestones.api.customers.models import CustomerOut
from milestones.api.models import ErrorItem
from milestones.api.target_groups.models import Attribution, Shape


class MilestoneOut(Shape):
    id: int
    triggerName: str
    triggerValueType: str
    triggerValue: float
    isAchieved: bool
    achievedDateTime: str | None


class UserTargetOut(Shape):
    targetId: int | None
    orgId: int
    periodId: int
    periodRefCode: str
    periodStartDate: str
    periodEndDate: str
    targetValue: float
    targetAchievedValue: float
    targetName: str
    targetType: str
    targetEntity: str
    targetRuleId: int
    enrolledOn: str
    eventName: str
    periodStartDateWithTimeStamp: str
    periodEndDateWithTimeStamp: str
    targetAchievedDateTime: str | None
    currentPeriod: bool
    milestones: list[MilestoneOut] | None
    periodOutcome: str | None = None


class UserStreakOut(Shape):
    userStreakId: int | None
    streakId: int
    streakName: str
    status: str
    currentCount: int
    totalTargetCountOfSequence: int
    streakAchievedDateTime: str | None
    streakAchievedUserTargetId: int | None
    freezesHeld: int
    runEndsAt: str | None
    atRisk: bool


class GroupPeriodOut(Shape):
    periodId: int
    periodRefCode: str | None
    groupAchieved: bool
    groupAchievedDateTime: str | None


class UserGroupOut(Shape):
    id: int
    attribution: Attribution
    name: str
    orgId: int
    preferredTillId: int | None
    targets: list[UserTargetOut]
    streaks: list[UserStreakOut] | None = None
    groupPeriods: list[GroupPeriodOut] | None = None
    targetEvaluationType: str
    trackingType: str


class UserViewOut(Shape):
    userId: int
    customer: CustomerOut | None
    targetGroups: list[UserGroupOut]


class UserViewAnswer(Shape):
    data: UserViewOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
