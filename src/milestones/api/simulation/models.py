"""Response shapes of the simulation, for the OpenAPI document."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from milestones.api.models import ErrorItem
from milestones.api.target_groups.models import Shape


class QuantilesOut(Shape):
    p25: Decimal
    p50: Decimal
    p75: Decimal
    p90: Decimal


class TriggerFiguresOut(Shape):
    triggerName: str
    triggerValueType: str
    triggerValue: Decimal
    customersAchieved: int


class PeriodFiguresOut(Shape):
    periodNumber: int
    periodRefCode: str | None
    periodStartDate: str | None
    periodEndDate: str | None
    customersReached: int
    customersAchieved: int
    milestones: list[TriggerFiguresOut]
    achievedValue: QuantilesOut | None
    cappedValue: Decimal | None = None
    excessValue: Decimal | None = None


class TargetFiguresOut(Shape):
    targetName: str
    targetEntity: str
    targetType: str
    periods: list[PeriodFiguresOut]


class StreakFiguresOut(Shape):
    streakName: str
    targetCountOfSequence: int
    customersAchieved: int


class SimulationOut(Shape):
    """What a simulation answers (and a SIMULATION job's ``result``, with its warnings)."""

    from_: str = Field(alias="from")
    to: str
    eventsRead: int
    events: dict[str, int]
    customersReached: int
    targets: list[TargetFiguresOut]
    streaks: list[StreakFiguresOut]


class SimulationAnswer(Shape):
    data: SimulationOut
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]
