"""The storage floor of ingestion: what the database alone takes to keep one event's rows.

The ingest benchmark's events reach about 61 user targets each (100 groups of mixed types,
most listening to every purchase). Whatever the engine computes, it must then store one
``user_targets`` row per user target it opens and one ``contributions`` row (the ledger
returns are taken back from, SPEC §10) per contribution. This benchmark writes exactly
those rows, with the engine's own driver-level writer (:class:`BulkSql`), the schema's
indexes and the engine's transaction settings, in batches of 500 events, and nothing
else: no HTTP, no JSON, no engine. Its rate is a ceiling no engine over this schema can
pass on this machine.

    python -m benchmarks.storage_floor --database sqlite|postgresql
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from benchmarks.ingest import (
    NOW,
    ORG_ID,
    RESULTS,
    SEED,
    Databases,
    _shown,
    group_bodies,
    machine,
    write_figures,
    write_section,
)
from milestones.store.bulk import BulkSql
from milestones.store.database import Database
from milestones.store.engine import USER_TARGET_COLUMNS
from milestones.store.tables import contributions, user_targets
from milestones.store.types import money_to_stored

EFFECTS_PER_EVENT = 61  # measured by the ingest benchmark on its standard workload
EVENTS_PER_BATCH = 500
LEDGER_COLUMNS = ("id", "event_pk", "user_target_id", "amount", "kind")


def targets_and_periods(database: Database) -> list[tuple[int, int, int]]:
    """(group, target, first period) of the first ``EFFECTS_PER_EVENT`` stored targets."""
    with database.transaction(write=False) as connection:
        rows = connection.execute(
            text(
                "SELECT t.target_group_id, t.id, min(p.id) FROM targets t "
                "JOIN periods p ON p.target_group_id = t.target_group_id "
                "GROUP BY t.target_group_id, t.id ORDER BY t.id"
            )
        ).all()
    return [(int(g), int(t), int(p)) for g, t, p in rows[:EFFECTS_PER_EVENT]]


def measure(url: str, batches: int) -> list[float]:
    """µs per event of writing each batch's rows in one transaction."""
    database = Database(url)
    places = targets_and_periods(database)
    spent: list[float] = []
    next_id = 10**9
    user_id = 10**6
    for batch in range(batches):
        with database.transaction() as connection:
            bulk = BulkSql(connection)
            starts, ends = bulk.instant(NOW), bulk.instant(NOW + timedelta(days=30))
            at = bulk.instant(NOW)
            value, amount = money_to_stored(Decimal(1000)), money_to_stored(Decimal("12.5"))
            rows: list[tuple[object, ...]] = []
            ledger: list[tuple[object, ...]] = []
            for event in range(EVENTS_PER_BATCH):
                user_id += 1
                event_pk = 10**9 + batch * EVENTS_PER_BATCH + event
                for group_id, target_id, period_id in places:
                    next_id += 1
                    place = (group_id, target_id, period_id, user_id, 1)
                    # achieved_at none; enrolled, updated and reached (the event's time) now
                    rows.append(
                        (next_id, ORG_ID, *place, starts, ends, value, amount, None, at, at, at, 0)
                    )
                    ledger.append((next_id, event_pk, next_id, amount, "EVENT"))
            began = time.perf_counter()
            bulk.insert(user_targets, USER_TARGET_COLUMNS, rows)
            bulk.insert(contributions, LEDGER_COLUMNS, ledger)
        spent.append((time.perf_counter() - began) * 1e6 / EVENTS_PER_BATCH)
    database.dispose()
    return spent


def stored_rows(url: str) -> tuple[int, int]:
    """The ``user_targets`` and ``contributions`` rows the database holds after the run."""
    database = Database(url)
    with database.transaction(write=False) as connection:
        counts = tuple(
            int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("user_targets", "contributions")
        )
    database.dispose()
    return counts[0], counts[1]


def markdown(kind: str, command: str, version: str, spent: Sequence[float]) -> str:
    median = statistics.median(spent)
    goal = 5_000 if kind == "sqlite" else 3_000
    name = "SQLite" if kind == "sqlite" else "PostgreSQL"
    lines = [
        f"## Storage floor of ingestion on {name}",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- command: `{command}`",
        *machine(),
        f"- database: {version}",
        f"- what is timed: writing, in one transaction per batch of {EVENTS_PER_BATCH} events, "
        f"the rows the engine must keep for events that each reach {EFFECTS_PER_EVENT} "
        "user targets (the ingest benchmark's measured mean): one `user_targets` row and one "
        "`contributions` (ledger) row per target, through the engine's own writer "
        "(`BulkSql`), from rows already built; the commit included. No HTTP, no JSON, no "
        "engine work, no reads, no events table: a floor, not an estimate.",
        "",
        "| | median | runs |",
        "|---|---|---|",
        f"| µs per event | **{median:,.0f}** | {', '.join(f'{s:,.0f}' for s in spent)} |",
        f"| events/s this alone allows | **{1e6 / median:,.0f}** | |",
        "",
        f"The issue's goal is {goal:,} events/s; storing the rows alone allows "
        f"{1e6 / median:,.0f} ({100 * 1e6 / median / goal:.0f} % of the goal), before the "
        "engine computes anything or the server parses and answers a request.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.storage_floor", description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--postgres-url", default=os.environ.get("MILESTONES_TEST_POSTGRES_URL"))
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    shown = _shown(argv if argv is not None else sys.argv[1:])
    command = "python -m benchmarks.storage_floor " + shown

    workdir = Path(tempfile.mkdtemp(prefix="milestones-floor-"))
    databases = Databases(args.database, args.postgres_url, workdir)
    try:
        url = databases.template("floor", group_bodies(100, 0, random.Random(SEED)))
        run_url = databases.copy(url)
        database = Database(run_url)
        places = len(targets_and_periods(database))
        database.dispose()
        spent = measure(run_url, args.batches)
        rows = stored_rows(run_url)
        version = databases.server_version()
    finally:
        databases.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    # What was written must be there: one user target and one ledger row per target reached.
    expected = args.batches * EVENTS_PER_BATCH * places
    problems = [
        f"{table}: {found:,} rows, {expected:,} expected"
        for table, found in zip(("user_targets", "contributions"), rows, strict=True)
        if found != expected
    ]
    if places != EFFECTS_PER_EVENT:
        problems.append(f"{places} targets to write to, {EFFECTS_PER_EVENT} wanted")
    out = markdown(args.database, command, version, spent)
    print(out)
    for problem in problems:
        print(f"problem: {problem}")
    section = f"storage-floor-{args.database}"
    median = statistics.median(spent)
    write_figures(
        section,
        {
            "benchmark": "storage_floor",
            "database": "SQLite" if args.database == "sqlite" else "PostgreSQL",
            "command": command,
            "effects_per_event": EFFECTS_PER_EVENT,
            "us_per_event": median,
            "events_per_second": 1e6 / median,
            "runs_us_per_event": spent,
            "checks": {
                "what": "after the run, the user_targets and contributions rows counted: "
                "one of each per event and target written",
                "rows_expected": expected,
                "rows_found": list(rows),
                "problems": len(problems),
                "problem_lines": problems,
            },
        },
    )
    write_section(args.results, section, out)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
