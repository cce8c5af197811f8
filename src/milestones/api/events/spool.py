"""A bulk answer written a chunk at a time to a spooled file, and streamed once committed.

A bulk call's answer can be hundreds of megabytes (1,000 events that each reach 650
targets), far more than its body. It is written result by result as each chunk of
events is applied (see :mod:`milestones.engine.chunked`), into a temporary file that
stays in memory up to :data:`SPOOL_IN_MEMORY` bytes and then goes to disk; the answer
is sent from that file only after the transaction commits, so a fault before then
still answers an error and stores nothing. The bytes are those the whole envelope
would render to at once (``{"data": {"results": [...], "summary": {...}}, "errors":
[], "warnings": []}``, compact, as orjson and simplejson write it).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable
from typing import IO

from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from milestones.api.envelope import render_float_free
from milestones.api.events.views import AnswerParts, SideEffects, outcome_view, summary_view
from milestones.domain.outcomes import EventStatus
from milestones.engine.ingest import EventOutcome

SPOOL_IN_MEMORY = 4 * 1024 * 1024
_BLOCK = 256 * 1024
_HEAD = b'{"data":{"results":['


class BulkAnswerSpool:
    """The results of a bulk call so far, as JSON bytes, and the counts of its summary."""

    def __init__(self, shown: SideEffects) -> None:
        self.shown = shown
        # Closed by the response once sent, or by close() when the call fails.
        spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self._file: IO[bytes] = spooled
        self._counts: Counter[EventStatus] = Counter()

    def add(self, outcomes: Iterable[EventOutcome]) -> None:
        """Write the next outcomes' results, in order."""
        parts = AnswerParts(prerendered=True)  # per chunk: cyclic windows differ per customer
        for outcome in outcomes:
            if self._counts:
                self._file.write(b",")
            try:
                written = render_float_free(outcome_view(outcome, parts, self.shown))
            except TypeError:
                # Text orjson refuses (a lone surrogate stored before input was checked)
                # made the renderer fall back to simplejson, which cannot write a
                # prerendered value: the same outcome again with plain Decimals.
                written = render_float_free(outcome_view(outcome, AnswerParts(), self.shown))
            self._file.write(written)
            self._counts[outcome.status] += 1

    def response(self) -> SpooledResponse:
        """The whole answer, streamed from the file (which it closes when done)."""
        tail = b'],"summary":' + render_float_free(summary_view(self._counts))
        tail += b'},"errors":[],"warnings":[]}'
        return SpooledResponse(_HEAD, self._file, tail)

    def close(self) -> None:
        self._file.close()


class SpooledResponse(Response):
    """A 200 JSON answer of ``head``, the file's bytes from its start, then ``tail``."""

    media_type = "application/json"

    def __init__(self, head: bytes, file: IO[bytes], tail: bytes) -> None:
        super().__init__(status_code=200)
        size = file.tell()
        file.seek(0)
        self._parts = (head, file, tail)
        self.headers["content-length"] = str(len(head) + size + len(tail))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        head, file, tail = self._parts
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": head, "more_body": True})
            while block := await run_in_threadpool(file.read, _BLOCK):
                await send({"type": "http.response.body", "body": block, "more_body": True})
            await send({"type": "http.response.body", "body": tail})
        finally:
            file.close()
