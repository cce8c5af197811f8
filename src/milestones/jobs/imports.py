"""An event import's run: its NDJSON file from the checkpoint, a chunk of lines at a time."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DataError, IntegrityError

from milestones.api.events.ndjson import Line, NdjsonReader, error_message, line_submission
from milestones.domain.errors import MilestonesError
from milestones.domain.jobs import JobProgress
from milestones.domain.outcomes import EventStatus
from milestones.engine.chunked import ChunkBudget, ingest_in_chunks
from milestones.engine.ingest import EventOutcome, Submission
from milestones.observability.metrics import Tally
from milestones.store.engine import SqlEngineStore
from milestones.store.jobs import JobRepository, LeaseLost, StoredJob

log = logging.getLogger("milestones.jobs")

if TYPE_CHECKING:
    from milestones.jobs.worker import JobWorker, OnChunk

_FAILURES_IN_A_ROW = 3  # a chunk failing this often fails the job
_RETRIES = 3  # of a chunk that met another writer's eventId (IntegrityError)
_TOO_BIG = (
    "this event would take a running total past 9,223,372,036,854,775.807, the largest "
    "value the engine keeps"
)


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
