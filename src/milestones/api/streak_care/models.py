"""Response shapes of the streak-care endpoints, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from milestones.api.models import ErrorItem
from milestones.api.target_groups.models import Shape


class FreezesOut(Shape):
    userId: int
    targetGroupId: int
    granted: int
    freezesHeld: int
    maxHeld: int


class RepairOut(Shape):
    userId: int
    targetGroupId: int
    periodId: int
    periodRefCode: str
    periodOutcome: str
    repairedAt: str
    repairedBy: str
    repairsLeft: int
    currentCount: int


class FreezesAnswer(Shape):
    data: FreezesOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class RepairAnswer(Shape):
    data: RepairOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
