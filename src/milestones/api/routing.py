"""Request parsing that keeps numbers exact: JSON floats become Decimals, never binary floats."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads_exact(body: bytes | str) -> Any:
    """Parse JSON with every non-integer number as a Decimal; NaN and Infinity refused."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        message = str(exc)
        if "digits" in message:
            message = "a number has too many digits"
        raise json.JSONDecodeError(message, text, 0) from exc
    except RecursionError as exc:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        raise json.JSONDecodeError("nested too deeply", text, 0) from exc


class ExactJSONRequest(Request):
    """A request whose ``json()`` keeps decimals exact."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_exact(await self.body())
        return self._json


class ExactRoute(APIRoute):
    """An API route that parses bodies with :class:`ExactJSONRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact_handler(request: Request) -> Response:
            return await handler(ExactJSONRequest(request.scope, request.receive))

        return exact_handler
