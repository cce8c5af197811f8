"""The ``milestones`` command: serve, migrate, and org administration."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from milestones import admin
from milestones.api.enrolments.service import import_enrolments as apply_enrolment_csv
from milestones.cli_common import DatabaseOption, command_settings, fail, migrated_database
from milestones.cli_events import import_events
from milestones.cli_prune import events_app
from milestones.cli_users import users_app
from milestones.cli_webhooks import deliver, webhooks_app
from milestones.clock import Clock
from milestones.domain.enrolment import MAX_IMPORT_ROWS, ImportSummary, TooManyRows
from milestones.domain.errors import MilestonesError
from milestones.domain.notifications import NotificationType
from milestones.domain.times import utc_text
from milestones.observability import logs
from milestones.observability.metrics import MULTIPROCESS_DIR
from milestones.runtime import tune_collector
from milestones.sweeper import Sweeper

app = typer.Typer(help="Milestones: loyalty milestones and streaks engine.", no_args_is_help=True)
org_app = typer.Typer(help="Orgs, their API clients and connections.", no_args_is_help=True)
app.add_typer(org_app, name="org")
import_app = typer.Typer(help="Bulk imports from files.", no_args_is_help=True)
app.add_typer(import_app, name="import")
import_app.command("events")(import_events)
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(events_app, name="events")
app.add_typer(users_app, name="user")
app.command()(deliver)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    database: DatabaseOption = None,
    workers: Annotated[int, typer.Option(help="Server worker processes")] = 1,
    trusted_proxies: Annotated[
        str,
        typer.Option(
            help="Addresses of proxies whose X-Forwarded-For names the client (comma-separated, "
            "'*' for any); by default none: the connection's peer is the client, so a forged "
            "header cannot dodge the failed-credentials throttle"
        ),
    ] = "",
    deliver: Annotated[
        bool,
        typer.Option(
            "--deliver/--no-deliver",
            help="Run a webhook delivery worker in each server process (the default)",
        ),
    ] = True,
    jobs: Annotated[
        bool,
        typer.Option(
            "--jobs/--no-jobs",
            help="Run a job worker (event imports) in each server process (the default)",
        ),
    ] = True,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep/--no-sweep",
            help="Run the streak sweeper in each server process (the default), every "
            "MILESTONES_SWEEP_SECONDS",
        ),
    ] = True,
    shutdown_seconds: Annotated[
        int,
        typer.Option(
            min=0,
            help="On SIGTERM, stop taking requests and give those in flight this long to end "
            "(a request still running then is rolled back and answered 503)",
        ),
    ] = 30,
) -> None:
    """Apply migrations, then serve the API (and deliver webhooks, run jobs, sweep streaks)."""
    settings = command_settings(database)
    with migrated_database(settings.database_url):
        pass
    os.environ["MILESTONES_DATABASE_URL"] = settings.database_url
    os.environ["MILESTONES_DELIVERY_WORKER"] = "true" if deliver else "false"
    os.environ["MILESTONES_JOB_WORKER"] = "true" if jobs else "false"
    os.environ["MILESTONES_SWEEPER"] = "true" if sweep else "false"
    made = _metrics_folder(workers)
    # The same log lines in this process (the supervisor of several workers) as in each
    # worker's app: uvicorn is told not to set up its own (``log_config=None``).
    logs.configure(settings.log_level, settings.log_format)
    try:
        _serve(host, port, workers, settings.log_level, trusted_proxies, shutdown_seconds)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _serve(
    host: str, port: int, workers: int, log_level: str, trusted_proxies: str, shutdown: int
) -> None:
    """uvicorn on the app; a SIGTERM gives requests in flight ``shutdown`` seconds."""
    uvicorn.run(
        "milestones.api.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,  # the app writes one access line per request itself
        log_config=None,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=trusted_proxies or None,
        timeout_graceful_shutdown=shutdown,
    )


def _metrics_folder(workers: int) -> str | None:
    """Prometheus' multiprocess mode for several server processes: each writes its values
    to one folder, emptied now, before any starts (``milestones.observability.metrics``).

    Set by the operator (``PROMETHEUS_MULTIPROC_DIR``, before the command starts), it is
    used as it is, so ``milestones deliver`` processes on the host can share it too. One
    server process keeps its metrics in memory: this process has imported the client
    already, and the client reads the variable when it is imported.
    """
    folder = os.environ.get(MULTIPROCESS_DIR)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    elif workers > 1:
        made = tempfile.mkdtemp(prefix="milestones-metrics-")
        os.environ[MULTIPROCESS_DIR] = made
        return made  # removed when the server stops
    return None


@app.command("sweep")
def sweep_streaks(database: DatabaseOption = None) -> None:
    """Sweep every streak group once, up to now (the app's clock: MILESTONES_NOW pins it),
    print what was told per type, and exit."""
    settings = command_settings(database)
    now = Clock(settings.now).now()
    # As a server process does: a sweep makes millions of short-lived objects. Put back
    # after, for a caller that runs the command in its own process (the tests).
    thresholds = gc.get_threshold()
    tune_collector()
    try:
        with migrated_database(settings.database_url) as db:
            told = Sweeper(db).sweep(now)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    typer.echo(f"swept up to {utc_text(now)}")
    for type_ in (NotificationType.STREAK_FROZEN, NotificationType.STREAK_BROKEN,
                  NotificationType.STREAK_AT_RISK):  # fmt: skip
        typer.echo(f"{type_.value}: {told.get(type_.value, 0)}")


@app.command()
def migrate(database: DatabaseOption = None) -> None:
    """Apply schema migrations and exit."""
    with migrated_database(database):
        typer.echo("schema is up to date")


@org_app.command("create")
def org_create(
    org_id: Annotated[int, typer.Option("--org-id", help="The org's id")],
    name: Annotated[str, typer.Option("--name")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA zone, e.g. Asia/Kolkata")],
    client_id: Annotated[str | None, typer.Option("--client-id")] = None,
    client_secret: Annotated[str | None, typer.Option("--client-secret")] = None,
    database: DatabaseOption = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if the org exists")
    ] = False,
) -> None:
    """Create an org and an API client; prints the credentials."""
    try:
        with migrated_database(database) as db:
            credentials = admin.create_org(
                db,
                Clock(),
                org_id=org_id,
                name=name,
                time_zone=timezone,
                client_id=client_id,
                client_secret=client_secret,
            )
    except MilestonesError as error:
        if if_missing and error.field == "org_id":
            typer.echo(f"org {org_id} exists already")
            return
        fail(error.message)
        return
    typer.echo(f"org id:        {credentials.org_id}")
    typer.echo(f"client id:     {credentials.client_id}")
    typer.echo(f"client secret: {credentials.client_secret}")


@org_app.command("connect")
def org_connect(
    parent: Annotated[int, typer.Argument()],
    child: Annotated[int, typer.Argument()],
    database: DatabaseOption = None,
) -> None:
    """Connect two orgs, so DATA-SCOPE reads may span them."""
    try:
        with migrated_database(database) as db:
            admin.connect_orgs(db, parent, child)
    except MilestonesError as error:
        fail(error.message)
    typer.echo(f"connected {parent} and {child}")


@org_app.command("set")
def org_set(
    org_id: Annotated[int, typer.Argument()],
    retro_buffer_days: Annotated[int | None, typer.Option("--retro-buffer-days")] = None,
    revoke_on_return: Annotated[
        bool | None, typer.Option("--revoke-on-return/--no-revoke-on-return")
    ] = None,
    leaderboards: Annotated[bool | None, typer.Option("--leaderboards/--no-leaderboards")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone")] = None,
    database: DatabaseOption = None,
) -> None:
    """Change an org's settings."""
    try:
        with migrated_database(database) as db:
            org = admin.set_org(
                db,
                org_id,
                retro_buffer_days=retro_buffer_days,
                revoke_on_return=revoke_on_return,
                leaderboards_enabled=leaderboards,
                time_zone=timezone,
            )
    except MilestonesError as error:
        fail(error.message)
        return
    typer.echo(
        f"org {org.id}: zone {org.time_zone}, retro buffer {org.retro_buffer_days} days, "
        f"revoke on return {org.revoke_on_return}, leaderboards {org.leaderboards_enabled}"
    )


@org_app.command("add-client")
def org_add_client(
    org_id: Annotated[int, typer.Argument()],
    client_id: Annotated[str, typer.Option("--client-id")],
    client_secret: Annotated[str | None, typer.Option("--client-secret")] = None,
    database: DatabaseOption = None,
) -> None:
    """Add an API client to an org; prints its secret."""
    try:
        with migrated_database(database) as db:
            credentials = admin.add_client(
                db, Clock(), org_id=org_id, client_id=client_id, client_secret=client_secret
            )
    except MilestonesError as error:
        fail(error.message)
        return
    typer.echo(f"client id:     {credentials.client_id}")
    typer.echo(f"client secret: {credentials.client_secret}")


@import_app.command("enrolments")
def import_enrolments(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV: userId,targetValue[,periodRefCode]",
        ),
    ],
    org_id: Annotated[int, typer.Option("--org-id", help="The org the group belongs to")],
    group_id: Annotated[int, typer.Option("--group-id", help="The target group")],
    target_id: Annotated[
        int | None, typer.Option("--target-id", help="Only this IMPORT target (default: all)")
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Enrol customers in a group's IMPORT targets from a CSV file, as the import API does.

    Exit code 0: every row applied; 1: some rows rejected; 2: a fatal error (unknown group,
    bad header, more than 1,000,000 rows: the rows before the limit stay applied).
    """
    size = file.stat().st_size
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    try:
        with migrated_database(database) as db, progress:
            task = progress.add_task("importing", total=size)

            def report(bytes_read: int, summary: ImportSummary) -> None:
                progress.update(
                    task,
                    completed=bytes_read,
                    description=f"{summary.rows_read:,} rows read, "
                    f"{summary.rows_rejected:,} rejected",
                )

            summary = asyncio.run(
                apply_enrolment_csv(
                    db,
                    org_id,
                    group_id,
                    target_id,
                    _file_pieces(file),
                    Clock(command_settings(database).now).now(),
                    max_rows=MAX_IMPORT_ROWS,
                    on_progress=report,
                )
            )
    except TooManyRows as error:
        _print_summary(error.summary)
        fail(error.message)
        return
    except MilestonesError as error:
        fail(error.message)
        return
    _print_summary(summary)
    if summary.rows_rejected:
        raise typer.Exit(1)


async def _file_pieces(file: Path, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    with file.open("rb") as stream:
        while piece := stream.read(size):
            yield piece


def _print_summary(summary: ImportSummary, shown: int = 20) -> None:
    typer.echo(f"rows read:     {summary.rows_read:,}")
    typer.echo(f"rows applied:  {summary.rows_applied:,}")
    typer.echo(f"rows rejected: {summary.rows_rejected:,}")
    for error in summary.errors[:shown]:
        typer.echo(f"line {error.line}: {error.message}")
    if summary.rows_rejected > shown:
        typer.echo(f"... and {summary.rows_rejected - shown:,} more rejected rows")


if __name__ == "__main__":
    app()
