"""``/v3.1/leaderboards``: one board, page by page, and one customer's ranks (SPEC §13)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from milestones.api.auth import CurrentCaller, scope_org_ids
from milestones.api.dependencies import AppClock, AppDatabase, AppReads
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.leaderboards import service
from milestones.api.leaderboards.models import BoardAnswer, UserRanksAnswer
from milestones.api.leaderboards.views import board_view, rank_view
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute

router = APIRouter(prefix="/v3.1/leaderboards", tags=["leaderboards"], route_class=ExactRoute)
MAX_ID = 2**62
MAX_BOARDS = 25
AnId = Annotated[int, Field(ge=1, le=MAX_ID)]
_ERRORS = error_responses(400, 401, 403, 404, 500)


@router.get(
    "/targetGroups/{groupId}",
    response_model=BoardAnswer,
    responses=_ERRORS,
    summary="Customers of one target and period, ranked by achieved value",
)
def get_leaderboard(
    groupId: Annotated[int, Path(ge=1, le=MAX_ID, description="target group id")],
    request: Request,
    caller: CurrentCaller,
    database: AppDatabase,
    reads: AppReads,
    clock: AppClock,
    targetId: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the target (default: the first)")
    ] = None,
    periodId: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the period (default: the running one)")
    ] = None,
    pageSize: Annotated[int, Query(ge=1, le=100)] = 10,
    pageOffset: Annotated[
        int, Query(ge=0, le=1_000_000, description="pages to skip, counted from 0")
    ] = 0,
) -> EnvelopeResponse:
    org_ids = scope_org_ids(caller, request.headers, database)
    query = service.BoardQuery(groupId, targetId, periodId)
    now = clock.now()
    offset = pageOffset * pageSize
    board, entries, total = reads.run(
        lambda connection: service.leaderboard(connection, org_ids, query, pageSize, offset, now)
    )
    return ok(
        board_view(board, entries, total, now),
        pagination={"limit": pageSize, "offset": offset, "total": total},
    )


@router.get(
    "/user/{userId}",
    response_model=UserRanksAnswer,
    responses=_ERRORS,
    summary="One customer's rank on up to 25 boards",
)
def get_user_ranks(
    userId: Annotated[int, Path(ge=1, le=MAX_ID, description="the customer's userId")],
    request: Request,
    caller: CurrentCaller,
    database: AppDatabase,
    reads: AppReads,
    clock: AppClock,
    targetGroupId: Annotated[
        list[AnId], Query(min_length=1, max_length=MAX_BOARDS, description="repeatable")
    ],
    targetRuleId: Annotated[
        list[AnId] | None,
        Query(max_length=MAX_BOARDS, description="once per targetGroupId, or not at all"),
    ] = None,
    periodId: Annotated[
        list[AnId] | None,
        Query(max_length=MAX_BOARDS, description="once per targetGroupId, or not at all"),
    ] = None,
) -> EnvelopeResponse:
    org_ids = scope_org_ids(caller, request.headers, database)
    queries = service.pair_queries(targetGroupId, targetRuleId, periodId)
    now = clock.now()
    ranks = reads.run(
        lambda connection: service.user_ranks(connection, org_ids, userId, queries, now)
    )
    return ok(
        {
            "userId": userId,
            "ranks": [rank_view(board, standing, total) for board, standing, total in ranks],
        }
    )
