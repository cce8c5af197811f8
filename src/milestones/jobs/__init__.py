"""Jobs (SPEC §16): the worker inside ``milestones serve`` (and in process for the CLI).

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

Modules: :mod:`.worker` (claiming, running, the thread), :mod:`.imports` (an event
import's run), :mod:`.backfill` (a backfill's run), :mod:`.rebuild` (a rebuild's run).
"""

from milestones.jobs.worker import (
    JobThread,
    JobWorker,
    OnChunk,
    host_name,
    spool_folder,
    wall_clock,
)

__all__ = ["JobThread", "JobWorker", "OnChunk", "host_name", "spool_folder", "wall_clock"]
