"""NDJSON event files (SPEC §16): a streamed body spooled to disk, read back line by line.

:func:`spool` writes a request body to a file as it arrives, holding one piece at a
time, and refuses it (the file removed) when a line is over 1 MB, when there are more
than 10,000,000 lines, or when its first line is not a JSON object: a JSON array, a CSV
or a binary file is not NDJSON. :class:`NdjsonReader` reads a file (plain or ``.gz``)
from a byte offset, a line at a time, each with its number and the offset after it, so
an import can checkpoint where it got to and resume there. :func:`line_submission`
reads one line as the single-event endpoint reads its body.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from milestones.api.events.schemas import submission
from milestones.api.routing import ONE_BODY_VALUES, fault_error
from milestones.domain.errors import InvalidInput, MilestonesError, PayloadTooLarge
from milestones.domain.jobs import MAX_IMPORT_LINES, MAX_LINE_BYTES
from milestones.domain.json_input import read_json
from milestones.engine.ingest import Submission

_SKIP_PIECE = 64 * 1024
_TOO_LONG = f"the line is over {MAX_LINE_BYTES:,} bytes"


async def spool(body: AsyncIterable[bytes], path: Path) -> int:
    """Write ``body`` to ``path``; its count of lines. Refused input leaves no file."""
    check = _Spooled()
    try:
        with path.open("wb") as out:
            async for piece in body:
                if piece:
                    check.add(piece)
                    out.write(piece)
        return check.finish()
    except BaseException:
        path.unlink(missing_ok=True)
        raise


class _Spooled:
    """Line lengths, the line count and the first line of a body seen a piece at a time."""

    def __init__(self) -> None:
        self.lines = 0  # complete lines (each ended by a newline) so far
        self.pending = 0  # bytes of the line not yet ended
        self.head = bytearray()  # the start of the body, until a non-blank line is whole
        self.checked = False

    def add(self, piece: bytes) -> None:
        parts = piece.split(b"\n")
        self._check_length(self.lines + 1, self.pending + len(parts[0]))
        for number, part in enumerate(parts[1:], start=self.lines + 2):
            self._check_length(number, len(part))
        if len(parts) == 1:
            self.pending += len(piece)
        else:
            self.lines += len(parts) - 1
            self.pending = len(parts[-1])
        if self.lines > MAX_IMPORT_LINES:
            raise PayloadTooLarge(f"an import takes at most {MAX_IMPORT_LINES:,} lines")
        if not self.checked:
            self.head += piece
            if len(parts) > 1:  # a line has ended: the first may be whole now
                self._check_head(complete=False)

    def finish(self) -> int:
        if not self.checked:
            self._check_head(complete=True)
        total = self.lines + (1 if self.pending else 0)
        if total > MAX_IMPORT_LINES:
            raise PayloadTooLarge(f"an import takes at most {MAX_IMPORT_LINES:,} lines")
        return total

    def _check_length(self, number: int, length: int) -> None:
        if length > MAX_LINE_BYTES:
            raise PayloadTooLarge(f"line {number:,}: {_TOO_LONG}", "body")

    def _check_head(self, *, complete: bool) -> None:
        lines = self.head.split(b"\n")
        whole = lines if complete else lines[:-1]
        for number, line in enumerate(whole, start=1):
            if line.strip():
                self.checked = True
                self.head = bytearray()
                if not _is_object(bytes(line)):
                    raise InvalidInput(
                        f"The body is not NDJSON: line {number} is not a JSON object "
                        "(send one event object per line, each line ending with a newline)",
                        "body",
                    )
                return
        if complete:
            raise InvalidInput("The body is empty: send one event object per line", "body")


def _is_object(line: bytes) -> bool:
    try:
        value = read_json(line, max_values=ONE_BODY_VALUES).value
    except (ValueError, MilestonesError):
        return False
    return isinstance(value, dict)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a file: its number, its bytes (``None`` when too long), the offset after it."""

    number: int
    text: bytes | None
    end: int


class NdjsonReader:
    """A file's lines from ``offset`` on (``line`` lines already read before it)."""

    def __init__(self, path: Path, offset: int = 0, line: int = 0) -> None:
        self.path = path
        self.offset = offset
        self.line = line
        self._file: IO[bytes] | None = None

    def __enter__(self) -> NdjsonReader:
        opened = _open(self.path)
        self._file = opened
        if self.offset:
            opened.seek(self.offset)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __iter__(self) -> Iterator[Line]:
        return self

    def __next__(self) -> Line:
        assert self._file is not None, "use the reader as a context manager"
        read = self._file.readline(MAX_LINE_BYTES + 2)
        if not read:
            raise StopIteration
        self.offset += len(read)
        self.line += 1
        if len(read) - read.endswith(b"\n") > MAX_LINE_BYTES:
            while read and not read.endswith(b"\n"):  # the rest of the long line
                read = self._file.readline(_SKIP_PIECE)
                self.offset += len(read)
            return Line(self.line, None, self.offset)
        return Line(self.line, read.rstrip(b"\n").rstrip(b"\r"), self.offset)


def count_lines(path: Path) -> int:
    """How many lines a file holds (a last line without a newline counts)."""
    opened = _open(path)
    lines, last = 0, b"\n"
    with opened:
        while piece := opened.read(1024 * 1024):
            lines += piece.count(b"\n")
            last = piece[-1:]
    return lines + (0 if last == b"\n" else 1)


def _open(path: Path) -> IO[bytes]:
    """A plain file, or a gzip file's decompressed bytes (``.gz``)."""
    if path.name.endswith(".gz"):
        return gzip.GzipFile(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def line_submission(text: bytes | None, zone: ZoneInfo) -> Submission:
    """One NDJSON line as an event, or refused with its errors."""
    if text is None:
        return _refused(_TOO_LONG)
    try:
        parsed = read_json(text, max_values=ONE_BODY_VALUES)
    except json.JSONDecodeError as exc:
        return _refused(f"not valid JSON: {exc.msg} (at character {exc.pos})")
    except (ValueError, MilestonesError) as exc:
        return _refused(f"not readable: {exc}")
    if parsed.faults:
        payload = parsed.value if isinstance(parsed.value, dict) else {}
        return Submission(None, payload, [fault_error(fault) for fault in parsed.faults])
    return submission(parsed.value, zone)


def error_message(errors: list[dict[str, object]]) -> str:
    """What a refused line's errors say, in one line."""
    said = []
    for error in errors:
        message, field = str(error.get("message", "")), error.get("field")
        said.append(message if not field or str(field) in message else f"{field}: {message}")
    return "; ".join(said)[:500] or "refused"


def _refused(message: str) -> Submission:
    return Submission(None, {}, [{"code": InvalidInput.code, "message": message}])
