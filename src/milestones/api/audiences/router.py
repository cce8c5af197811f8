"""``/v3/audienceGroups``: create, change members, read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from milestones.api.audiences import service
from milestones.api.audiences.models import AudienceGroupAnswer
from milestones.api.audiences.schemas import AudienceGroupCreate, MembersChange
from milestones.api.auth import CurrentCaller, scope_org_ids
from milestones.api.dependencies import AppClock, AppDatabase
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute
from milestones.domain.times import utc_text
from milestones.store.enrolments import AudienceGroup

router = APIRouter(prefix="/v3/audienceGroups", tags=["audiences"], route_class=ExactRoute)
AudienceGroupId = Annotated[int, Path(ge=1, le=2**62, description="audience group id")]

_LINKS = {
    "GetAudienceGroup": {
        "operationId": "get_audience_group",
        "parameters": {"groupId": "$response.body#/data/id"},
    },
    "ChangeAudienceMembers": {
        "operationId": "change_audience_members",
        "parameters": {"groupId": "$response.body#/data/id"},
    },
}


def audience_view(group: AudienceGroup) -> dict[str, object]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "memberCount": group.member_count,
        "createdOn": utc_text(group.created_at),
        "lastUpdatedOn": utc_text(group.updated_at),
    }


@router.post(
    "",
    status_code=201,
    response_model=AudienceGroupAnswer,
    responses={
        201: {"description": "The group as stored", "links": _LINKS},
        **error_responses(400, 401, 413, 500),
    },
    summary="Create an audience group (for AUDIENCE_FILTER targets)",
)
def create_audience_group(
    body: AudienceGroupCreate, caller: CurrentCaller, database: AppDatabase, clock: AppClock
) -> EnvelopeResponse:
    now = clock.now()
    with database.transaction() as connection:
        group = service.create_group(connection, caller.org_id, body, now)
    return ok(audience_view(group), status_code=201)


@router.put(
    "/{groupId}/members",
    response_model=AudienceGroupAnswer,
    operation_id="change_audience_members",
    responses=error_responses(400, 401, 404, 413, 500),
    summary="Replace, add or remove members (mode REPLACE, ADD, REMOVE)",
)
def change_audience_members(
    groupId: AudienceGroupId,
    body: MembersChange,
    caller: CurrentCaller,
    database: AppDatabase,
    clock: AppClock,
) -> EnvelopeResponse:
    now = clock.now()
    with database.transaction() as connection:
        group = service.change_members(connection, caller.org_id, groupId, body, now)
    return ok(audience_view(group))


@router.get(
    "/{groupId}",
    response_model=AudienceGroupAnswer,
    operation_id="get_audience_group",
    responses=error_responses(400, 401, 403, 404, 500),
    summary="One audience group and how many members it has",
)
def get_audience_group(
    groupId: AudienceGroupId, request: Request, caller: CurrentCaller, database: AppDatabase
) -> EnvelopeResponse:
    org_ids = scope_org_ids(caller, request.headers, database)
    with database.transaction(write=False) as connection:
        group = service.audience_for(connection, org_ids, groupId)
    return ok(audience_view(group))
