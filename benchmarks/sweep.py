"""Streak sweeper benchmark (issue 16): one sweep over 100,000 customers in 10 daily streak
groups at a period end. Goal: under 60 s on SQLite.

The template database holds a UTC org and 10 daily STREAKS groups of 30 days from
2024-09-01 (made through the API; a freeze granted every 3 achieved days, held up to 1;
at risk 4 hours before a run resets), each last swept a minute before 2024-09-05 00:00,
the end of the groups' fourth day. The customers' rows are written straight in SQL, in
bulk: user targets of the four past days and the group achievements of the achieved
ones, in four kinds of customer (by user id modulo 4) per group:

- 0: achieved days 1 to 4 (nothing to tell);
- 1: achieved days 1 to 3 (a freeze granted), day 4 short: ``streak.frozen``;
- 2: achieved days 2 and 3, day 4 short: ``streak.broken`` (a run of 2);
- 3: day 4 short, nothing achieved (nothing to tell).

Each run copies the template and times one :meth:`Sweeper.sweep` at 2024-09-05 00:00, as
``milestones sweep`` makes it; then a second sweep at the same instant, which must tell
nothing. Checked: each group tells exactly its customers of kinds 1 and 2, once.

Usage: ``python -m benchmarks.sweep --database sqlite|postgresql [--postgres-url URL]
[--customers N] [--groups N] [--repeat N] [--quick] [--results PATH]``. Results go to
``benchmarks/RESULTS.md`` (section ``sweep-<database>``; none with ``--quick``) and
``var/bench/sweep-<database>.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from benchmarks.ingest import (
    RESULTS,
    Databases,
    _shown,
    machine,
    write_figures,
    write_section,
)
from milestones import admin
from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.runtime import tune_collector
from milestones.settings import Settings
from milestones.store.bulk import BulkSql
from milestones.store.database import Database
from milestones.store.engine import USER_TARGET_COLUMNS
from milestones.store.tables import streak_sweeps, user_group_periods, user_targets
from milestones.store.types import money_to_stored
from milestones.sweeper import Sweeper

ORG_ID = 1600
CLIENT = ("sweep-client", "sweep-secret")
CREATED = datetime(2024, 8, 31, 12, 0, tzinfo=UTC)
FIRST_DAY = datetime(2024, 9, 1, tzinfo=UTC)
PAST_DAYS = 4
NOW = FIRST_DAY + timedelta(days=PAST_DAYS)  # the end of day 4: a period end
LAST_SWEPT = NOW - timedelta(minutes=1)
TARGET_VALUE = 100
ROWS_PER_WRITE = 50_000
# Kind of customer (user id % 4) -> the days it achieved; every kind has a row on day 4.
ACHIEVED = {0: {1, 2, 3, 4}, 1: {1, 2, 3}, 2: {2, 3}, 3: set()}
DAYS_WITH_ROWS = {0: {1, 2, 3, 4}, 1: {1, 2, 3, 4}, 2: {2, 3, 4}, 3: {4}}
TOLD = {1: "streak.frozen", 2: "streak.broken"}
MIX = (
    "Customers by user id modulo 4, in every group: achieved days 1-4; days 1-3 then short "
    "on day 4 (`streak.frozen`); days 2-3 then short (`streak.broken`); short on day 4 "
    "alone. Half of them are told something and walked: the walk's worst case. The second "
    "sweep finds every cursor at the instant already, and reads no customer."
)


def group_body(number: int) -> dict[str, Any]:
    return {
        "name": f"Daily streak {number}",
        "trackingType": "STREAKS",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "DAILY",
        "frequency": 1,
        "totalPeriods": 30,
        "recurringCycles": -1,
        "targetCycleStartDate": "2024-09-01T00:00:00.000",
        "targetCycleEndDate": "2024-09-30T23:59:59.000",
        "targets": [
            {
                "name": "daily spend",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": TARGET_VALUE,
            }
        ],
        "streaks": [{"name": "three days", "targetCountOfSequence": 3}],
        "streakFreezes": {"maxHeld": 1, "grantEveryAchieved": 3},
        "atRiskHours": 4,
    }


# --- The template --------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    user_targets: int
    group_periods: int
    seconds: float


def populate(url: str, customers: int, groups: int) -> Seeded:
    """The org and groups through the API, then the customers' rows in bulk SQL."""
    started = time.perf_counter()
    database = Database(url)
    database.migrate()
    clock = Clock(CREATED)
    admin.create_org(
        database,
        clock,
        org_id=ORG_ID,
        name="Sweep benchmark org",
        time_zone="UTC",
        client_id=CLIENT[0],
        client_secret=CLIENT[1],
    )
    app = create_app(
        Settings(database_url=url, log_level="warning"), database=database, clock=clock
    )
    made: list[dict[str, Any]] = []
    with TestClient(app) as client:
        for number in range(1, groups + 1):
            response = client.post("/v3/targetGroups", json=group_body(number), auth=CLIENT)
            if response.status_code != 201:
                raise RuntimeError(f"creating group {number}: {response.text}")
            made.append(response.json()["data"])
    written = achieved_rows = 0
    next_id = 1
    for group in made:
        rows, achieved, next_id = _group_rows(group, customers, next_id, database)
        written += len(rows)
        achieved_rows += len(achieved)
        with database.transaction() as connection:
            bulk = BulkSql(connection)
            for start in range(0, len(rows), ROWS_PER_WRITE):
                bulk.insert(user_targets, USER_TARGET_COLUMNS, rows[start : start + ROWS_PER_WRITE])
            columns = ("target_group_id", "period_id", "user_id", "achieved_at")
            for start in range(0, len(achieved), ROWS_PER_WRITE):
                bulk.insert(user_group_periods, columns, achieved[start : start + ROWS_PER_WRITE])
            bulk.insert(
                streak_sweeps,
                ("target_group_id", "swept_until"),
                [(group["id"], bulk.instant(LAST_SWEPT))],
            )
    # No ANALYZE on SQLite: the service never runs it. PostgreSQL's autovacuum would.
    with database.engine.connect() as connection:
        if database.is_sqlite:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            connection.commit()
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    database.dispose()
    return Seeded(written, achieved_rows, time.perf_counter() - started)


