"""Paths with a trailing slash are served as the same path without it, never redirected.

Starlette's own answer to ``/v3/targetGroups/`` is a redirect whose ``Location`` is built
from the request's ``Host`` header, so a forged Host made the server send its callers to
another site (SPEC §2: a redirect never names a host taken from the request). Serving the
path directly needs no ``Location`` at all.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class TrailingSlash:
    """Strip trailing slashes from the path (but the root's) before the app routes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = dict(scope)
            scope["path"] = path.rstrip("/") or "/"
            raw_path = scope.get("raw_path")
            if isinstance(raw_path, bytes):
                scope["raw_path"] = raw_path.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)
