"""``milestones events prune --before DATE``: stored events stamped before DATE deleted (SPEC §16).

Stored events are the source of truth of backfills and rebuilds, so a prune refuses (exit
2, naming them) while a group that is active and has not ended reaches back before DATE,
or a backfill or rebuild of such a group is queued or running (see
:mod:`milestones.store.prune`). ``--dry-run`` counts and checks, and deletes nothing.

Events go by their ``eventTime``, an org at a time, 5,000 per transaction, each chunk
checked again (a group made meanwhile stops the prune) and counted on the org's record
of the prune, which is written before its first event goes. A prune stopped halfway has
deleted only events that no running group needs; running it again finishes it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer

from milestones.cli_common import DatabaseOption, command_settings, fail, migrated_database
from milestones.clock import Clock
from milestones.domain.history import dates_start
from milestones.domain.times import TimeFormatError, parse_local_or_instant, utc_text
from milestones.store.database import Database
from milestones.store.prune import (
    Blocker,
    blockers,
    count_before,
    delete_events,
    org_ids,
    prunable,
    start_prune,
)

CHUNK = 5_000
_UTC = ZoneInfo("UTC")
events_app = typer.Typer(help="Stored events.", no_args_is_help=True)


@events_app.command("prune")
def prune(
    before: Annotated[
        str,
        typer.Option(
            "--before",
            help="An ISO date or instant (UTC unless it has an offset): events whose "
            "eventTime is before it are deleted",
        ),
    ],
    org_id: Annotated[
        int | None, typer.Option("--org-id", help="Only this org's events (default: every org)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go and check; delete nothing")
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Delete stored events stamped before a date, unless a running group still needs them.

    Exit 0: pruned (--dry-run: nothing refused it); 2: refused (groups listed), a bad date or org.
    """
    try:
        cutoff = parse_local_or_instant(before, _UTC)[0].astimezone(UTC)
    except TimeFormatError as exc:
        fail(f"--before: {exc}")
    settings = command_settings(database)
    with migrated_database(settings.database_url) as db:
        now = Clock(settings.now).now()
        counts = _plan(db, cutoff, now, org_id)
        if dry_run:
            typer.echo("dry run: nothing deleted")
            return
        pruned = {org: _prune_org(db, org, cutoff, now) for org, count in counts.items() if count}
    typer.echo(f"pruned {sum(pruned.values()):,} events")


def _plan(db: Database, cutoff: datetime, now: datetime, only: int | None) -> dict[int, int]:
    """Each org's count of events to prune, printed; refused when a group needs them."""
    with db.transaction(write=False) as connection:
        orgs = org_ids(connection, only)
        if only is not None and not orgs:
            fail(f"no org {only}")
        counts = {org: count_before(connection, org, cutoff) for org in orgs}
        needing = [blocker for org in orgs for blocker in blockers(connection, org, cutoff, now)]
    typer.echo(f"events stamped before {utc_text(cutoff)}:")
    for org, count in counts.items():
        typer.echo(f"  org {org:<12} {count:>14,}")
    typer.echo(f"  {'total':<16} {sum(counts.values()):>14,}")
    if needing:
        _refuse(needing, cutoff)
    return counts


def _prune_org(db: Database, org: int, cutoff: datetime, now: datetime) -> int:
    """Prune one org's events, a chunk per transaction, each chunk checked again."""
    with db.transaction() as connection:
        _refuse_if_needed(blockers(connection, org, cutoff, now), cutoff)
        prune_id = start_prune(connection, org, cutoff, now)
    done, last = 0, 0
    while True:
        with db.transaction(write=False) as connection:
            pks = prunable(connection, org, cutoff, last, CHUNK)
        if not pks:
            return done
        with db.transaction() as connection:
            _refuse_if_needed(blockers(connection, org, cutoff, now), cutoff)
            done += delete_events(connection, prune_id, org, cutoff, pks)
        last = pks[-1]
        typer.echo(f"org {org}: {done:,} pruned")


def _refuse_if_needed(needing: list[Blocker], cutoff: datetime) -> None:
    if needing:
        _refuse(needing, cutoff)


def _refuse(needing: list[Blocker], cutoff: datetime) -> NoReturn:
    lines = [
        f"error: refused: {len(needing)} group{'s' if len(needing) != 1 else ''} still "
        f"need events stamped before {utc_text(cutoff)}:"
    ]
    for blocker in needing:
        group = blocker.group
        start = dates_start(group)
        since = f", from {utc_text(start)}" if start is not None else ""
        lines.append(
            f"  org {group.org_id} group {group.id} {group.name!r} ({blocker.reason}{since})"
        )
    lines.append(
        "prune before the earliest of those dates, or once those groups have ended or are "
        "deactivated"
    )
    typer.echo("\n".join(lines), err=True)
    raise typer.Exit(2)
