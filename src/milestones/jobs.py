"""The job worker (SPEC §16): inside ``milestones serve``, and in process for the CLI import.

A worker claims a job (QUEUED, or RUNNING with its lease run out: its worker died) and
runs it. An event import reads its NDJSON file from the job's checkpoint, a chunk of
lines at a time; each chunk goes through the bulk endpoint's engine path
(:func:`milestones.engine.chunked.ingest_in_chunks`), each event as of its own time, its
notifications ``replayed``, and the job's new checkpoint (the byte offset after the
chunk's last line, the lines done, the outcomes, the first bad lines) is written in the
same transaction. A crash at any moment loses the chunk in flight and nothing else: the
next claim resumes after the last committed chunk, so no event is counted twice (and an
event seen again is a ``DUPLICATE`` anyway, by its ``eventId``).

Lease and job times are the wall clock's (they are about the work, not business time);
events are applied at the app's clock, like the bulk endpoint's.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.exc import DataError, IntegrityError

from milestones.api.events.ndjson import Line, NdjsonReader, error_message, line_submission
from milestones.api.events.schemas import submission
from milestones.clock import Clock
from milestones.domain.errors import MilestonesError
from milestones.domain.jobs import JobProgress, JobStatus, JobType
from milestones.domain.orgs import Org
from milestones.domain.outcomes import EventStatus
from milestones.domain.returns import ReturnState
from milestones.engine.catalogue import CatalogueCache
from milestones.engine.chunked import ChunkBudget, ingest_in_chunks
from milestones.engine.ingest import EventOutcome, Submission, ingest
from milestones.engine.returns import ReturnRefused, state_after
from milestones.observability.metrics import Tally
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.engine import SqlEngineStore
from milestones.store.jobs import JobRepository, LeaseLost, StoredJob
from milestones.store.replay import ReplayStore, StoredEvent, events_to_replay, returns_before
from milestones.store.target_groups import TargetGroupRepository

log = logging.getLogger("milestones.jobs")
_FAILURES_IN_A_ROW = 3  # a chunk failing this often fails the job
_RETRIES = 3  # of a chunk that met another writer's eventId (IntegrityError)
_TOO_BIG = (
    "this event would take a running total past 9,223,372,036,854,775.807, the largest "
    "value the engine keeps"
)
OnChunk = Callable[[StoredJob, JobProgress], None]


def wall_clock() -> datetime:
    return datetime.now(UTC)


def host_name() -> str:
    """The host whose disk holds a spooled import: only its workers can run that job."""
    return socket.gethostname()


def spool_folder(settings: Settings) -> Path:
    """Where ``POST /v3/events/import`` spools its bodies: ``imports/`` of the data directory."""
    return settings.data_dir / "imports"


@dataclass
class JobWorker:
    """Claims jobs and runs them; several (threads, processes, the CLI) share a database."""

    database: Database
    settings: Settings
    clock: Clock
    catalogues: CatalogueCache = field(default_factory=CatalogueCache)
    wall: Callable[[], datetime] = wall_clock
    name: str = field(default_factory=lambda: f"{host_name()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.job_lease_seconds)

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set."""
        while not stop.is_set():
            try:
                ran = self.run_one(stop)
            except Exception:  # the database is away, say: log, wait, go on
                log.exception("job pass failed; trying again")
                ran = False
            if not ran:
                stop.wait(self.settings.job_poll_seconds)

    def run_pending(self, stop: threading.Event | None = None) -> int:
        """Run claimable jobs until there is none; how many were run (for tests and tools)."""
        ran = 0
        while self.run_one(stop or threading.Event()):
            ran += 1
        return ran

    def run_one(self, stop: threading.Event, on_chunk: OnChunk | None = None) -> bool:
        """Claim one job and run it (until it ends or ``stop`` is set); False if none."""
        job = self.claim()
        if job is None:
            return False
        self.run_claimed(job, stop, on_chunk)
        return True

    def claim(self) -> StoredJob | None:
        now = self.wall()
        # Looked for in a read first: an idle worker takes no write lock (SQLite has one).
        with self.database.transaction(write=False) as connection:
            candidates = JobRepository(connection).claimable(now, host_name())
        if not candidates:
            return None
        with self.database.transaction() as connection:
            jobs = JobRepository(connection)
            for job_id in candidates:
                if jobs.claim(job_id, self.name, now, self.lease):
                    return jobs.by_id(job_id)
        return None

    def run_claimed(
        self, job: StoredJob, stop: threading.Event, on_chunk: OnChunk | None = None
    ) -> JobStatus:
        """Run a job this worker holds; its status when this worker let go of it."""
        log.info("job %d (%s) started at line %d", job.id, job.type, job.progress.done)
        try:
            if job.type is JobType.EVENT_IMPORT:
                finished = EventImport(self, job, on_chunk).run(stop)
            elif job.type is JobType.BACKFILL:
                finished = Backfill(self, job, on_chunk).run(stop)
            else:  # pragma: no cover - every type is run above
                raise AssertionError(f"no runner for {job.type}")
        except LeaseLost:
            log.warning("job %d: lease lost, another worker has it", job.id)
            return JobStatus.RUNNING
        except Exception as exc:
            log.exception("job %d failed", job.id)
            self._end(job, JobStatus.FAILED, f"{type(exc).__name__}: {exc}")
            return JobStatus.FAILED
        if not finished:
            with self.database.transaction() as connection:
                JobRepository(connection).release(job.id, self.name, self.wall())
            return JobStatus.RUNNING
        self._end(job, JobStatus.DONE, None)
        return JobStatus.DONE

    def _end(self, job: StoredJob, status: JobStatus, failure: str | None) -> None:
        with self.database.transaction() as connection:
            ended = JobRepository(connection).finish(
                job.id, self.name, status, self.wall(), failure
            )
        if ended and status is JobStatus.DONE and job.input:
            spooled = Path(job.input)
            if spooled.parent.resolve() == spool_folder(self.settings).resolve():
                spooled.unlink(missing_ok=True)  # a body spooled by the API, not a CLI's file
        log.info("job %d %s", job.id, status)