def _group_rows(
    group: dict[str, Any], customers: int, next_id: int, database: Database
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    with database.engine.connect() as connection:
        bulk = BulkSql(connection)
        target_id = group["targets"][0]["id"]
        periods = {day: group["periods"][day - 1]["id"] for day in range(1, PAST_DAYS + 1)}
        value = money_to_stored(Decimal(TARGET_VALUE))
        short = money_to_stored(Decimal(TARGET_VALUE) / 2)
        rows: list[tuple[object, ...]] = []
        achieved: list[tuple[object, ...]] = []
        for user_id in range(1, customers + 1):
            kind = user_id % 4
            for day in sorted(DAYS_WITH_ROWS[kind]):
                starts = FIRST_DAY + timedelta(days=day - 1)
                ends = starts + timedelta(days=1)
                done = day in ACHIEVED[kind]
                at = bulk.instant(starts + timedelta(hours=12))
                rows.append(
                    (
                        next_id,
                        ORG_ID,
                        group["id"],
                        target_id,
                        periods[day],
                        user_id,
                        1,
                        bulk.instant(starts),
                        bulk.instant(ends),
                        value,
                        value if done else short,
                        at if done else None,
                        bulk.instant(starts),
                        at,
                        at,
                        bulk.flag(False),
                    )
                )
                next_id += 1
                if done:
                    achieved.append((group["id"], periods[day], user_id, at))
    return rows, achieved, next_id


# --- The runs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    told: Counter[str]
    again_seconds: float
    again_told: Counter[str]


def one_run(url: str) -> Run:
    """One sweep at the period end, as ``milestones sweep`` makes it, then a second one."""
    database = Database(url)
    try:
        sweeper = Sweeper(database)
        started = time.perf_counter()
        told = sweeper.sweep(NOW)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = sweeper.sweep(NOW)
        again_seconds = time.perf_counter() - started
    finally:
        database.dispose()
    return Run(seconds, told, again_seconds, again)


def expected(customers: int, groups: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    for user_id in range(1, customers + 1):
        type_ = TOLD.get(user_id % 4)
        if type_ is not None:
            counts[type_] += groups
    return counts


def problems_of(runs: Sequence[Run], wanted: Counter[str]) -> list[str]:
    found = []
    for number, run in enumerate(runs, start=1):
        if run.told != wanted:
            found.append(f"run {number} told {dict(run.told)}, expected {dict(wanted)}")
        if run.again_told:
            found.append(f"run {number}: the second sweep told {dict(run.again_told)}")
    return found


def markdown(
    args: argparse.Namespace,
    command: str,
    version: str,
    seeded: Seeded,
    runs: Sequence[Run],
    problems: Sequence[str],
    total_seconds: float,
) -> str:
    swept = args.customers * args.groups
    times = [run.seconds for run in runs]
    median = statistics.median(times)
    notifications = sum(runs[0].told.values())
    lines = [
        f"## Streak sweeper, {version} (issue 16)",
        "",
        f"`{command}`: one sweep at a daily period end over {args.customers:,} customers in "
        f"{args.groups} daily STREAKS groups ({seeded.user_targets:,} user targets, "
        f"{seeded.group_periods:,} group achievements, seeded in bulk SQL in "
        f"{seeded.seconds:.0f} s). Median of {len(runs)} runs, each on a fresh copy.",
        "",
        MIX,
        "",
        "| figure | value |",
        "|---|---|",
        f"| sweep time (median) | **{median:.1f} s** (goal < 60 s on SQLite) |",
        f"| runs | {', '.join(f'{t:.1f} s' for t in times)} |",
        f"| customers/s | {args.customers / median:,.0f} |",
        f"| customer-groups swept/s | {swept / median:,.0f} |",
        f"| notifications written | {notifications:,} ({_types(runs[0].told)}) |",
        f"| second sweep at the same instant | "
        f"{statistics.median(r.again_seconds for r in runs):.1f} s, told "
        f"{sum(runs[0].again_told.values())} |",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        *machine(),
        f"- whole benchmark: {total_seconds:.0f} s",
        f"- checks: {'all passed' if not problems else '; '.join(problems)}",
        "",
    ]
    return "\n".join(lines)


def _types(told: Counter[str]) -> str:
    return ", ".join(f"{type_} {count:,}" for type_, count in sorted(told.items()))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MILESTONES_TEST_POSTGRES_URL"),
        help="a PostgreSQL server to make throwaway databases on",
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1,000 customers, 2 groups, once")
    parser.add_argument(
        "--results", type=Path, help=f"results file (default {RESULTS}; none with --quick)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.groups, args.repeat = 1_000, 2, 1
    elif args.results is None:
        args.results = RESULTS
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.perf_counter()
    command = "python -m benchmarks.sweep " + _shown(argv if argv is not None else sys.argv[1:])
    workdir = Path(tempfile.mkdtemp(prefix="milestones-bench-sweep-"))
    databases = Databases(args.database, args.postgres_url, workdir)
    runs: list[Run] = []
    tune_collector()  # as ``milestones sweep`` and each server process do
    try:
        print(f"seeding {args.customers:,} customers in {args.groups} groups", flush=True)
        template = databases.blank("sweep")
        seeded = populate(template, args.customers, args.groups)
        print(f"seeded in {seeded.seconds:.0f} s", flush=True)
        for number in range(1, args.repeat + 1):
            run = one_run(databases.copy(template))
            runs.append(run)
            print(f"run {number}: {run.seconds:.1f} s, {dict(run.told)}", flush=True)
        version = databases.server_version()
    finally:
        databases.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    problems = problems_of(runs, expected(args.customers, args.groups))
    text_out = markdown(args, command, version, seeded, runs, problems, time.perf_counter() - began)
    print(text_out)
    section = f"sweep-{args.database}"
    median = statistics.median(run.seconds for run in runs)
    write_figures(
        section,
        {
            "command": command,
            "customers": args.customers,
            "groups": args.groups,
            "sweep_seconds": median,
            "customers_per_second": args.customers / median,
            "notifications": sum(runs[0].told.values()),
            "problems": problems,
        },
    )
    if args.results is not None:
        write_section(args.results, section, text_out)
        print(f"written to {args.results}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
