"""``POST /v3/targetGroups/{id}/backfill``: a group made late gets the events it missed (§16).

The job applies the org's stored events received before the group was made, inside its
dates, to that group alone (see :mod:`milestones.store.replay`). A backfill of a group
that has one queued or running answers that one; once one has run, another starts
where it ended, so running it again applies nothing twice.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from milestones.api.auth import CurrentCaller
from milestones.api.dependencies import AppDatabase
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.jobs.models import JobAnswer
from milestones.api.jobs.views import job_view
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.domain.errors import NotFound
from milestones.domain.jobs import JobStatus, JobType
from milestones.jobs import wall_clock
from milestones.store.database import Database
from milestones.store.jobs import JobRepository, StoredJob
from milestones.store.replay import count_to_replay
from milestones.store.target_groups import TargetGroupRepository

router = APIRouter(prefix="/v3/targetGroups", tags=["jobs"], route_class=ExactRoute)
GroupId = Annotated[int, Path(ge=1, le=2**62, description="target group id")]
_OPEN = (JobStatus.QUEUED, JobStatus.RUNNING)


@router.post(
    "/{groupId}/backfill",
    status_code=202,
    response_model=JobAnswer,
    responses={
        202: {"description": "The backfill's job (see `GET /v3/jobs/{id}`)"},
        **error_responses(400, 401, 404, 500),
    },
    summary="Apply the stored events a group missed to it alone, as a job",
)
def backfill(groupId: GroupId, caller: CurrentCaller, database: AppDatabase) -> EnvelopeResponse:
    job = start_backfill(database, caller.org_id, groupId)
    return ok(job_view(job, wall_clock()), status_code=202)


def start_backfill(database: Database, org_id: int, group_id: int) -> StoredJob:
    """The group's open backfill, or a new one from where the last one ended."""
    with database.transaction() as connection:
        group = TargetGroupRepository(connection).find([org_id], group_id)
        if group is None:
            raise NotFound(f"No target group {group_id} in org {org_id}", "groupId")
        jobs = JobRepository(connection)
        earlier = jobs.backfills_of(org_id, group_id)
        running = [job for job in earlier if job.status in _OPEN]
        if running:
            return running[-1]
        start = max((job.checkpoint for job in earlier), default=0)
        return jobs.create(
            org_id,
            JobType.BACKFILL,
            wall_clock(),
            target_group_id=group_id,
            total=count_to_replay(connection, group, start),
            checkpoint=start,
        )
