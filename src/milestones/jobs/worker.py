"""The job worker: claims a job, runs it by its type, lets go of it; and its thread."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from milestones.clock import Clock
from milestones.domain.jobs import JobProgress, JobStatus, JobType
from milestones.engine.catalogue import CatalogueCache
from milestones.jobs.backfill import Backfill
from milestones.jobs.imports import EventImport
from milestones.jobs.rebuild import Rebuild
from milestones.jobs.simulation import SimulationRun
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.jobs import JobRepository, LeaseLost, StoredJob

log = logging.getLogger("milestones.jobs")
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
            elif job.type is JobType.REBUILD:
                finished = Rebuild(self, job, on_chunk).run(stop)
            elif job.type is JobType.SIMULATION:
                finished = SimulationRun(self, job, on_chunk).run(stop)
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
