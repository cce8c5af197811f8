"""The storage floor of ingestion: what the database alone takes to keep one event's rows.

The ingest benchmark's events reach about 61 user targets each (100 groups of mixed types,
most listening to every purchase). Whatever the engine computes, it must then store one
``user_targets`` row per user target it opens, and the event's own ``events`` row, which
holds its body and its ledger (the contributions it made, packed: what returns are taken
back from, SPEC §10; ``milestones.store.ledger``). This benchmark writes exactly those
rows, with the engine's own driver-level writer (:class:`BulkSql`), the schema's
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
from milestones.domain.outcomes import ContributionKind
from milestones.store.bulk import BulkSql
from milestones.store.database import Database, json_text
from milestones.store.engine import EVENT_COLUMNS, USER_TARGET_COLUMNS
from milestones.store.ledger import ledger_rows, pack
from milestones.store.tables import events, user_targets
from milestones.store.types import money_to_stored

EFFECTS_PER_EVENT = 61  # measured by the ingest benchmark on its standard workload
EVENTS_PER_BATCH = 500
# A purchase of the ingest benchmark's kind, as the events row keeps it.
BODY = {
    "eventName": "TransactionAdd",
    "eventTime": "2024-09-20T09:30:00.000Z",
    "transaction": {
        "billAmount": "12.5",
        "lineItems": [{"itemCode": "SKU-1", "qty": 1, "amount": "12.5", "category": "food"}],
    },
}


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
            stored_events: list[tuple[object, ...]] = []
            for event in range(EVENTS_PER_BATCH):
                user_id += 1
                event_pk = 10**9 + batch * EVENTS_PER_BATCH + event
                ledger = []
                for group_id, target_id, period_id in places:
                    next_id += 1
                    place = (group_id, target_id, period_id, user_id, 1)
                    # achieved_at none; enrolled, updated and reached (the event's time) now
                    rows.append(
                        (next_id, ORG_ID, *place, starts, ends, value, amount, None, at, at, at, 0)
                    )
                    ledger.append((next_id, amount, ContributionKind.EVENT))
                body = {**BODY, "eventId": f"F-{event_pk}", "userId": user_id}
                head = (event_pk, ORG_ID, body["eventId"], "TransactionAdd", user_id, at, at)
                stored_events.append((*head, "APPLIED", amount, 0, json_text(body), pack(ledger)))
            began = time.perf_counter()
            bulk.insert(user_targets, USER_TARGET_COLUMNS, rows)
            bulk.insert(events, EVENT_COLUMNS, stored_events)
        spent.append((time.perf_counter() - began) * 1e6 / EVENTS_PER_BATCH)
    database.dispose()
    return spent


def stored_rows(url: str) -> tuple[int, int]:
    """The ``user_targets`` rows and the ledger entries the database holds after the run."""
    database = Database(url)
    with database.transaction(write=False) as connection:
        stored = int(connection.execute(text("SELECT count(*) FROM user_targets")).scalar_one())
        entries = len(ledger_rows(connection))
    database.dispose()
    return stored, entries


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
        "user targets (the ingest benchmark's measured mean): one `user_targets` row per "
        "target, and the event's `events` row with its body and its packed ledger of "
        f"{EFFECTS_PER_EVENT} entries (the schema since migration 0012), through the engine's "
        "own writer (`BulkSql`), from rows already built; the commit included. No HTTP, no "
        "engine work, no reads: a floor, not an estimate.",
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
        for table, found in zip(("user_targets", "ledger entries"), rows, strict=True)
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
                "what": "after the run, the user_targets rows and the ledger entries counted: "
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
