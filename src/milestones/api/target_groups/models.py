"""Response shapes of the target-group API, for the OpenAPI document.

The handlers build their answers directly (``views.py``); these models document
them exactly (no extra keys), so a schema check of the answers means something.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from milestones.api.models import ErrorItem, Pagination
from milestones.domain.care_settings import PeriodZone


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Actor(Shape):
    id: int
    code: str | None
    description: str | None
    name: str | None
    type: str


class Attribution(Shape):
    createdOn: str
    lastUpdatedOn: str
    lastUpdatedBy: Actor
    createdBy: Actor


class PeriodOut(Shape):
    id: int
    attribution: Attribution
    startDate: str
    endDate: str
    startDateWithTimeStamp: str
    endDateWithTimeStamp: str
    refCode: str
    periodStatus: str
    targetGroupId: int
    description: str | None = None
    active: bool


class DefaultValueOut(Shape):
    id: int
    periodId: int
    defaultValue: float


class TriggerOut(Shape):
    id: int
    triggerName: str
    isActive: bool
    triggerType: str
    triggerValueType: str
    triggerValue: float
    targetRuleId: int


class FilterOut(Shape):
    entityType: str
    entityIds: list[int]


class AudienceFilterOut(Shape):
    audienceGroupId: int


class ExtendedFieldInfoOut(Shape):
    name: str | None
    aggregateFunction: str | None
    aggregateWindow: str | None


class TargetOut(Shape):
    id: int
    attribution: Attribution
    name: str
    targetType: str
    targetEntity: str
    eventName: str
    targetGroupId: int
    description: str | None = None
    active: bool
    expression: str
    expressionJson: str
    filters: list[FilterOut]
    enrolmentMethod: str
    defaultValues: list[DefaultValueOut]
    targetPeriodDefaultValuesMap: dict[str, DefaultValueOut]
    targetMilestoneTriggers: list[TriggerOut]
    targetAudienceFilter: list[AudienceFilterOut]
    extendedFieldInfo: ExtendedFieldInfoOut | None = None
    alternateCurrencyIdentifier: str | None = None
    programId: int | None = None


class StreakOut(Shape):
    id: int
    attribution: Attribution
    targetGroupId: int
    name: str
    targetCountOfSequence: int


class UnifiedOut(Shape):
    aggregation: str | None
    thresholdValue: float | None
    ruleExpression: str | None


class StreakFreezesOut(Shape):
    maxHeld: int
    grantEveryAchieved: int | None = None


class TargetGroupOut(Shape):
    id: int
    attribution: Attribution
    orgId: int
    name: str
    active: bool
    preferredTillId: int | None = None
    periods: list[PeriodOut] | None = None
    activePeriod: PeriodOut | None = None
    totalPeriods: int
    description: str | None = None
    targetEvaluationType: str
    recurringCycles: int
    frequency: int
    targetCycleStartDate: str | None = None
    targetCycleEndDate: str | None = None
    frequencyType: str
    trackingType: str
    createdOn: int
    targets: list[TargetOut]
    streaks: list[StreakOut] | None = None
    combinationType: str | None = None
    unifiedTargetExpression: UnifiedOut | None = None
    leaderboardEnabled: bool
    userCreated: bool
    timeZoneName: str
    periodZone: PeriodZone | None = None
    streakFreezes: StreakFreezesOut | None = None
    repairWindowDays: int | None = None
    maxRepairs: int | None = None
    atRiskHours: int | None = None
    backfillJobId: int | None = None  # only on a create with "backfill": true


class GroupAnswer(Shape):
    data: TargetGroupOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class GroupPage(Shape):
    pagination: Pagination
    data: list[TargetGroupOut]
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class TargetsAnswer(Shape):
    data: list[TargetOut]
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
