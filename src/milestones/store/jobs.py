"""Jobs (SPEC §16): made, listed, claimed under a lease, checkpointed, ended. All their SQL.

A claim is one conditional UPDATE (QUEUED, or RUNNING with a lease run out), so two
workers never both win it, on SQLite as on PostgreSQL. A checkpoint is written in the
transaction of the work it records and only while the worker still holds the lease: a
worker that lost its lease (it stalled, another resumed the job) has its chunk rolled
back rather than counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from sqlalchemy import ColumnElement, Connection, Row, and_, case, func, insert, or_, select, update

from milestones.domain.errors import NotFound
from milestones.domain.jobs import JobProgress, JobStatus, JobType, LineError
from milestones.store.database import json_text, json_value
from milestones.store.tables import jobs

_OPEN = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class LeaseLost(Exception):
    """The job's lease is no longer this worker's: what it did is rolled back."""


@dataclass(frozen=True, slots=True)
class StoredJob:
    id: int
    org_id: int
    type: JobType
    status: JobStatus
    target_group_id: int | None
    input: str | None
    host: str | None
    total: int | None
    checkpoint: int
    progress: JobProgress
    failure: str | None
    resumed: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    options: dict[str, object] = field(default_factory=dict)
    result: str | None = None  # JSON: what it answers, once done (a simulation)


class JobRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def create(
        self,
        org_id: int,
        type_: JobType,
        now: datetime,
        *,
        input_path: str | None = None,
        host: str | None = None,
        total: int | None = None,
        target_group_id: int | None = None,
        checkpoint: int = 0,
        options: dict[str, object] | None = None,
    ) -> StoredJob:
        job_id = self._db.execute(
            insert(jobs)
            .values(
                org_id=org_id,
                type=type_.value,
                status=JobStatus.QUEUED.value,
                target_group_id=target_group_id,
                input=input_path,
                host=host,
                total=total,
                done=0,
                checkpoint=checkpoint,
                counts="{}",
                errors="[]",
                resumed=0,
                created_at=now,
                updated_at=now,
                # simplejson, not orjson: a simulation's options hold exact decimals.
                options=json_text(options) if options else None,
            )
            .returning(jobs.c.id)
        ).scalar_one()
        return self.get(org_id, int(job_id))

    def get(self, org_id: int, job_id: int) -> StoredJob:
        row = self._db.execute(
            select(jobs).where(jobs.c.id == job_id, jobs.c.org_id == org_id)
        ).first()
        if row is None:
            raise NotFound(f"no job {job_id}", "id")
        return _job(row)

    def by_id(self, job_id: int) -> StoredJob | None:
        row = self._db.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return None if row is None else _job(row)

    def page(self, org_id: int, limit: int, offset: int) -> tuple[list[StoredJob], int]:
        """The org's jobs, newest first, and how many it has."""
        total = self._db.execute(
            select(func.count()).select_from(jobs).where(jobs.c.org_id == org_id)
        ).scalar_one()
        rows = self._db.execute(
            select(jobs)
            .where(jobs.c.org_id == org_id)
            .order_by(jobs.c.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return [_job(row) for row in rows], int(total)

    def backfills_of(self, org_id: int, group_id: int) -> list[StoredJob]:
        """The group's backfill jobs, oldest first."""
        return self.of_group(org_id, group_id, (JobType.BACKFILL,))

    def of_group(self, org_id: int, group_id: int, types: tuple[JobType, ...]) -> list[StoredJob]:
        """The group's jobs of ``types``, oldest first."""
        rows = self._db.execute(
            select(jobs)
            .where(
                jobs.c.org_id == org_id,
                jobs.c.target_group_id == group_id,
                jobs.c.type.in_([type_.value for type_ in types]),
            )
            .order_by(jobs.c.id)
        ).all()
        return [_job(row) for row in rows]

    def claimable(self, now: datetime, host: str, limit: int = 10) -> list[int]:
        """Jobs a worker on ``host`` may claim: queued, or running with a lease run out."""
        rows = self._db.execute(
            select(jobs.c.id)
            .where(_claimable(now), or_(jobs.c.host.is_(None), jobs.c.host == host))
            .order_by(jobs.c.id)
            .limit(limit)
        ).all()
        return [int(row[0]) for row in rows]

    def claim(self, job_id: int, worker: str, now: datetime, lease: timedelta) -> bool:
        """Take the job's lease; a job some worker was running before is resumed."""
        claimed = self._db.execute(
            update(jobs)
            .where(jobs.c.id == job_id, _claimable(now))
            .values(
                resumed=case(
                    (jobs.c.status == JobStatus.RUNNING.value, jobs.c.resumed + 1),
                    else_=jobs.c.resumed,
                ),
                status=JobStatus.RUNNING.value,
                worker=worker,
                lease_until=now + lease,
                started_at=func.coalesce(jobs.c.started_at, now),
                updated_at=now,
            )
        )
        return claimed.rowcount == 1

    def checkpoint(
        self,
        job_id: int,
        worker: str,
        checkpoint: int,
        progress: JobProgress,
        now: datetime,
        lease: timedelta,
    ) -> None:
        """Record how far the job got, in the transaction of that work; renews the lease."""
        written = self._db.execute(
            update(jobs)
            .where(*self._held(job_id, worker))
            .values(
                checkpoint=checkpoint,
                done=progress.done,
                counts=orjson.dumps(progress.counts).decode(),
                errors=_errors_text(progress.errors),
                lease_until=now + lease,
                updated_at=now,
            )
        )
        if written.rowcount != 1:
            raise LeaseLost(f"job {job_id} is no longer held by {worker}")

    def set_result(self, job_id: int, worker: str, result: str) -> None:
        """What the job answers (JSON), written with its last checkpoint."""
        written = self._db.execute(
            update(jobs).where(*self._held(job_id, worker)).values(result=result)
        )
        if written.rowcount != 1:
            raise LeaseLost(f"job {job_id} is no longer held by {worker}")

    def set_total(self, job_id: int, worker: str, total: int) -> None:
        self._db.execute(update(jobs).where(*self._held(job_id, worker)).values(total=total))

    def finish(
        self, job_id: int, worker: str, status: JobStatus, now: datetime, failure: str | None
    ) -> bool:
        ended = self._db.execute(
            update(jobs)
            .where(*self._held(job_id, worker))
            .values(
                status=status.value,
                failure=failure[:1000] if failure else None,
                worker=None,
                lease_until=None,
                finished_at=now,
                updated_at=now,
            )
        )
        return ended.rowcount == 1

    def release(self, job_id: int, worker: str, now: datetime) -> None:
        """A stopping worker lets go of the job: the next claim resumes it at once."""
        self._db.execute(
            update(jobs)
            .where(*self._held(job_id, worker))
            .values(worker=None, lease_until=now, updated_at=now)
        )

    @staticmethod
    def _held(job_id: int, worker: str) -> tuple[ColumnElement[bool], ...]:
        return (
            jobs.c.id == job_id,
            jobs.c.worker == worker,
            jobs.c.status == JobStatus.RUNNING.value,
        )


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        jobs.c.status == JobStatus.QUEUED.value,
        and_(
            jobs.c.status == JobStatus.RUNNING.value,
            or_(jobs.c.lease_until.is_(None), jobs.c.lease_until <= now),
        ),
    )


def _errors_text(errors: list[LineError]) -> str:
    return orjson.dumps([[error.line, error.message] for error in errors]).decode()


def _job(row: Row[tuple[object, ...]]) -> StoredJob:
    m = row._mapping
    counts = {str(k): int(v) for k, v in orjson.loads(m["counts"]).items()}
    errors = [LineError(int(line), str(message)) for line, message in orjson.loads(m["errors"])]
    progress = JobProgress(done=int(m["done"]), counts=counts, errors=errors)
    return StoredJob(
        id=int(m["id"]),
        org_id=int(m["org_id"]),
        type=JobType(m["type"]),
        status=JobStatus(m["status"]),
        target_group_id=None if m["target_group_id"] is None else int(m["target_group_id"]),
        input=m["input"],
        host=m["host"],
        total=None if m["total"] is None else int(m["total"]),
        checkpoint=int(m["checkpoint"]),
        progress=progress,
        failure=m["failure"],
        resumed=int(m["resumed"]),
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        options=dict(json_value(m["options"])) if m["options"] else {},
        result=m["result"],
    )
