"""Maps domain errors, validation failures and HTTP errors to the envelope and a status.

No request gets a stack trace: an unexpected fault is logged and answered 500
with code 300500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from milestones.api.envelope import EnvelopeResponse, failed
from milestones.domain.errors import (
    INVALID_INPUT,
    DeliveryPending,
    HistoryJobRefused,
    InvalidInput,
    MilestonesError,
    NameTaken,
    NotFound,
    OutOfScope,
    PayloadTooLarge,
    StreakCareRefused,
    TooManyAttempts,
    Unauthenticated,
    UnsupportedMediaType,
)

log = logging.getLogger("milestones")

UNEXPECTED = 300500
DATABASE_BUSY = 300503
NOT_FOUND = NotFound.code
METHOD_NOT_ALLOWED = 300014

_STATUS: list[tuple[type[MilestonesError], int]] = [
    (InvalidInput, 400),
    (NameTaken, 409),
    (DeliveryPending, 409),
    (StreakCareRefused, 409),
    (HistoryJobRefused, 409),
    (NotFound, 404),
    (Unauthenticated, 401),
    (OutOfScope, 403),
    (PayloadTooLarge, 413),
    (TooManyAttempts, 429),
    (UnsupportedMediaType, 415),
]


def status_of(error: MilestonesError) -> int:
    """The HTTP status of a domain error."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def error_item(code: int, message: str, field: str | None = None) -> dict[str, object]:
    item: dict[str, object] = {"code": code, "message": message}
    if field:
        item["field"] = field
    return item


def field_path(location: Sequence[Any]) -> str:
    """``("body", "targets", 0, "name")`` -> ``targets[0].name``.

    pydantic's names for its own validators (``function-after[...]`` in a union's
    location) are left out: they mean nothing to a caller.
    """
    parts = list(location)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _INTERNAL.search(str(part)):
            continue
        elif path:
            path += f".{part}"
        else:
            path = str(part)
    return path


# What a pydantic message or location may carry that is the code's, not the caller's:
# a validator's repr (<function f at 0x7f...>), a class repr, a core-schema tag.
_INTERNAL = re.compile(
    r"<[^<>]*\bat 0x[0-9a-fA-F]+>|<class '[^']*'>|functools\.partial|"
    r"^(?:function-(?:after|before|wrap|plain)|json-or-python|lax-or-strict|nullable|"
    r"tagged-union|chain|constrained-\w+)\["
)
_REPR = re.compile(r"<[^<>]*\bat 0x[0-9a-fA-F]+>|<class '([^']*)'>")


def _plain(text: str) -> str:
    """A message with any internal repr taken out."""
    return _REPR.sub(lambda match: match.group(1) or "a value", text)


def _sized(field: str, error: dict[str, Any], longer: bool) -> str:
    context = error.get("ctx", {})
    limit = context.get("max_length" if longer else "min_length")
    unit = "characters" if isinstance(error.get("input"), str) else "items"
    name = field or "The body"
    if longer:
        return f"{name} is longer than {limit:,} {unit}"
    if limit == 1:
        return f"{name} must not be empty"
    return f"{name} must have at least {limit:,} {unit}"


def _validation_message(error: dict[str, Any], field: str) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        detail = error.get("ctx", {}).get("error", "malformed JSON")
        return f"The body is not valid JSON: {detail} (at character {error['loc'][-1]})"
    if not field and kind == "missing":
        return "The body is required: a JSON object"
    if not field and kind in ("model_attributes_type", "dict_type", "model_type"):
        return "The body must be a JSON object"
    if kind == "missing":
        return f"{field} is required"
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return f"{field} must be a JSON object"
    if kind in ("string_too_long", "too_long", "string_too_short", "too_short"):
        limits = error.get("ctx", {})
        if isinstance(limits.get("max_length" if "long" in kind else "min_length"), int):
            return _sized(field, error, "long" in kind)
    message = _plain(str(error.get("msg", "invalid value")))
    message = message.removeprefix("Value error, ")
    return f"{field}: {message}" if field else message


def validation_errors(errors: Sequence[dict[str, Any]]) -> list[dict[str, object]]:
    """pydantic's errors as envelope errors: plain messages, fields as caller paths."""
    items = []
    for error in errors:
        loc = error.get("loc", ())
        field = "" if error.get("type") == "json_invalid" else field_path(loc)
        items.append(error_item(INVALID_INPUT, _validation_message(error, field), field or None))
    return items


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that keep every answer in the envelope."""

    @app.exception_handler(MilestonesError)
    async def _domain(request: Request, exc: MilestonesError) -> EnvelopeResponse:
        response = failed(status_of(exc), [error_item(exc.code, exc.message, exc.field)])
        if isinstance(exc, Unauthenticated):
            response.headers["WWW-Authenticate"] = 'Basic realm="milestones", Bearer'
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> EnvelopeResponse:
        return failed(400, validation_errors(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> EnvelopeResponse:
        status = exc.status_code
        if status == 404:
            return failed(404, [error_item(NOT_FOUND, "No such resource: check the path")])
        if status == 405:
            response = failed(
                405, [error_item(METHOD_NOT_ALLOWED, "Method not allowed on this path")]
            )
            allow = (exc.headers or {}).get("Allow")
            if allow:
                response.headers["Allow"] = allow
            return response
        if status == 401:
            return failed(401, [error_item(Unauthenticated.code, str(exc.detail))])
        if status == 413:
            return failed(413, [error_item(PayloadTooLarge.code, str(exc.detail))])
        code = INVALID_INPUT if 400 <= status < 500 else UNEXPECTED
        return failed(status, [error_item(code, str(exc.detail))])

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError) -> EnvelopeResponse:
        # SQLite's one writer: a call that waited past the busy timeout is told to retry,
        # not answered 500. Anything else the database raises is unexpected.
        if "database is locked" not in str(exc.orig):
            return await _unexpected(request, exc)
        log.warning("database busy on %s %s", request.method, request.url.path)
        response = failed(
            503, [error_item(DATABASE_BUSY, "The database is busy; retry the call shortly")]
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> EnvelopeResponse:
        log.exception("unexpected fault on %s %s", request.method, request.url.path)
        return failed(500, [error_item(UNEXPECTED, "Unexpected server fault; it has been logged")])
