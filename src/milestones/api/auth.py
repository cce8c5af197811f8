"""Who is calling: Basic client credentials or a bearer token, and the data scope they ask for."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from itertools import islice
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBasic, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from milestones.api.throttle import LoginThrottle
from milestones.clock import Clock
from milestones.credentials import token_digest, verify_for_unknown_client, verify_secret
from milestones.domain.errors import InvalidInput, OutOfScope, Unauthenticated
from milestones.domain.orgs import ApiClient, Caller
from milestones.store.database import Database
from milestones.store.orgs import OrgRepository


class _DocumentedBasic(HTTPBasic):
    """Declares Basic auth in OpenAPI; :func:`current_caller` reads the header itself."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


class _DocumentedBearer(HTTPBearer):
    """Declares bearer auth in OpenAPI; :func:`current_caller` reads the header itself."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


_basic = _DocumentedBasic(auto_error=False, description="base64(clientId:clientSecret)")
_bearer = _DocumentedBearer(auto_error=False, description="a token from POST /v3/oauth/token")
_CACHE_SECONDS = 60.0


@dataclass
class Authenticator:
    """Checks credentials; remembers verified secrets briefly, since PBKDF2 is slow on purpose.

    A refusal costs the same whether the client id exists or not: an unknown id's secret is
    run through the same PBKDF2 as a wrong one, and only verified secrets are remembered.
    Failed secrets are counted per (client id, address) by :class:`LoginThrottle`.
    """

    database: Database
    clock: Clock
    throttle: LoginThrottle = field(init=False)
    _verified: dict[tuple[str, str], tuple[ApiClient, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.throttle = LoginThrottle(self.clock)

    def by_secret(self, client_id: str, secret: str, address: str) -> Caller:
        return self._caller(self.client_by_secret(client_id, secret, address))

    def by_token(self, token: str) -> Caller:
        return self._caller(self.client_by_token(token))

    def verified_client(self, client_id: str, secret: str, address: str) -> ApiClient | None:
        """The client whose secret was verified in the last minute; no database, no PBKDF2.

        A pair locked out by the throttle is refused here too, the right secret included.
        """
        self.throttle.check(client_id, address)
        key = _secret_key(client_id, secret)
        with self._lock:
            cached = self._verified.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return None

    def client_by_secret(self, client_id: str, secret: str, address: str) -> ApiClient:
        cached = self.verified_client(client_id, secret, address)
        if cached is not None:
            return cached
        with self.database.transaction(write=False) as connection:
            found = OrgRepository(connection).client_with_secret(client_id)
        if found is None:
            verified = verify_for_unknown_client(secret)
        else:
            verified = verify_secret(secret, found[1])
        if found is None or not verified:
            self.throttle.failed(client_id, address)
            raise Unauthenticated("Unknown client id or wrong client secret")
        key = _secret_key(client_id, secret)
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[key] = (found[0], time.monotonic() + _CACHE_SECONDS)
        return found[0]

    def client_by_token(self, token: str) -> ApiClient:
        with self.database.transaction(write=False) as connection:
            client = OrgRepository(connection).client_for_token(
                token_digest(token), self.clock.now()
            )
        if client is None:
            raise Unauthenticated("Unknown or expired bearer token: ask POST /v3/oauth/token")
        return client

    def _caller(self, client: ApiClient) -> Caller:
        with self.database.transaction(write=False) as connection:
            org = OrgRepository(connection).get_org(client.org_id)
        if org is None:
            raise Unauthenticated("The client's org no longer exists")
        return Caller(client=client, org=org)


def _secret_key(client_id: str, secret: str) -> tuple[str, str]:
    """The verified-secret cache's key (the secret itself is never kept)."""
    return (client_id, hashlib.sha256(secret.encode()).hexdigest())


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (the throttle's unit, with the client id)."""
    return request.client.host if request.client is not None else "unknown"


def decode_basic(value: str) -> tuple[str, str]:
    """``base64(clientId:secret)`` -> ``(clientId, secret)``; bad encodings are refused."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthenticated("Basic credentials must be base64 of clientId:clientSecret") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or "\x00" in decoded:
        raise Unauthenticated("Basic credentials must be base64 of clientId:clientSecret")
    return client_id, secret


def authenticator_of(request: Request) -> Authenticator:
    """The app's authenticator, the one reader of ``app.state.authenticator``."""
    found: Authenticator = request.app.state.authenticator
    return found


async def authenticator(request: Request) -> Authenticator:
    """The app's authenticator as a dependency (see :mod:`milestones.api.dependencies`)."""
    return authenticator_of(request)


AppAuthenticator = Annotated[Authenticator, Depends(authenticator)]


def current_caller(
    request: Request,
    _basic_scheme: Annotated[None, Depends(_basic)],
    _bearer_scheme: Annotated[None, Depends(_bearer)],
    authenticator: AppAuthenticator,
) -> Caller:
    """The authenticated caller of a request (the security schemes document the headers)."""
    scheme, value = _credentials(request)
    if scheme == "basic":
        client_id, secret = decode_basic(value)
        caller = authenticator.by_secret(client_id, secret, client_address(request))
    else:
        caller = authenticator.by_token(value)
    noted(request, caller.client)
    return caller


def noted(request: Request, client: ApiClient) -> ApiClient:
    """Who the request is, for its access log line (``milestones.api.observe``)."""
    request.state.org_id = client.org_id
    request.state.client_id = client.client_id
    return client


def _credentials(request: Request) -> tuple[str, str]:
    """``("basic" | "bearer", value)`` from the Authorization header, or refused."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme in ("basic", "bearer") and value:
        return scheme, value
    raise Unauthenticated(
        "Credentials required: Authorization: Basic base64(clientId:clientSecret) or Bearer <token>"
    )


CurrentCaller = Annotated[Caller, Depends(current_caller)]


async def current_client(request: Request) -> ApiClient:
    """The authenticated API client, for reads that need only its org's id, not the org.

    Same credentials and answers as :func:`current_caller`, without reading the org (an API
    client's org always exists: ``api_clients.org_id`` is a foreign key and orgs are never
    deleted). A secret verified in the last minute is checked in the event loop, with no
    database and no worker thread; anything else goes to a worker thread as before.

    It takes the request alone, not the security schemes and the authenticator as
    dependencies: it serves the one-event call and the user view, where FastAPI's solving
    of each dependency is a share of the call. Its routes name the schemes in the OpenAPI
    document with :data:`CLIENT_SECURITY`.
    """
    authenticator = authenticator_of(request)
    scheme, value = _credentials(request)
    if scheme == "basic":
        client_id, secret = decode_basic(value)
        address = client_address(request)
        verified = authenticator.verified_client(client_id, secret, address)
        if verified is not None:
            return noted(request, verified)
        return noted(
            request,
            await run_in_threadpool(authenticator.client_by_secret, client_id, secret, address),
        )
    return noted(request, await run_in_threadpool(authenticator.client_by_token, value))


# What the security scheme dependencies of :func:`current_caller` write into an operation.
CLIENT_SECURITY: dict[str, object] = {
    "security": [{type(_basic).__name__: []}, {type(_bearer).__name__: []}]
}


CurrentClient = Annotated[ApiClient, Depends(current_client)]


def scope_org_ids(caller: Caller | ApiClient, headers: Headers, database: Database) -> list[int]:
    """The orgs a read covers, from the ``DATA-SCOPE`` and ``DATA-SCOPE-ORG`` headers."""
    scope = headers.get("data-scope", "SELF").strip().upper() or "SELF"
    if scope == "SELF":
        return [caller.org_id]
    if scope not in ("OTHER", "ALL"):
        raise InvalidInput("DATA-SCOPE must be SELF, OTHER or ALL", "DATA-SCOPE")
    # The header is read (and a bad one refused) before the database is asked anything.
    wanted = _org_id_list(headers.get("data-scope-org", "")) if scope == "OTHER" else []
    with database.transaction(write=False) as connection:
        connected = OrgRepository(connection).connected_org_ids(caller.org_id)
    if scope == "ALL":
        return [caller.org_id, *sorted(connected)]
    for org_id in wanted:
        if org_id != caller.org_id and org_id not in connected:
            raise OutOfScope(
                f"Org {org_id} is not connected to org {caller.org_id}", "DATA-SCOPE-ORG"
            )
    return wanted


MAX_SCOPE_ORGS = 100
# One entry of the comma-separated list: it starts at a character that is neither a comma
# nor a space and runs to the next comma. Nothing to backtrack, so a scan is linear.
_SCOPE_ENTRY = re.compile(r"[^,\s][^,]*")


def _org_id_list(raw: str) -> list[int]:
    """``"2, 3,2"`` -> ``[2, 3]``; at most :data:`MAX_SCOPE_ORGS` entries, each an org id.

    Only the first ``MAX_SCOPE_ORGS + 1`` entries are ever looked at, so a header of any
    length is refused as fast as a short one.
    """
    entries = [
        match.group().strip() for match in islice(_SCOPE_ENTRY.finditer(raw), MAX_SCOPE_ORGS + 1)
    ]
    if not entries:
        raise InvalidInput(
            "DATA-SCOPE OTHER needs DATA-SCOPE-ORG: org ids, comma-separated", "DATA-SCOPE-ORG"
        )
    if len(entries) > MAX_SCOPE_ORGS:
        raise InvalidInput(
            f"DATA-SCOPE-ORG takes at most {MAX_SCOPE_ORGS} org ids; ask for more orgs in "
            "several calls, or use DATA-SCOPE ALL",
            "DATA-SCOPE-ORG",
        )
    ids: dict[int, None] = {}
    for entry in entries:
        if not (entry.isascii() and entry.isdigit()) or len(entry) > 18:
            raise InvalidInput(
                f"DATA-SCOPE-ORG holds '{entry[:40]}', not an org id", "DATA-SCOPE-ORG"
            )
        ids.setdefault(int(entry), None)
    return list(ids)