class EventImport:
    """An event import's run, from the job's checkpoint to the end of its file."""

    def __init__(self, worker: JobWorker, job: StoredJob, on_chunk: OnChunk | None) -> None:
        assert job.input is not None, "an import has a file"
        self.worker = worker
        self.job = job
        self.on_chunk = on_chunk
        self.progress = job.progress
        settings = worker.settings
        self.chunk_lines = settings.import_chunk_lines
        self.budget = ChunkBudget(
            max_events=settings.bulk_chunk_events, max_effects=settings.bulk_chunk_side_effects
        )

    def run(self, stop: threading.Event) -> bool:
        """Apply chunk after chunk; True once the file is done, False if stopped before."""
        job = self.job
        with NdjsonReader(Path(job.input or ""), job.checkpoint, job.progress.done) as reader:
            failures = 0
            while not stop.is_set():
                lines = [line for _, line in zip(range(self.chunk_lines), reader, strict=False)]
                if not lines:
                    return True
                while True:
                    try:
                        self.progress = self._apply(lines)
                        failures = 0
                        break
                    except (LeaseLost, MilestonesError):
                        raise
                    except Exception:
                        failures += 1
                        if failures >= _FAILURES_IN_A_ROW:
                            raise
                        log.exception("job %d: chunk failed; trying again", job.id)
                        stop.wait(self.worker.settings.job_poll_seconds)
                if self.on_chunk is not None:
                    self.on_chunk(job, self.progress)
        return False

    def _apply(self, lines: list[Line]) -> JobProgress:
        """One chunk and its checkpoint, in one transaction; the progress after it."""
        for attempt in range(1, _RETRIES + 1):
            try:
                return self._transaction(lines)
            except IntegrityError:
                # Another writer stored one of these eventIds first: now a DUPLICATE.
                if attempt == _RETRIES:
                    raise
            except (OverflowError, DataError) as exc:
                if isinstance(exc, DataError) and "out of range" not in str(exc.orig):
                    raise
                return self._line_by_line(lines)
        raise AssertionError("unreachable")

    def _line_by_line(self, lines: list[Line]) -> JobProgress:
        """A chunk that took a running total past what the engine keeps (64 bits of
        thousandths): its lines one at a time, so only the line at fault is rejected."""
        if len(lines) == 1:
            return self._transaction(lines, too_big=True)
        for line in lines:
            self.progress = self._apply([line])
        return self.progress

    def _transaction(self, lines: list[Line], *, too_big: bool = False) -> JobProgress:
        worker, job = self.worker, self.job
        end = lines[-1].end
        progress = JobProgress(
            self.progress.done, dict(self.progress.counts), list(self.progress.errors)
        )
        tally = Tally()
        with worker.database.transaction() as connection:
            store = SqlEngineStore(connection, replayed=True)
            org = store.org(job.org_id)
            if org is None:
                raise MilestonesError(f"org {job.org_id} no longer exists")
            if too_big:
                progress.reject(lines[0].number, _TOO_BIG)
                lines = []
            numbers: list[int] = []
            submissions: list[Submission] = []
            for line in lines:
                if line.text is not None and not line.text.strip():
                    progress.skip()
                    continue
                numbers.append(line.number)
                submissions.append(line_submission(line.text, org.zone))
            now = worker.clock.now()
            answered: list[EventOutcome] = []
            chunks = ingest_in_chunks(
                store, org, submissions, now, worker.catalogues, self.budget, as_of_events=True
            )
            for outcomes in chunks:
                tally.add(outcomes)
                answered.extend(EventOutcome(o.event_id, o.status, [], o.errors) for o in outcomes)
            for number, outcome in zip(numbers, answered, strict=True):
                if outcome.status is EventStatus.REJECTED:
                    progress.reject(number, error_message(outcome.errors))
                else:
                    progress.count(outcome.status)
            JobRepository(connection).checkpoint(
                job.id, worker.name, end, progress, worker.wall(), worker.lease
            )
        tally.publish()
        return progress


