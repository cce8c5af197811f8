"""``/v3/targetGroups``: create, list, read, targets, update."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from milestones.api.attribution import audit_client_ids
from milestones.api.auth import CurrentCaller, scope_org_ids
from milestones.api.dependencies import AppClock, AppDatabase
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.jobs.backfill import backfill_job
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.api.target_groups import service, updates
from milestones.api.target_groups.models import GroupAnswer, GroupPage, TargetsAnswer
from milestones.api.target_groups.schemas import (
    TargetGroupCreate,
    TargetGroupUpdate,
    TrackingFilter,
)
from milestones.api.target_groups.views import audits_of, group_view, target_view
from milestones.domain.target_groups import TrackingType
from milestones.store.orgs import clients_by_id
from milestones.store.target_groups import GroupFilter, TargetGroupRepository

router = APIRouter(prefix="/v3/targetGroups", tags=["target groups"], route_class=ExactRoute)
GroupId = Annotated[int, Path(ge=1, le=2**62, description="target group id")]
_READ_ERRORS = error_responses(400, 401, 403, 404, 500)


_GROUP_LINKS = {
    "GetTargetGroup": {
        "operationId": "get_target_group",
        "parameters": {"groupId": "$response.body#/data/id"},
    },
    "GetTargets": {
        "operationId": "get_targets",
        "parameters": {"groupId": "$response.body#/data/id"},
    },
    "UpdateTargetGroup": {
        "operationId": "update_target_group",
        "parameters": {"groupId": "$response.body#/data/id"},
    },
}


@router.post(
    "",
    status_code=201,
    response_model=GroupAnswer,
    responses={
        201: {"description": "The group as stored", "links": _GROUP_LINKS},
        **error_responses(400, 401, 409, 413, 500),
    },
    summary='Create a target group (and with "backfill": true, its BACKFILL job)',
)
def create_target_group(
    body: TargetGroupCreate, caller: CurrentCaller, database: AppDatabase, clock: AppClock
) -> EnvelopeResponse:
    now = clock.now()
    with database.transaction() as connection:
        group_id, warnings = service.create_group(connection, caller, body, now)
        group = service.group_for(connection, [caller.org_id], group_id)
        clients = clients_by_id(connection, audit_client_ids(audits_of(group)))
        job = backfill_job(connection, group) if body.backfill else None
    data = group_view(group, now, clients, include_periods=True)
    if job is not None:
        data["backfillJobId"] = job.id
    return ok(data, status_code=201, warnings=warnings)


@router.get(
    "",
    response_model=GroupPage,
    responses=_READ_ERRORS,
    summary="List target groups, newest first",
)
def list_target_groups(
    request: Request,
    caller: CurrentCaller,
    database: AppDatabase,
    clock: AppClock,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    includePeriods: bool = False,
    includeOnlyActive: bool = False,
    includeUserCreatedTargetGroups: bool = False,
    trackingType: TrackingFilter | None = None,
) -> EnvelopeResponse:
    org_ids = scope_org_ids(caller, request.headers, database)
    tracking = None
    if trackingType is not None:
        tracking = TrackingType.STREAKS if trackingType == "STREAK" else TrackingType(trackingType)
    where = GroupFilter(
        org_ids=org_ids,
        only_active=includeOnlyActive,
        include_user_created=includeUserCreatedTargetGroups,
        tracking_type=tracking,
    )
    now = clock.now()
    with database.transaction(write=False) as connection:
        groups, total = TargetGroupRepository(connection).page(where, limit, offset)
        clients = clients_by_id(
            connection, audit_client_ids([a for g in groups for a in audits_of(g)])
        )
    data = [group_view(group, now, clients, include_periods=includePeriods) for group in groups]
    return ok(data, pagination={"limit": limit, "offset": offset, "total": total})


@router.get(
    "/{groupId}",
    response_model=GroupAnswer,
    responses=_READ_ERRORS,
    operation_id="get_target_group",
    summary="One target group",
)
def get_target_group(
    groupId: GroupId,
    request: Request,
    caller: CurrentCaller,
    database: AppDatabase,
    clock: AppClock,
    includePeriods: bool = True,
) -> EnvelopeResponse:
    org_ids = scope_org_ids(caller, request.headers, database)
    now = clock.now()
    with database.transaction(write=False) as connection:
        group = service.group_for(connection, org_ids, groupId)
        clients = clients_by_id(connection, audit_client_ids(audits_of(group)))
    return ok(group_view(group, now, clients, include_periods=includePeriods))


@router.get(
    "/{groupId}/targets",
    response_model=TargetsAnswer,
    operation_id="get_targets",
    responses=_READ_ERRORS,
    summary="A group's targets",
)
def get_targets(
    groupId: GroupId, request: Request, caller: CurrentCaller, database: AppDatabase
) -> EnvelopeResponse:
    org_ids = scope_org_ids(caller, request.headers, database)
    with database.transaction(write=False) as connection:
        group = service.group_for(connection, org_ids, groupId)
        clients = clients_by_id(connection, audit_client_ids(audits_of(group)))
    return ok([target_view(group, target, group.zone, clients) for target in group.targets])


@router.put(
    "/{groupId}",
    response_model=GroupAnswer,
    operation_id="update_target_group",
    responses=error_responses(400, 401, 404, 409, 413, 500),
    summary="Update what does not rewrite history",
)
def update_target_group(
    groupId: GroupId,
    body: TargetGroupUpdate,
    caller: CurrentCaller,
    database: AppDatabase,
    clock: AppClock,
) -> EnvelopeResponse:
    now = clock.now()
    with database.transaction() as connection:
        updates.update_group(connection, caller, groupId, body, now)
        group = service.group_for(connection, [caller.org_id], groupId)
        clients = clients_by_id(connection, audit_client_ids(audits_of(group)))
    return ok(group_view(group, now, clients, include_periods=True))
