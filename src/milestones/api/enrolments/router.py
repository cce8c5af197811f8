"""Enrolment in IMPORT targets: one customer (``.../enroll``) or a streamed CSV (``.../import``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from milestones.api.auth import CurrentCaller
from milestones.api.dependencies import AppClock, AppDatabase
from milestones.api.enrolments import service
from milestones.api.enrolments.models import EnrolmentAnswer, ImportAnswer
from milestones.api.enrolments.schemas import EnrolmentIn
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.models import error_responses
from milestones.api.routing import ExactRoute, media_type
from milestones.domain.enrolment import MAX_IMPORT_ROWS, ImportSummary
from milestones.domain.errors import UnsupportedMediaType
from milestones.domain.times import utc_text

router = APIRouter(tags=["enrolments"], route_class=ExactRoute)
GroupId = Annotated[int, Path(ge=1, le=2**62, description="target group id")]
TargetId = Annotated[int, Path(ge=1, le=2**62, description="target (rule) id")]
_CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream")
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV, header line first: userId,targetValue[,periodRefCode]",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "userId,targetValue,periodRefCode\n1001,1500,Cycle_1\n1002,2000.5,\n",
            }
        },
    }
}


@router.post(
    "/v3.1/targetGroups/{groupId}/targets/{targetId}/enroll",
    response_model=EnrolmentAnswer,
    responses=error_responses(400, 401, 404, 413, 500),
    summary="Enrol one customer in an IMPORT target (again: change their values)",
)
def enrol_customer(
    groupId: GroupId,
    targetId: TargetId,
    body: EnrolmentIn,
    caller: CurrentCaller,
    database: AppDatabase,
    clock: AppClock,
) -> EnvelopeResponse:
    now = clock.now()
    with database.transaction() as connection:
        enrolled = service.enrol(connection, caller.org_id, groupId, targetId, body, now)
    record = enrolled.record
    return ok(
        {
            "id": enrolled.id,
            "targetGroupId": enrolled.group_id,
            "targetId": record.target_id,
            "userId": record.user_id,
            "periodId": record.period_id,
            "periodRefCode": enrolled.period_ref_code,
            "targetValue": record.target_value,
            "initialValue": record.initial_value,
            "resetStreak": record.reset_streak,
            "enrolledOn": utc_text(record.enrolled_at),
        },
        # Values come from the store as Decimals with 3 places: never through a float.
        float_free=True,
    )


@router.post(
    "/v3/targetGroups/{groupId}/enrolments/import",
    response_model=ImportAnswer,
    responses=error_responses(400, 401, 404, 413, 500),
    openapi_extra=_CSV_BODY,
    summary="Enrol customers from a CSV body (streamed, up to 1,000,000 rows)",
    description=(
        "The body is CSV with a header line: `userId,targetValue[,periodRefCode]`. Rows apply "
        "to `targetId`, or to every IMPORT target of the group. Each bad row is reported by "
        "line number (the header is line 1) and skipped; good rows are applied, in chunks. "
        "Over 1,000,000 rows answers 413, and the rows applied before stay applied."
    ),
)
async def import_enrolments(
    groupId: GroupId,
    request: Request,
    caller: CurrentCaller,
    database: AppDatabase,
    clock: AppClock,
    targetId: Annotated[
        int | None, Query(ge=1, le=2**62, description="only this IMPORT target")
    ] = None,
) -> EnvelopeResponse:
    _check_content_type(request.headers.get("content-type"))
    summary = await service.import_enrolments(
        database,
        caller.org_id,
        groupId,
        targetId,
        request.stream(),
        clock.now(),
        max_rows=MAX_IMPORT_ROWS,
    )
    return ok(summary_view(summary), float_free=True)


def summary_view(summary: ImportSummary) -> dict[str, object]:
    """An import's answer: counts and the first errors by line."""
    return {
        "rowsRead": summary.rows_read,
        "rowsApplied": summary.rows_applied,
        "rowsRejected": summary.rows_rejected,
        "errors": [{"line": error.line, "message": error.message} for error in summary.errors],
        "errorsTruncated": summary.errors_truncated,
    }


def _check_content_type(header: str | None) -> None:
    """CSV as is (415 otherwise); a body without ``Content-Type`` is read as CSV, as before."""
    if not header:
        return
    kind, charset = media_type(header)
    if kind not in _CSV_TYPES:
        raise UnsupportedMediaType(
            f"the body must be CSV sent as is (expected text/csv), not {kind[:60]}",
            "Content-Type",
        )
    if charset is not None and charset not in ("utf-8", "utf8", "us-ascii"):
        raise UnsupportedMediaType(f"the CSV must be UTF-8, not {charset[:40]}", "Content-Type")
