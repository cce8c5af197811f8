"""Jobs (SPEC §16): long work run in the background, resumable, counted once.

A job is QUEUED when made, RUNNING while a worker holds its lease, and ends DONE or
FAILED. A worker that dies leaves it RUNNING with a lease that runs out; the next worker
to claim it resumes from its checkpoint (``resumed`` counts those claims).

>>> progress = JobProgress()
>>> progress.count("APPLIED"); progress.reject(7, "eventTime: not a time")
>>> progress.done, progress.counts, [error.line for error in progress.errors]
(2, {'APPLIED': 1, 'REJECTED': 1}, [7])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

ERROR_SAMPLE = 100
"""Bad lines a job keeps, with their numbers; past these it only counts them."""
MAX_LINE_BYTES = 1024 * 1024
"""The longest NDJSON line an import takes (its newline not counted)."""
MAX_IMPORT_LINES = 10_000_000
"""Lines one import takes (SPEC §16)."""


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class JobType(StrEnum):
    EVENT_IMPORT = "EVENT_IMPORT"
    BACKFILL = "BACKFILL"  # a group's stored events applied to it alone
    REBUILD = "REBUILD"  # a group recomputed from the stored events, customer by customer
    SIMULATION = "SIMULATION"  # a draft group's figures over the stored events, read only


@dataclass(frozen=True, slots=True)
class LineError:
    """One bad line of an import: its number (the first line is 1) and what is wrong."""

    line: int
    message: str


@dataclass(slots=True)
class JobProgress:
    """How far a job got: lines done, outcomes by status, and the first bad lines."""

    done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[LineError] = field(default_factory=list)

    def count(self, status: str) -> None:
        self.done += 1
        key = str(status)  # an EventStatus is a StrEnum: kept as its bare word
        self.counts[key] = self.counts.get(key, 0) + 1

    def skip(self) -> None:
        """A blank line: done, and neither an event nor an error."""
        self.done += 1

    def reject(self, line: int, message: str) -> None:
        self.count("REJECTED")
        if len(self.errors) < ERROR_SAMPLE:
            self.errors.append(LineError(line, message))

    @property
    def rejected(self) -> int:
        return self.counts.get("REJECTED", 0)

    @property
    def errors_truncated(self) -> bool:
        return self.rejected > len(self.errors)
