"""Request parsing with the input hygiene of SPEC §2, for every route that takes JSON.

A JSON body must say so (``Content-Type: application/json`` or ``...+json``, else 415);
it is read by :func:`milestones.domain.json_input.read_json` (exact decimals, each key
once, valid Unicode, a bounded count of values) before FastAPI validates it. A fault
refuses the request naming the field, except inside one item of a route's item list
(``events[3]`` of a bulk call): that item alone is replaced by a :class:`RefusedItem`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from email.message import Message
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.routing import APIRoute

from milestones.domain.errors import (
    INVALID_INPUT,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from milestones.domain.json_input import Fault, Parsed, fault_field, read_json

_UTF8 = ("utf-8", "utf8", "us-ascii")
JSON_EXPECTED = "application/json"


@dataclass(frozen=True)
class RefusedItem:
    """An item of a list body refused while parsing: its errors, and what could be read."""

    errors: list[dict[str, object]]
    value: object


def fault_error(fault: Fault, skip: int = 0) -> dict[str, object]:
    """The envelope error of a fault, its path read from ``skip`` parts on."""
    message, field = _described(fault, skip)
    item: dict[str, object] = {"code": INVALID_INPUT, "message": message}
    if field:
        item["field"] = field
    return item


def _described(fault: Fault, skip: int = 0) -> tuple[str, str | None]:
    field = fault_field(fault.path[skip:])
    return (f"{field}: {fault.problem}", field) if field else (fault.problem, None)


ONE_BODY_VALUES = 200_000


def loads_exact(body: bytes | str) -> Any:
    """Parse JSON strictly (see :func:`read_json`); a fault raises :class:`InvalidInput`."""
    parsed = read_json(body, max_values=ONE_BODY_VALUES)
    _refuse(parsed.faults)
    return parsed.value


# Clients send the same few Content-Type values again and again: each is parsed once. Only
# short ones are kept, and at most 256 of them, so no header can make this grow unbounded.
_MEDIA_TYPES: dict[str, tuple[str, str | None]] = {}


def media_type(header: str | None) -> tuple[str, str | None]:
    """``"Application/JSON; charset=UTF-8"`` -> ``("application/json", "utf-8")``."""
    header = header or ""
    found = _MEDIA_TYPES.get(header)
    if found is None:
        found = _parsed_media_type(header)
        if len(header) <= 200:
            if len(_MEDIA_TYPES) >= 256:
                _MEDIA_TYPES.clear()
            _MEDIA_TYPES[header] = found
    return found


def _parsed_media_type(header: str) -> tuple[str, str | None]:
    message = Message()
    message["content-type"] = header
    charset = message.get_param("charset")
    return message.get_content_type(), charset.lower() if isinstance(charset, str) else None


def is_json(header: str | None) -> bool:
    kind, _ = media_type(header)
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def check_json_type(header: str | None) -> None:
    """Refuse with 415 a body that does not say it is UTF-8 JSON."""
    if not header:
        raise UnsupportedMediaType(
            f"the body must be JSON sent with Content-Type: {JSON_EXPECTED}; none was given",
            "Content-Type",
        )
    kind, charset = media_type(header)
    if not is_json(header):
        raise UnsupportedMediaType(
            f"the body must be JSON (Content-Type: {JSON_EXPECTED}), not {kind[:60]}",
            "Content-Type",
        )
    if charset is not None and charset not in _UTF8:
        raise UnsupportedMediaType(
            f"JSON must be UTF-8 (Content-Type: {JSON_EXPECTED}), not {charset[:40]}",
            "Content-Type",
        )


class ExactJSONRequest(Request):
    """A request whose ``json()`` is the body read once, strictly."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_exact(await self.body())
        return self._json

    def keep_json(self, value: Any) -> None:
        """What ``json()`` answers: the body as the route already read it."""
        self._json = value


class ExactRoute(APIRoute):
    """An API route whose JSON body is checked (type, hygiene, size) before validation.

    ``items_field`` names a list of independent items (``events``): a fault inside one
    item refuses that item only, and more than ``max_items`` of them is a 413.
    """

    items_field: ClassVar[str | None] = None
    max_items: ClassVar[int] = 0
    # Values one body may hold (SPEC §2: memory per request bounded, even 8 at once): a
    # single event or group is far below this; a bulk route allows a whole bulk's worth.
    max_values: ClassVar[int] = ONE_BODY_VALUES

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_json = self.body_field is not None

        async def exact_handler(request: Request) -> Response:
            exact = ExactJSONRequest(request.scope, request.receive)
            if takes_json:
                body = await exact.body()
                if body:
                    check_json_type(exact.headers.get("content-type"))
                    exact.keep_json(self._read(body))
            return await handler(exact)

        return exact_handler

    def _read(self, body: bytes) -> Any:
        try:
            parsed = read_json(body, too_large_field=self.items_field, max_values=self.max_values)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"The body is not valid JSON: {exc.msg} (at character {exc.pos})"
            ) from exc
        faults = self._refuse_items(parsed) if self.items_field else parsed.faults
        _refuse(faults)
        return parsed.value

    def _refuse_items(self, parsed: Parsed) -> list[Fault]:
        """Replace each item at fault by a :class:`RefusedItem`; answer the other faults."""
        name = self.items_field
        items = parsed.value.get(name) if isinstance(parsed.value, dict) else None
        if not isinstance(items, list):
            return parsed.faults
        if len(items) > self.max_items:
            raise PayloadTooLarge(
                f"a bulk call takes at most {self.max_items:,} {name}, not {len(items):,}", name
            )
        by_item: dict[int, list[dict[str, object]]] = {}
        others = []
        for fault in parsed.faults:
            if len(fault.path) > 1 and fault.path[0] == name and isinstance(fault.path[1], int):
                by_item.setdefault(fault.path[1], []).append(fault_error(fault, skip=2))
            else:
                others.append(fault)
        for index, errors in by_item.items():
            items[index] = RefusedItem(errors, items[index])
        return others


def _refuse(faults: list[Fault]) -> None:
    if faults:
        raise InvalidInput(*_described(faults[0]))
