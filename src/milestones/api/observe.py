"""Every request observed: its id, its access line, its metrics (SPEC §19).

A pure ASGI middleware, outermost: it takes ``X-Request-ID`` from the request when it is
a plain token (letters, digits, ``.-_:``, at most 128), else makes one, and returns it on
every answer; it counts the request and times it by route template and status, and
writes one access line with the org and API client the request authenticated as
(``request.state``, set by :mod:`milestones.api.auth`). No header, query or body is
logged.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from milestones.observability import metrics
from milestones.observability.logs import ACCESS, REQUEST_ID
from milestones.store.database import Database

_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class Observe:
    def __init__(self, app: ASGIApp, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", request_id.encode())

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self._observe(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        labels = (method, template, str(status))
        metrics.HTTP_REQUESTS.labels(*labels).inc()
        metrics.HTTP_DURATION.labels(*labels).observe(seconds)
        pool: Any = self.database.engine.pool
        if hasattr(pool, "checkedout"):
            metrics.POOL_IN_USE.set(pool.checkedout())
            metrics.POOL_SIZE.set(pool.checkedout() + pool.checkedin())
        state = scope.get("state") or {}
        ACCESS.info(
            "%s %s %d %.1f ms",
            method,
            template,
            status,
            seconds * 1000,
            extra={
                "method": method,
                "route": template,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "org_id": state.get("org_id"),
                "client_id": state.get("client_id"),
            },
        )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            if _GIVEN_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex
