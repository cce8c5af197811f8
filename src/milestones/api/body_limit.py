"""Request body limits, answered with 413 in the envelope (never a plain-text reply)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from milestones.api.envelope import failed
from milestones.domain.errors import PayloadTooLarge


class BodyLimit:
    """Refuse bodies over a limit: by ``Content-Length`` up front, or while streaming.

    ``by_path`` maps path endings (``/v3/events/bulk``) to their own limits.
    """

    def __init__(
        self, app: ASGIApp, default: int, by_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default = default
        self.by_path = dict(by_path or {})

    def _limit(self, path: str) -> int:
        for suffix, limit in self.by_path.items():
            if path.endswith(suffix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"].rstrip("/"))
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status_code=413, detail=_message(limit))
            return message

        await self.app(scope, counting_receive, send)


def _message(limit: int) -> str:
    return f"The request body is over its limit of {limit:,} bytes"


def _too_large(limit: int) -> ASGIApp:
    return failed(413, [{"code": PayloadTooLarge.code, "message": _message(limit)}])
