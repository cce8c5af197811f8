"""``/v3/jobs``: long work (event imports) and how far it got (SPEC §16).

A job belongs to one org: another org's job id is answered 404 like an unknown one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from milestones.api.auth import CurrentCaller
from milestones.api.dependencies import AppDatabase
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.jobs.models import JobAnswer, JobPage
from milestones.api.jobs.views import job_view
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.jobs import wall_clock
from milestones.store.jobs import JobRepository

router = APIRouter(prefix="/v3/jobs", tags=["jobs"], route_class=ExactRoute)
JobId = Annotated[int, Path(ge=1, le=2**62, description="job id")]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@router.get(
    "",
    response_model=JobPage,
    responses=error_responses(400, 401, 500),
    summary="List the org's jobs, newest first",
)
def list_jobs(
    caller: CurrentCaller, database: AppDatabase, limit: Limit = 10, offset: Offset = 0
) -> EnvelopeResponse:
    with database.transaction(write=False) as connection:
        jobs, total = JobRepository(connection).page(caller.org_id, limit, offset)
    now = wall_clock()
    data = [job_view(job, now) for job in jobs]
    return ok(data, pagination={"limit": limit, "offset": offset, "total": total})


@router.get(
    "/{jobId}",
    response_model=JobAnswer,
    responses=error_responses(400, 401, 404, 500),
    summary="One job: its status, lines done of the total, rate, the first bad lines",
)
def get_job(jobId: JobId, caller: CurrentCaller, database: AppDatabase) -> EnvelopeResponse:
    with database.transaction(write=False) as connection:
        job = JobRepository(connection).get(caller.org_id, jobId)
    return ok(job_view(job, wall_clock()))
