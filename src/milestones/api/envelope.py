"""The response envelope ``{"data", "errors", "warnings"}`` and exact JSON rendering.

Decimals are written as JSON numbers with their own digits (``1200.000``), never
through binary floats.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
import simplejson
from fastapi.responses import Response


class Prerendered:
    """A value already written as JSON: :func:`render_float_free` splices ``json`` in as it
    is; :func:`render` writes ``plain()`` instead, which must be the value ``json`` was
    written from (so both give the same bytes)."""

    __slots__ = ("json", "plain")

    def __init__(self, json: bytes, plain: Callable[[], object]) -> None:
        self.json = json
        self.plain = plain


def render(content: object) -> bytes:
    """JSON bytes with Decimals as exact numbers.

    Text that is not valid Unicode (a lone surrogate stored before input was checked) is
    written with U+FFFD in its place: a bad value must not make every read of it fail.
    """
    text = simplejson.dumps(
        content, use_decimal=True, ensure_ascii=False, separators=(",", ":"), default=_plain
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _plain(value: object) -> object:
    if isinstance(value, Prerendered):
        return value.plain()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# Types orjson would write but simplejson refuses or writes its own way go to ``default``.
_LEAVE_TO_SIMPLEJSON = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def render_float_free(content: object) -> bytes:
    """The bytes :func:`render` writes, several times faster, for content without floats.

    orjson writes some binary floats differently (``1e-7`` where simplejson writes
    ``1e-07``), so only content that cannot hold a ``float`` may come here: values from
    the domain (Decimals, ints, strings, booleans) and JSON columns, which the store
    reads with ``use_decimal``. Decimals are written by ``str()``, as simplejson does.
    Whatever orjson refuses (a NaN or infinite Decimal, an integer beyond 64 bits, a
    non-string key, a lone surrogate, a type neither knows) goes to :func:`render`,
    which answers or fails exactly as before.
    """
    try:
        return orjson.dumps(content, default=_exact_decimal, option=_LEAVE_TO_SIMPLEJSON)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return render(content)


def _exact_decimal(value: object) -> orjson.Fragment:
    if type(value) is Decimal and value.is_finite():
        return orjson.Fragment(str(value).encode())
    if type(value) is Prerendered:
        return orjson.Fragment(value.json)
    raise TypeError(f"{type(value).__name__} is left to simplejson")


class EnvelopeResponse(Response):
    """A JSON response whose body is already in the envelope."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return render(content)


class FloatFreeEnvelopeResponse(EnvelopeResponse):
    """An envelope whose content holds no binary floats (see :func:`render_float_free`)."""

    def render(self, content: Any) -> bytes:
        return render_float_free(content)


def ok(
    data: object,
    *,
    status_code: int = 200,
    warnings: Sequence[Mapping[str, object]] = (),
    pagination: Mapping[str, int] | None = None,
    float_free: bool = False,
) -> EnvelopeResponse:
    """A successful answer; ``float_free`` when ``data`` cannot hold a binary float."""
    body: dict[str, object] = {}
    if pagination is not None:
        body["pagination"] = dict(pagination)
    body["data"] = data
    body["errors"] = []
    body["warnings"] = list(warnings)
    if float_free:
        return FloatFreeEnvelopeResponse(body, status_code=status_code)
    return EnvelopeResponse(body, status_code=status_code)


def failed(status_code: int, errors: Sequence[Mapping[str, object]]) -> EnvelopeResponse:
    """An error answer: ``data`` is null and ``errors`` says why."""
    return EnvelopeResponse(
        {"data": None, "errors": list(errors), "warnings": []}, status_code=status_code
    )
