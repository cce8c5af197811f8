"""Every request observed: its id, its access line, its metrics (SPEC §19).

A pure ASGI middleware, outermost: it takes ``X-Request-ID`` from the request when it is
a plain token (letters, digits, ``.-_:``, at most 128), else makes one, and returns it on
every answer; it counts the request and times it by route template and status, and
writes one access line with the org and API client the request authenticated as
(``request.state``, set by :mod:`milestones.api.auth`). No header, query or body is
logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from milestones.api.envelope import render
from milestones.api.errors import error_item
from milestones.observability import metrics
from milestones.observability.logs import ACCESS, REQUEST_ID
from milestones.store.database import ABANDONED, Database

_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
STOPPING = 300505  # the answer to a request a stopping server gave up on


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
        abandoned = threading.Event()
        guard = ABANDONED.set(abandoned)
        started = time.perf_counter()
        status = 500
        answered = False
        header = (b"x-request-id", request_id.encode())

        async def observed_send(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                answered = True
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except asyncio.CancelledError:
            # The server gave up on the request (a shutdown's deadline): the handler's
            # thread may still run, but its transaction will not commit. Say so if we can.
            abandoned.set()
            if not answered:
                with contextlib.suppress(Exception):
                    await _stopping(observed_send)
            raise
        finally:
            self._observe(scope, status, time.perf_counter() - started)
            ABANDONED.reset(guard)
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


async def _stopping(send: Send) -> None:
    body = render(
        {
            "data": None,
            "errors": [
                error_item(
                    STOPPING,
                    "The server is stopping and gave up on this request: nothing of it was "
                    "applied; send it again",
                )
            ],
            "warnings": [],
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            if _GIVEN_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex
