"""The response envelope ``{"data", "errors", "warnings"}`` and exact JSON rendering.

Decimals are written as JSON numbers with their own digits (``1200.000``), never
through binary floats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import simplejson
from fastapi.responses import Response


def render(content: object) -> bytes:
    """JSON bytes with Decimals as exact numbers."""
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
