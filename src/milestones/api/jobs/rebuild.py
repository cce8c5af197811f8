"""``POST /v3/targetGroups/{id}/rebuild``: a group recomputed from the stored events (SPEC §16).

After a PUT changed a target's expression or a period's value, the job recomputes every
customer's progress in the group from the org's stored events inside its dates, under
the rules as they are now (see :mod:`milestones.jobs.rebuild`). Achievements already
made stay unless the body says ``"revoke": true``. The body is optional.

A rebuild asked for while one is open answers that one (the same ``revoke``) or is
refused; it is refused while a backfill of the group is open, for an inactive group
(nothing would count), and for a group whose dates reach back before a prune.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, StrictBool

from milestones.api.auth import CurrentCaller
from milestones.api.dependencies import AppDatabase
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.jobs.backfill import refuse_open, refuse_pruned
from milestones.api.jobs.models import JobAnswer
from milestones.api.jobs.views import job_view
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.domain.errors import HistoryJobRefused, NotFound
from milestones.domain.jobs import JobStatus, JobType
from milestones.jobs import wall_clock
from milestones.store.database import Database
from milestones.store.jobs import JobRepository, StoredJob
from milestones.store.rebuild import count_customers
from milestones.store.target_groups import TargetGroupRepository

router = APIRouter(prefix="/v3/targetGroups", tags=["jobs"], route_class=ExactRoute)
GroupId = Annotated[int, Path(ge=1, le=2**62, description="target group id")]
_OPEN = (JobStatus.QUEUED, JobStatus.RUNNING)


class RebuildIn(BaseModel):
    """Body of ``POST .../rebuild``: ``revoke`` takes back what the new rules no longer
    support (default false: achievements already made stay)."""

    model_config = ConfigDict(extra="forbid")

    revoke: StrictBool = False


@router.post(
    "/{groupId}/rebuild",
    status_code=202,
    response_model=JobAnswer,
    responses={
        202: {"description": "The rebuild's job (see `GET /v3/jobs/{id}`)"},
        **error_responses(400, 401, 404, 409, 500),
    },
    summary="Recompute a group from the stored events, as a job",
)
def rebuild(
    groupId: GroupId,
    caller: CurrentCaller,
    database: AppDatabase,
    body: RebuildIn | None = None,
) -> EnvelopeResponse:
    revoke = body.revoke if body is not None else False
    job = start_rebuild(database, caller.org_id, groupId, revoke=revoke)
    return ok(job_view(job, wall_clock()), status_code=202)


def start_rebuild(database: Database, org_id: int, group_id: int, *, revoke: bool) -> StoredJob:
    """The group's open rebuild (asked for with the same ``revoke``), or a new one."""
    with database.transaction() as connection:
        group = TargetGroupRepository(connection).find([org_id], group_id)
        if group is None:
            raise NotFound(f"No target group {group_id} in org {org_id}", "groupId")
        jobs = JobRepository(connection)
        earlier = jobs.of_group(org_id, group_id, (JobType.BACKFILL, JobType.REBUILD))
        refuse_open(earlier, JobType.BACKFILL, "rebuild")
        for job in earlier:
            if job.type is JobType.REBUILD and job.status in _OPEN:
                if (job.options.get("revoke") is True) == revoke:
                    return job
                raise HistoryJobRefused(
                    f"rebuild job {job.id} of this group is {job.status.value} with revoke "
                    f"{'false' if revoke else 'true'}: ask again once it has ended",
                    "revoke",
                )
        if not group.active:
            raise HistoryJobRefused(
                f"target group {group_id} is inactive: a rebuild would count nothing", "groupId"
            )
        refuse_pruned(connection, group)
        return jobs.create(
            org_id,
            JobType.REBUILD,
            wall_clock(),
            target_group_id=group_id,
            total=count_customers(connection, group),
            options={"revoke": revoke},
        )
