"""Liveness and OAuth2 client-credentials tokens."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from milestones.api.auth import AppAuthenticator, client_address, decode_basic, noted
from milestones.api.dependencies import AppClock, AppDatabase, AppSettings
from milestones.api.envelope import EnvelopeResponse, ok
from milestones.api.models import error_responses
from milestones.api.routing import JSON_EXPECTED, is_json, loads_exact, media_type
from milestones.credentials import new_token, token_digest
from milestones.domain.errors import InvalidInput, Unauthenticated, UnsupportedMediaType
from milestones.store.orgs import OrgRepository

router = APIRouter(tags=["system"])
_FORM = "application/x-www-form-urlencoded"

_TOKEN_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                    },
                }
            },
        },
    }
}


@router.get("/health", summary="Liveness", responses=error_responses(500))
def health() -> EnvelopeResponse:
    return ok({"status": "UP"})


@router.post(
    "/v3/oauth/token",
    summary="Exchange client credentials for a bearer token",
    openapi_extra=_TOKEN_BODY,
    responses=error_responses(400, 401, 413, 429, 500),
)
async def issue_token(
    request: Request,
    authenticator: AppAuthenticator,
    database: AppDatabase,
    clock: AppClock,
    settings: AppSettings,
) -> EnvelopeResponse:
    fields = _token_fields(await request.body(), request.headers.get("content-type", ""))
    if fields.get("grant_type") != "client_credentials":
        raise InvalidInput("grant_type must be client_credentials", "grant_type")
    client_id, secret = fields.get("client_id"), fields.get("client_secret")
    header = request.headers.get("authorization", "")
    if (client_id is None or secret is None) and header.lower().startswith("basic "):
        client_id, secret = decode_basic(header[6:].strip())
    if not client_id or secret is None or "\x00" in client_id + secret:
        raise Unauthenticated("client_id and client_secret are required (in the body or as Basic)")
    for name, value in (("client_id", client_id), ("client_secret", secret)):
        if not value.isascii() and not _is_unicode(value):
            raise InvalidInput(f"{name} must be valid Unicode (no lone surrogates)", name)
    # PBKDF2 takes tens of milliseconds on purpose: a worker thread spends them, not the loop.
    caller = await run_in_threadpool(
        authenticator.by_secret, client_id, secret, client_address(request)
    )
    noted(request, caller.client)  # the access line names who was granted a token
    ttl = int(settings.token_ttl_seconds)
    token = new_token()
    with database.transaction() as connection:
        now = clock.now()
        OrgRepository(connection).add_token(
            token_digest(token), caller.client.id, now + timedelta(seconds=ttl), now
        )
    grant = {"access_token": token, "token_type": "Bearer", "expires_in": ttl}
    response = ok(grant)
    # OAuth2 clients read the grant at the top level; the envelope carries it too.
    response.body = response.render({**grant, "data": grant, "errors": [], "warnings": []})
    response.headers["content-length"] = str(len(response.body))
    response.headers["cache-control"] = "no-store"
    return response


def _is_unicode(text: str) -> bool:
    """Whether ``text`` is valid Unicode: a JSON ``\\ud800`` escape gives a lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _token_fields(body: bytes, content_type: str) -> dict[str, str]:
    if not body:
        return {}
    if is_json(content_type):
        try:
            parsed = loads_exact(body)
        except ValueError as exc:
            raise InvalidInput("The body is not valid JSON") from exc
        if not isinstance(parsed, dict):
            raise InvalidInput("The body must be a JSON object")
        return {str(k): v for k, v in parsed.items() if isinstance(v, str)}
    kind, _ = media_type(content_type)
    if content_type and kind != _FORM:
        raise UnsupportedMediaType(
            f"the body must be {_FORM} or {JSON_EXPECTED}, not {kind[:60]}", "Content-Type"
        )
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("The body must be form-encoded or JSON") from exc
    return {key: values[0] for key, values in form.items() if values}
