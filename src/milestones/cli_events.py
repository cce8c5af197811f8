"""``milestones import events FILE``: an NDJSON (or ``.ndjson.gz``) file of events (SPEC §16).

The command makes an import job for the file and runs it in this process, through the
same job code as the server's worker: a chunk of lines per transaction, each with its
checkpoint. Interrupted (Ctrl-C, a crash), the job keeps its checkpoint; ``--resume ID``
goes on from there, and nothing is counted twice.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from milestones.api.events.ndjson import count_lines
from milestones.cli_common import DatabaseOption, command_settings, fail, migrated_database
from milestones.clock import Clock
from milestones.domain.jobs import JobProgress, JobStatus, JobType
from milestones.jobs import JobWorker, host_name, wall_clock
from milestones.store.database import Database
from milestones.store.jobs import JobRepository, StoredJob
from milestones.store.orgs import OrgRepository


class _Rate(ProgressColumn):
    """Events (lines) per second, as Rich estimates it over the last updates."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(
            f"{speed:,.0f} events/s" if speed else "- events/s", style="progress.data.speed"
        )


def import_events(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="NDJSON, one event a line (.gz too)"
        ),
    ],
    org_id: Annotated[int, typer.Option("--org-id", help="The org the events belong to")],
    resume: Annotated[
        int | None, typer.Option("--resume", help="Go on with this interrupted import job")
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Apply a file of events as of their own times, as ``POST /v3/events/import`` does.

    Exit code 0: every line applied (or a duplicate, or matching nothing); 1: some lines
    rejected (the first are listed); 2: a fatal error (unknown org, the job failed).
    """
    settings = command_settings(database)
    with migrated_database(settings.database_url) as db:
        worker = JobWorker(db, settings, Clock(settings.now))
        job = _job(db, worker, file, org_id, resume)
        status, progress = _run(worker, job)
    _summary(job, progress)
    if status is JobStatus.FAILED:
        raise typer.Exit(2)
    if status is JobStatus.RUNNING:
        typer.echo(f"stopped: resume with --resume {job.id}", err=True)
        raise typer.Exit(130)
    if progress.rejected:
        raise typer.Exit(1)


def _job(db: Database, worker: JobWorker, file: Path, org_id: int, resume: int | None) -> StoredJob:
    """The job to run, already claimed by ``worker``: made for the file, or the one resumed."""
    now = wall_clock()
    with db.transaction() as connection:
        if OrgRepository(connection).get_org(org_id) is None:
            fail(f"no org {org_id}")
        jobs = JobRepository(connection)
        if resume is None:
            total = count_lines(file)
            made = jobs.create(
                org_id,
                JobType.EVENT_IMPORT,
                now,
                input_path=str(file.resolve()),
                host=host_name(),
                total=total,
            )
            job_id = made.id
        else:
            job_id = resume
            found = jobs.by_id(resume)
            if found is None or found.org_id != org_id or found.type is not JobType.EVENT_IMPORT:
                fail(f"no import job {resume} in org {org_id}")
            elif found.input != str(file.resolve()):
                fail(f"job {resume} imports {found.input}, not {file.resolve()}")
        if not jobs.claim(job_id, worker.name, now, worker.lease):
            fail(f"job {job_id} is done, or another worker holds it")
        claimed = jobs.by_id(job_id)
    assert claimed is not None
    return claimed


def _run(worker: JobWorker, job: StoredJob) -> tuple[JobStatus, JobProgress]:
    """Run the job with a progress bar; Ctrl-C stops it after the chunk in flight."""
    stop = threading.Event()
    latest = job.progress

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, interrupt)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    try:
        with progress:
            task = progress.add_task(f"job {job.id}", total=job.total, completed=job.progress.done)

            def report(_job: StoredJob, done: JobProgress) -> None:
                nonlocal latest
                latest = done
                progress.update(
                    task,
                    completed=done.done,
                    description=f"job {job.id}, {done.rejected:,} rejected",
                )

            status = worker.run_claimed(job, stop, on_chunk=report)
    finally:
        signal.signal(signal.SIGINT, previous)
    return status, latest


def _summary(job: StoredJob, progress: JobProgress, shown: int = 20) -> None:
    typer.echo(f"job:           {job.id}")
    typer.echo(f"lines done:    {progress.done:,} of {job.total or 0:,}")
    for status, count in sorted(progress.counts.items()):
        typer.echo(f"{status.lower() + ':':<15}{count:,}")
    for error in progress.errors[:shown]:
        typer.echo(f"line {error.line}: {error.message}")
    if progress.rejected > shown:
        typer.echo(f"... and {progress.rejected - shown:,} more rejected lines")