class Backfill:
    """A backfill's run (SPEC §16): the stored events a group missed, applied to it alone.

    Events are read in the order they were stored, from the job's checkpoint (the id of
    the last one applied), a chunk at a time; each chunk and its checkpoint commit
    together. A return ends an engine call, so the bill it returns can be shown to the
    engine as it stood just before it (see :class:`milestones.store.replay.ReplayStore`).
    """

    def __init__(self, worker: JobWorker, job: StoredJob, on_chunk: OnChunk | None) -> None:
        assert job.target_group_id is not None, "a backfill has a group"
        self.worker = worker
        self.job = job
        self.group_id = job.target_group_id
        self.on_chunk = on_chunk
        self.progress = job.progress
        self.checkpoint = job.checkpoint
        self.catalogues = CatalogueCache()  # of the one group

    def run(self, stop: threading.Event) -> bool:
        while not stop.is_set():
            progress, checkpoint = self._chunk()
            if checkpoint == self.checkpoint:
                return True
            self.progress, self.checkpoint = progress, checkpoint
            if self.on_chunk is not None:
                self.on_chunk(self.job, progress)
        return False

    def _chunk(self) -> tuple[JobProgress, int]:
        worker, job = self.worker, self.job
        progress = JobProgress(
            self.progress.done, dict(self.progress.counts), list(self.progress.errors)
        )
        tally = Tally()
        with worker.database.transaction() as connection:
            org = SqlEngineStore(connection).org(job.org_id)
            found = TargetGroupRepository(connection).find([job.org_id], self.group_id)
            if org is None or found is None:
                raise MilestonesError(f"target group {self.group_id} no longer exists")
            stored = events_to_replay(
                connection, found, self.checkpoint, worker.settings.import_chunk_lines
            )
            if not stored:
                return progress, self.checkpoint
            now = worker.clock.now()
            for call in _calls(stored):
                store = ReplayStore(connection, found, [event.pk for event in call])
                last = call[-1]
                if last.returned_bill is not None:
                    store.bill_states[last.returned_bill] = _state_before(
                        connection, org, last, last.returned_bill
                    )
                submissions = [submission(event.payload, org.zone) for event in call]
                outcomes = ingest(store, org, submissions, now, self.catalogues, as_of_events=True)
                tally.add(outcomes)
                for event, outcome in zip(call, outcomes, strict=True):
                    if outcome.status is EventStatus.REJECTED:
                        message = f"event {outcome.event_id}: {error_message(outcome.errors)}"
                        progress.reject(event.pk, message)
                    else:
                        progress.count(outcome.status)
            checkpoint = stored[-1].pk
            JobRepository(connection).checkpoint(
                job.id, worker.name, checkpoint, progress, worker.wall(), worker.lease
            )
        tally.publish()
        return progress, checkpoint


def _calls(stored: list[StoredEvent]) -> list[list[StoredEvent]]:
    """The events in engine calls, each return ending one."""
    calls: list[list[StoredEvent]] = [[]]
    for event in stored:
        calls[-1].append(event)
        if event.returned_bill is not None:
            calls.append([])
    return [call for call in calls if call]


def _state_before(
    connection: Connection, org: Org, returned: StoredEvent, bill_id: str
) -> ReturnState:
    """What had been returned of a bill before ``returned``: its earlier returns, in order."""
    bill = SqlEngineStore(connection).original_bill(org.id, bill_id)
    if bill is None:
        return ReturnState.fresh(0)
    state = ReturnState.fresh(len(bill.lines))
    for earlier in returns_before(connection, org.id, returned.user_id, bill_id, returned.pk):
        event = submission(earlier.payload, org.zone).event
        if event is None or event.bill_return is None:
            continue
        try:
            state = state_after(event.bill_return, replace(bill, state=state))
        except ReturnRefused:
            continue  # refused when it came: it returned nothing then either
    return state


class JobThread:
    """A job worker in a thread of its own (how ``milestones serve`` runs one)."""

    def __init__(self, worker: JobWorker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.worker.run, args=(self._stop,), daemon=True)
        self._thread.name = "milestones-jobs"

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the worker to stop after its chunk in flight, and wait for it."""
        self._stop.set()
        self._thread.join(timeout)
