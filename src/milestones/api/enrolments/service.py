"""Enrolling customers in IMPORT targets: one at a time, or streamed from a CSV (SPEC §8).

The import reads its body as a stream and applies it in chunks, each in its own
transaction: a bad line is reported and skipped, a bad header stops the import
before anything is applied, and rows applied before a fatal error stay applied.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from milestones.api.enrolments.schemas import EnrolmentIn
from milestones.domain.enrolment import (
    MAX_IMPORT_ROWS,
    BadRow,
    CsvLayout,
    EnrolmentRecord,
    ImportRow,
    ImportSummary,
    Line,
    LineReader,
    TooManyRows,
)
from milestones.domain.errors import InvalidInput, NotFound
from milestones.domain.target_groups import EnrolmentMethod, Target, TargetGroup
from milestones.store.database import Database
from milestones.store.enrolments import EnrolmentRepository
from milestones.store.target_groups import TargetGroupRepository

CHUNK_ROWS = 5_000
HEADER = "userId,targetValue[,periodRefCode]"
Progress = Callable[[int, ImportSummary], None]

_HOW = {
    EnrolmentMethod.TRANSACTION: "TRANSACTION (the first qualifying event enrols a customer)",
    EnrolmentMethod.AUDIENCE_FILTER: "AUDIENCE_FILTER (membership of its audience groups)",
}


@dataclass(frozen=True, slots=True)
class Enrolled:
    """An enrolment as stored, with the group and period names the answer shows."""

    id: int
    group_id: int
    record: EnrolmentRecord
    period_ref_code: str | None


def enrol(
    connection: Connection,
    org_id: int,
    group_id: int,
    target_id: int,
    body: EnrolmentIn,
    now: datetime,
) -> Enrolled:
    """Enrol one customer in an IMPORT target, or change the values of their enrolment."""
    group = _group(connection, org_id, group_id)
    target = next((t for t in group.targets if t.id == target_id), None)
    if target is None:
        raise NotFound(f"No target {target_id} in target group {group_id}", "targetId")
    _require_import(target, "targetId")
    period_id = None
    if body.periodRefCode is not None:
        period_id = _period_ids(group).get(body.periodRefCode)
        if period_id is None:
            raise InvalidInput(
                f"periodRefCode '{body.periodRefCode}' is not a period of target group "
                f"{group_id}; its periods are {_ref_codes(group)}",
                "periodRefCode",
            )
    record = EnrolmentRecord(
        target_id=target.id,
        user_id=body.userId,
        period_id=period_id,
        target_value=body.targetValue,
        initial_value=body.initialValue,
        reset_streak=body.resetStreak,
        enrolled_at=now,
    )
    enrolment_id, stored = EnrolmentRepository(connection).upsert(org_id, record)
    return Enrolled(enrolment_id, group.id, stored, body.periodRefCode)


async def import_enrolments(
    database: Database,
    org_id: int,
    group_id: int,
    target_id: int | None,
    body: AsyncIterable[bytes],
    now: datetime,
    *,
    max_rows: int = MAX_IMPORT_ROWS,
    chunk_rows: int = CHUNK_ROWS,
    on_progress: Progress | None = None,
) -> ImportSummary:
    """Apply a CSV of ``userId,targetValue[,periodRefCode]`` to a group's IMPORT targets.

    ``on_progress`` hears the bytes read so far after every piece of the body.
    """
    importer = await run_in_threadpool(
        _Importer.start, database, org_id, group_id, target_id, now, max_rows, chunk_rows
    )
    reader = LineReader()
    bytes_read = 0
    async for piece in body:
        bytes_read += len(piece)
        for line in reader.feed(piece):
            if importer.take(line):
                await run_in_threadpool(importer.flush)
        if on_progress is not None:
            on_progress(bytes_read, importer.summary)
    for line in reader.close():
        importer.take(line)
    if importer.layout is None:
        raise InvalidInput(
            f"The body is empty: its first line must be the header {HEADER}", "header"
        )
    await run_in_threadpool(importer.flush)
    if on_progress is not None:
        on_progress(bytes_read, importer.summary)
    return importer.summary


class _Importer:
    """Parses lines into rows and writes them a chunk (one transaction) at a time."""

    def __init__(
        self,
        database: Database,
        org_id: int,
        target_ids: list[int],
        period_ids: dict[str, int],
        now: datetime,
        max_rows: int,
        chunk_rows: int,
    ) -> None:
        self.summary = ImportSummary()
        self.layout: CsvLayout | None = None
        self._database = database
        self._org_id = org_id
        self._target_ids = target_ids
        self._period_ids = period_ids
        self._now = now
        self._max_rows = max_rows
        self._chunk_rows = chunk_rows
        self._pending: list[ImportRow] = []
        self._refused_line: int | None = None

    @classmethod
    def start(
        cls,
        database: Database,
        org_id: int,
        group_id: int,
        target_id: int | None,
        now: datetime,
        max_rows: int,
        chunk_rows: int,
    ) -> _Importer:
        """Check the group and its targets before a byte of the body is read."""
        with database.transaction(write=False) as connection:
            group = _group(connection, org_id, group_id)
        if target_id is not None:
            target = next((t for t in group.targets if t.id == target_id), None)
            if target is None:
                raise InvalidInput(
                    f"targetId {target_id} is not a target of target group {group_id}", "targetId"
                )
            _require_import(target, "targetId")
            target_ids = [target.id]
        else:
            target_ids = [
                t.id for t in group.targets if t.enrolment_method is EnrolmentMethod.IMPORT
            ]
            if not target_ids:
                raise InvalidInput(
                    f"target group {group_id} has no IMPORT target to enrol customers in",
                    "groupId",
                )
        return cls(database, org_id, target_ids, _period_ids(group), now, max_rows, chunk_rows)

    def take(self, line: Line) -> bool:
        """Read one line; true when a chunk is ready to be written (or the row limit is hit)."""
        if line.text is not None and not line.text.strip():
            return False
        if self.layout is None:
            if line.text is None:
                raise InvalidInput(f"the header line cannot be read: {line.problem}", "header")
            self.layout = CsvLayout.from_header(line.text)
            return False
        if self.summary.rows_read >= self._max_rows:
            self._refused_line = line.number
            return True
        self.summary.rows_read += 1
        if line.text is None:
            self.summary.reject(line.number, line.problem or "the line cannot be read")
            return False
        try:
            self._pending.append(self.layout.parse(line.text, self._period_ids))
        except BadRow as problem:
            self.summary.reject(line.number, str(problem))
        return len(self._pending) >= self._chunk_rows

    def flush(self) -> None:
        """Write the rows read so far in one transaction; stop if the row limit was passed."""
        if self._pending:
            records = [
                EnrolmentRecord(
                    target_id=target_id,
                    user_id=row.user_id,
                    period_id=row.period_id,
                    target_value=row.target_value,
                    initial_value=None,
                    reset_streak=False,
                    enrolled_at=self._now,
                )
                for target_id in self._target_ids
                for row in self._pending
            ]
            with self._database.transaction() as connection:
                EnrolmentRepository(connection).upsert_many(self._org_id, records)
            self.summary.rows_applied += len(self._pending)
            self._pending = []
        if self._refused_line is not None:
            summary = self.summary
            raise TooManyRows(
                f"The CSV has more than {self._max_rows:,} rows: the first {self._max_rows:,} "
                f"were read ({summary.rows_applied:,} applied, {summary.rows_rejected:,} "
                f"rejected) and the rest, from line {self._refused_line:,}, was not; "
                "split the file and import the rest",
                summary,
            )


def _group(connection: Connection, org_id: int, group_id: int) -> TargetGroup:
    group = TargetGroupRepository(connection).find([org_id], group_id)
    if group is None:
        raise NotFound(f"No target group {group_id} in org {org_id}", "groupId")
    return group


def _require_import(target: Target, field: str) -> None:
    method = target.enrolment_method
    if method is not EnrolmentMethod.IMPORT:
        raise InvalidInput(
            f"target {target.id} enrols customers by {_HOW[method]}, not by IMPORT; "
            "only IMPORT targets take enrolments",
            field,
        )


def _period_ids(group: TargetGroup) -> dict[str, int]:
    return {period.ref_code: period.id for period in group.periods}


def _ref_codes(group: TargetGroup) -> str:
    codes = [period.ref_code for period in group.periods]
    shown = ", ".join(codes[:10])
    return shown + (f" and {len(codes) - 10} more" if len(codes) > 10 else "")
