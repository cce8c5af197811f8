"""``POST /v3.1/users/{userId}/streakFreezes`` and ``…/streaks/repair`` (SPEC §17).

Both act on the caller's org: another org's group is answered 404 like an unknown one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from milestones.api.auth import CurrentCaller
from milestones.api.dependencies import AppClock, AppDatabase
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.api.streak_care import service
from milestones.api.streak_care.models import FreezesAnswer, RepairAnswer
from milestones.api.streak_care.schemas import FreezeGrantIn, RepairIn

router = APIRouter(prefix="/v3.1/users", tags=["streak care"], route_class=ExactRoute)
UserId = Annotated[int, Path(ge=1, le=2**62, description="the customer's userId")]


@router.post(
    "/{userId}/streakFreezes",
    response_model=FreezesAnswer,
    responses=error_responses(400, 401, 404, 409, 500),
    summary="Grant a customer streak freezes in a streak group",
)
def grant_freezes(
    userId: UserId,
    body: FreezeGrantIn,
    caller: CurrentCaller,
    database: AppDatabase,
    clock: AppClock,
) -> EnvelopeResponse:
    with database.transaction() as connection:
        data = service.grant_freezes(
            connection, caller, userId, body.targetGroupId, body.count, clock.now()
        )
    return ok(data)


@router.post(
    "/{userId}/streaks/repair",
    response_model=RepairAnswer,
    responses=error_responses(400, 401, 404, 409, 500),
    summary="Repair a customer's missed streak period within the group's repair window",
)
def repair_streak(
    userId: UserId, body: RepairIn, caller: CurrentCaller, database: AppDatabase, clock: AppClock
) -> EnvelopeResponse:
    with database.transaction() as connection:
        data = service.repair(
            connection, caller, userId, body.targetGroupId, body.periodId, clock.now()
        )
    return ok(data)
