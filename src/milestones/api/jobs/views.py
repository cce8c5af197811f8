"""A job as the API shows it."""

from __future__ import annotations

from datetime import datetime

from milestones.domain.times import utc_text
from milestones.store.database import json_value
from milestones.store.jobs import StoredJob


def job_view(job: StoredJob, now: datetime) -> dict[str, object]:
    """The job's fields; ``rate`` is lines done per second since it started (to its end)."""
    progress = job.progress
    rate = 0.0
    if job.started_at is not None:
        seconds = ((job.finished_at or now) - job.started_at).total_seconds()
        rate = round(progress.done / seconds, 1) if seconds > 0 else 0.0
    return {
        "id": job.id,
        "type": job.type.value,
        "status": job.status.value,
        "done": progress.done,
        "total": job.total,
        "rate": rate,
        "counts": dict(sorted(progress.counts.items())),
        "errors": [{"line": e.line, "message": e.message} for e in progress.errors],
        "errorsTruncated": progress.errors_truncated,
        "failure": job.failure,
        "resumed": job.resumed,
        "createdAt": utc_text(job.created_at),
        "startedAt": utc_text(job.started_at) if job.started_at else None,
        "finishedAt": utc_text(job.finished_at) if job.finished_at else None,
        "options": dict(job.options),
        # What the job answers once done (a SIMULATION's figures); null for the others.
        "result": None if job.result is None else json_value(job.result),
    }
