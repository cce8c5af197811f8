"""The response envelope ``{"data", "errors", "warnings"}`` and exact JSON rendering.

Decimals are written as JSON numbers with their own digits (``1200.000``), never
through binary floats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
import simplejson
from fastapi.responses import Response

_OPTIONS = orjson.OPT_NON_STR_KEYS


def _exact(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")


def render(content: object) -> bytes:
    """JSON bytes with Decimals as exact numbers.

    orjson writes a bulk answer's tens of thousands of side effects several times faster
    than simplejson; each Decimal goes in as its own digits. What orjson refuses (an
    integer wider than 64 bits in a stored custom field) is written by simplejson, with
    the same separators and the same exact numbers.
    """
    try:
        return orjson.dumps(content, default=_exact, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return simplejson.dumps(
            content, use_decimal=True, ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")


class EnvelopeResponse(Response):
    """A JSON response whose body is already in the envelope."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return render(content)


def ok(
    data: object,
    *,
    status_code: int = 200,
    warnings: Sequence[Mapping[str, object]] = (),
    pagination: Mapping[str, int] | None = None,
) -> EnvelopeResponse:
    """A successful answer."""
    body: dict[str, object] = {}
    if pagination is not None:
        body["pagination"] = dict(pagination)
    body["data"] = data
    body["errors"] = []
    body["warnings"] = list(warnings)
    return EnvelopeResponse(body, status_code=status_code)


def failed(status_code: int, errors: Sequence[Mapping[str, object]]) -> EnvelopeResponse:
    """An error answer: ``data`` is null and ``errors`` says why."""
    return EnvelopeResponse(
        {"data": None, "errors": list(errors), "warnings": []}, status_code=status_code
    )
