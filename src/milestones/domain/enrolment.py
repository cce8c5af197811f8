"""Enrolment of customers in IMPORT targets, and the CSV import's rules (SPEC §8).

The CSV is read as a byte stream, line by line (:class:`LineReader`), and each
data line is checked on its own (:meth:`CsvLayout.parse`): a bad line is
reported by its number and skipped, the good ones are applied.

>>> layout = CsvLayout.from_header("userId,targetValue")
>>> layout.parse("42,1200.5", {})
ImportRow(user_id=42, target_value=Decimal('1200.500'), period_id=None)
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from milestones.domain.errors import InvalidInput, PayloadTooLarge

MAX_IMPORT_ROWS = 1_000_000
MAX_LISTED_ERRORS = 1_000
MAX_LINE_BYTES = 64 * 1024
MAX_USER_ID = 2**62
MAX_VALUE = Decimal(10) ** 15
_MILLI = Decimal("0.001")
_BOM = b"\xef\xbb\xbf"
_COLUMNS = ("userId", "targetValue", "periodRefCode")
_REQUIRED = ("userId", "targetValue")


@dataclass(frozen=True, slots=True)
class EnrolmentRecord:
    """One customer enrolled in one IMPORT target, for one period or (``None``) for all."""

    target_id: int
    user_id: int
    period_id: int | None
    target_value: Decimal | None
    initial_value: Decimal | None
    reset_streak: bool
    enrolled_at: datetime


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A good CSV line: who, their target value, and the period (``None`` = every period)."""

    user_id: int
    target_value: Decimal
    period_id: int | None


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one CSV line was skipped; the header is line 1."""

    line: int
    message: str


@dataclass(slots=True)
class ImportSummary:
    """What an import did so far: rows read, applied, rejected, and the first errors."""

    rows_read: int = 0
    rows_applied: int = 0
    rows_rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False

    def reject(self, line: int, message: str) -> None:
        self.rows_rejected += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(RowError(line, message))
        else:
            self.errors_truncated = True


class TooManyRows(PayloadTooLarge):
    """A CSV with more data rows than allowed; the rows before the limit stay applied."""

    def __init__(self, message: str, summary: ImportSummary) -> None:
        super().__init__(message, "body")
        self.summary = summary


class BadRow(ValueError):
    """A CSV line that cannot be applied; the message says why."""


@dataclass(frozen=True, slots=True)
class Line:
    """One physical line of the body: its text, or why it could not be read."""

    number: int
    text: str | None
    problem: str | None = None


class LineReader:
    """Splits a byte stream into numbered UTF-8 lines, chunk by chunk.

    Handles a line split across chunks, CRLF and LF endings, a leading BOM, and
    lines too long to be CSV rows (reported, not buffered).
    """

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._max = max_line_bytes
        self._pending = b""
        self._number = 0
        self._overlong = False
        self._started = False

    def feed(self, chunk: bytes) -> list[Line]:
        """The lines completed by ``chunk``."""
        data = self._pending + chunk
        if not self._started:
            if len(data) < len(_BOM) and _BOM.startswith(data):
                self._pending = data
                return []
            self._started = True
            data = data.removeprefix(_BOM)
        parts = data.split(b"\n")
        self._pending = parts.pop()
        lines = [self._line(part) for part in parts]
        if len(self._pending) > self._max:
            self._overlong = True
            self._pending = b""
        return lines

    def close(self) -> list[Line]:
        """The last line, when the stream does not end with a newline."""
        if not self._started:
            self._started = True
            self._pending = self._pending.removeprefix(_BOM)
        if self._pending or self._overlong:
            last, self._pending = self._pending, b""
            return [self._line(last)]
        return []

    def _line(self, raw: bytes) -> Line:
        self._number += 1
        if self._overlong or len(raw) > self._max:
            self._overlong = False
            return Line(self._number, None, f"the line is over {self._max:,} bytes")
        try:
            return Line(self._number, raw.removesuffix(b"\r").decode("utf-8"))
        except UnicodeDecodeError:
            return Line(self._number, None, "the line is not valid UTF-8")


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """Where each column is, from the header line (names case-insensitive, any order)."""

    width: int
    user_id: int
    target_value: int
    period_ref_code: int | None

    @classmethod
    def from_header(cls, header: str) -> CsvLayout:
        """The layout a header names, or InvalidInput (field ``header``)."""
        expected = "userId,targetValue[,periodRefCode]"
        names = [name.strip().strip('"').strip() for name in _fields(header)]
        known = {column.casefold(): column for column in _COLUMNS}
        positions: dict[str, int] = {}
        for position, name in enumerate(names):
            column = known.get(name.casefold())
            if column is None:
                raise InvalidInput(
                    f"the first line must be the header {expected}: '{name[:40]}' is not one "
                    "of those columns",
                    "header",
                )
            if column in positions:
                raise InvalidInput(f"the header names {column} twice", "header")
            positions[column] = position
        missing = [column for column in _REQUIRED if column not in positions]
        if missing:
            raise InvalidInput(
                f"the header line is missing {' and '.join(missing)}: the first line must be "
                f"{expected}",
                "header",
            )
        return cls(
            width=len(names),
            user_id=positions["userId"],
            target_value=positions["targetValue"],
            period_ref_code=positions.get("periodRefCode"),
        )

    def parse(self, text: str, period_ids: Mapping[str, int]) -> ImportRow:
        """One data line as a row, or BadRow saying what is wrong with it."""
        values = [value.strip() for value in _fields(text)]
        if len(values) != self.width:
            raise BadRow(f"{len(values)} columns where the header has {self.width}")
        period_id = None
        if self.period_ref_code is not None and values[self.period_ref_code]:
            ref_code = values[self.period_ref_code]
            period_id = period_ids.get(ref_code)
            if period_id is None:
                raise BadRow(f"periodRefCode '{ref_code[:100]}' is not a period of this group")
        return ImportRow(
            user_id=user_id_of(values[self.user_id]),
            target_value=target_value_of(values[self.target_value]),
            period_id=period_id,
        )


def user_id_of(text: str) -> int:
    """A positive integer customer id."""
    if (
        not (text.isascii() and text.isdigit())
        or len(text) > 19
        or not 0 < int(text) <= MAX_USER_ID
    ):
        raise BadRow(f"userId '{text[:40]}' is not a positive integer")
    return int(text)


def target_value_of(text: str) -> Decimal:
    """A positive number with at most 3 decimal places."""
    problem = f"targetValue '{text[:40]}' is not a positive number with at most 3 decimals"
    if not text or len(text) > 40:
        raise BadRow(problem)
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise BadRow(problem) from exc
    if not value.is_finite() or value <= 0 or value >= MAX_VALUE:
        raise BadRow(problem)
    if value != value.quantize(_MILLI):
        raise BadRow(problem)
    return value.quantize(_MILLI)


def _fields(text: str) -> list[str]:
    if '"' not in text:
        return text.split(",")
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return text.split(",")
