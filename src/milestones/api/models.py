"""Response documentation for OpenAPI: the envelope every answer comes in."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorItem(BaseModel):
    code: int
    message: str
    field: str | None = None


class Pagination(BaseModel):
    limit: int
    offset: int
    total: int


class Envelope(BaseModel):
    """``{"data": ..., "errors": [...], "warnings": [...]}``."""

    model_config = ConfigDict(extra="allow")
    data: Any = None
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


class PageEnvelope(Envelope):
    pagination: Pagination


class ErrorEnvelope(BaseModel):
    data: None = None
    errors: list[ErrorItem]
    warnings: list[dict[str, Any]]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an operation can answer; one that checks
    credentials (401) can also lock a client id out (429)."""
    meaning = {
        400: "Invalid input (code 300004 unless a more specific one applies)",
        401: "Missing or bad credentials",
        403: "Out of the caller's data scope",
        404: "Unknown resource",
        409: "Conflict (310069: name exists)",
        413: "Body or batch too large",
        415: "The body is not of the type the operation reads (code 300015)",
        429: "Too many failed credentials for this client id from this address (300429); "
        "see Retry-After",
        500: "Unexpected fault (logged)",
    }
    if 401 in statuses and 429 not in statuses:
        statuses = tuple(sorted((*statuses, 429)))
    return {status: {"model": ErrorEnvelope, "description": meaning[status]} for status in statuses}
