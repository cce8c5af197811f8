"""``POST /v3/targetGroups/{id}/backfill``: a group made late gets the events it missed (§16).

The job applies the org's stored events received before the group was made, inside its
dates, to that group alone (see :mod:`milestones.store.replay`). A backfill of a group
that has one queued or running answers that one; once one has run, another starts
where it ended, so running it again applies nothing twice. It is refused (409) while a
rebuild of the group is open, and when the group's dates reach back before a prune.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import Connection

from milestones.api.auth import CurrentCaller
from milestones.api.dependencies import AppDatabase
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.jobs.models import JobAnswer
from milestones.api.jobs.views import job_view
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.domain.errors import HistoryJobRefused, NotFound
from milestones.domain.history import dates_start
from milestones.domain.jobs import JobStatus, JobType
from milestones.domain.target_groups import TargetGroup
from milestones.domain.times import utc_text
from milestones.jobs import wall_clock
from milestones.store.database import Database
from milestones.store.jobs import JobRepository, StoredJob
from milestones.store.prune import pruned_before
from milestones.store.replay import count_to_replay, last_event_id
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
        **error_responses(400, 401, 404, 409, 500),
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
        return backfill_job(connection, group)


def backfill_job(connection: Connection, group: TargetGroup) -> StoredJob:
    """The group's open backfill, or a new one, in the caller's transaction (a create
    with ``"backfill": true`` makes it with the group). After a rebuild there is nothing
    left to apply: the rebuild read every stored event of the group's dates."""
    jobs = JobRepository(connection)
    earlier = jobs.of_group(group.org_id, group.id, (JobType.BACKFILL, JobType.REBUILD))
    refuse_open(earlier, JobType.REBUILD, "backfill")
    running = [job for job in earlier if job.type is JobType.BACKFILL and job.status in _OPEN]
    if running:
        return running[-1]
    refuse_pruned(connection, group)
    start = max((job.checkpoint for job in earlier if job.type is JobType.BACKFILL), default=0)
    if any(job.type is JobType.REBUILD for job in earlier):
        start = max(start, last_event_id(connection, group.org_id))
    return jobs.create(
        group.org_id,
        JobType.BACKFILL,
        wall_clock(),
        target_group_id=group.id,
        total=count_to_replay(connection, group, start),
        checkpoint=start,
    )


def refuse_open(earlier: list[StoredJob], kind: JobType, asked: str) -> None:
    """A backfill and a rebuild of one group never run at once: each would apply what the
    other is applying."""
    for job in earlier:
        if job.type is kind and job.status in _OPEN:
            raise HistoryJobRefused(
                f"{kind.value} job {job.id} of this group is {job.status.value}: "
                f"ask for a {asked} once it has ended",
                "groupId",
            )


def refuse_pruned(connection: Connection, group: TargetGroup) -> None:
    """A group whose dates reach back before a prune would be run on half its history."""
    pruned = pruned_before(connection, group.org_id)
    start = dates_start(group)
    if pruned is not None and (start is None or start < pruned):
        raise HistoryJobRefused(
            f"the org's events before {utc_text(pruned)} were pruned, and this group's "
            "dates reach back before that: its history is no longer whole",
            "groupId",
        )
