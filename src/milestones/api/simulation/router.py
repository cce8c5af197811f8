"""``POST /v3/targetGroups/simulate``: what a draft group would reach, read only (SPEC §16)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from milestones.api.auth import CurrentCaller
from milestones.api.dependencies import AppClock, AppDatabase, AppSettings
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.jobs.models import JobAnswer
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.api.simulation import service
from milestones.api.simulation.models import SimulationAnswer
from milestones.api.simulation.schemas import SimulationIn

router = APIRouter(prefix="/v3/targetGroups", tags=["target groups"], route_class=ExactRoute)


@router.post(
    "/simulate",
    response_model=SimulationAnswer,
    responses={
        200: {"description": "The draft's figures over the stored events in the range"},
        202: {
            "model": JobAnswer,
            "description": "More events than answered at once: a SIMULATION job, whose "
            "result (`GET /v3/jobs/{id}`) holds the same figures",
        },
        **error_responses(400, 401, 413, 500),
    },
    summary="Simulate a draft group over the stored events, writing nothing",
)
async def simulate(
    request: Request,
    body: SimulationIn,
    caller: CurrentCaller,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
) -> EnvelopeResponse:
    raw = await request.body()  # kept as sent by a job, which reads it again
    simulated = await run_in_threadpool(
        service.simulate, database, settings, clock, caller, body, raw
    )
    return ok(
        simulated.data,
        status_code=202 if simulated.job else 200,
        warnings=simulated.warnings,
    )
