"""User-view benchmark: ``GET /v3.1/users/{userId}/targetGroups`` of a real server.

What it does:

1. creates 50 active groups through ``POST /v3/targetGroups`` (FIXED_CALENDAR_WINDOW,
   MONTHLY, 12 periods over 2024; TRANSACTION SALES and COUNT targets, some with two
   targets or a 50 % milestone trigger, every tenth a STREAKS group);
2. seeds the customers' progress *directly* with bulk SQL inserts (SQLAlchemy Core
   ``executemany`` on ``milestones.store.tables``), which is fine for a read benchmark:
   each customer has progress in a few random groups, in the current and the previous
   period (``user_targets``, plus ``user_milestones`` where the trigger is reached); some
   have a stored profile (``customers``) and some a past purchase (``events``);
3. starts ``milestones serve`` on a free port with the clock pinned (``MILESTONES_NOW``,
   2024-09-20, so September is the current period), warms it up, then sends a fixed
   number of user-view GETs of random known customers, then as many ``GET /health``, from
   a few client threads over HTTP keep-alive (``benchmarks.lean_http``, a minimal client
   whose CPU cost per call is small next to the server's: both share the 2 cores), timing
   each call on the client side; repeated, medians reported;
4. calls the user view's code in-process under cProfile for a few hundred customers.

Usage: ``python -m benchmarks.user_view --database sqlite|postgresql [--postgres-url URL]
[--customers N] [--requests N] [--repeat N] [--workers N] [--clients N] [--quick]``.
Results go to ``benchmarks/RESULTS.md`` (section ``user-view-<database>``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import queue
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text

from benchmarks.ingest import (
    CLIENT,
    NOW,
    ORG_ID,
    RESULTS,
    Databases,
    _shown,
    _top,
    machine,
    running_server,
    server_errors,
    write_figures,
    write_section,
)
from benchmarks.lean_http import LeanClient, LeanHttpError
from milestones.api.envelope import ok
from milestones.api.user_view import service
from milestones.api.user_view.prepared import ViewCache
from milestones.engine.catalogue import CatalogueCache
from milestones.store.database import Database
from milestones.store.tables import (
    api_clients,
    customers,
    events,
    milestone_triggers,
    periods,
    target_period_values,
    targets,
    user_milestones,
    user_targets,
)

SEED = 20240921
FIRST_USER = 100_000_000
CHUNK_CUSTOMERS = 2_000
P50_GOAL_MS = 5.0
P99_GOAL_MS = 20.0
RATIO_GOAL = 0.5

Body = dict[str, Any]

# --- Groups ----------------------------------------------------------------------------

_YEAR = {
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "frequencyType": "MONTHLY",
    "frequency": 1,
    "totalPeriods": 12,
    "targetCycleStartDate": "2024-01-01T00:00:00.000",
    "targetCycleEndDate": "2024-12-31T23:59:59.000",
}
_HALFWAY = [{"triggerName": "halfway", "triggerValueType": "PERCENTAGE", "triggerValue": 50}]


def _target(kind: str, value: int, **extra: Any) -> Body:
    name = f"transaction-{kind.lower()}-{extra.pop('suffix', 'a')}"
    return {
        "name": name,
        "targetEntity": "TRANSACTION",
        "targetType": kind,
        "defaultValue": value,
        **extra,
    }


def group_bodies(count: int, rng: random.Random) -> list[Body]:
    """``count`` active monthly groups: SALES, COUNT, two targets, triggers, streaks."""
    bodies: list[Body] = []
    for n in range(count):
        sales = round(5000 * rng.uniform(0.5, 1.5))
        visits = rng.randint(3, 8)
        kind = n % 5
        tracking = "STREAKS" if n % 10 == 9 else "DEFAULT"
        if tracking == "STREAKS":
            body_targets = [_target("SALES", sales)]
        elif kind == 0:
            body_targets = [_target("SALES", sales, targetMilestoneTriggers=_HALFWAY)]
        elif kind == 1:
            body_targets = [_target("COUNT", visits)]
        elif kind == 2:
            body_targets = [_target("SALES", sales), _target("COUNT", visits, suffix="b")]
        else:
            body_targets = [_target("SALES", sales)]
        body: Body = {
            "name": f"uv-{n:03d}",
            "active": True,
            "trackingType": tracking,
            "recurringCycles": -1,
            **_YEAR,
            "targets": body_targets,
        }
        if tracking == "STREAKS":
            body["streaks"] = [
                {"name": f"{k} in a row", "targetCountOfSequence": k} for k in (2, 4)
            ]
        bodies.append(body)
    return bodies


# --- Seeding by SQL ----------------------------------------------------------------------


@dataclass
class Layout:
    """What the API created: each group's targets, default values, periods, triggers."""

    group_targets: dict[int, list[int]] = field(default_factory=dict)
    values: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    current: dict[int, tuple[int, int, datetime, datetime]] = field(default_factory=dict)
    previous: dict[int, tuple[int, int, datetime, datetime]] = field(default_factory=dict)
    triggers: dict[int, list[tuple[int, Decimal]]] = field(default_factory=dict)
    client_pk: int = 0


def read_layout(database: Database) -> Layout:
    layout = Layout()
    with database.transaction(write=False) as connection:
        for row in connection.execute(
            select(targets.c.id, targets.c.target_group_id).order_by(targets.c.id)
        ):
            layout.group_targets.setdefault(row[1], []).append(row[0])
        for row in connection.execute(
            select(
                target_period_values.c.target_id,
                target_period_values.c.period_id,
                target_period_values.c.default_value,
            )
        ):
            layout.values[(row[0], row[1])] = row[2]
        by_group: dict[int, list[tuple[int, int, datetime, datetime]]] = {}
        for row in connection.execute(
            select(
                periods.c.target_group_id,
                periods.c.id,
                periods.c.position,
                periods.c.starts_at,
                periods.c.ends_at,
            ).order_by(periods.c.position)
        ):
            by_group.setdefault(row[0], []).append((row[1], row[2], row[3], row[4]))
        for group_id, rows in by_group.items():
            at = next(i for i, p in enumerate(rows) if p[2] <= NOW < p[3])
            layout.current[group_id] = rows[at]
            layout.previous[group_id] = rows[at - 1]
        for row in connection.execute(
            select(
                milestone_triggers.c.id, milestone_triggers.c.target_id, milestone_triggers.c.value
            )
        ):
            layout.triggers.setdefault(row[1], []).append((row[0], row[2]))
        layout.client_pk = connection.execute(
            select(api_clients.c.id).where(api_clients.c.client_id == CLIENT[0])
        ).scalar_one()
    return layout


@dataclass
class Seeded:
    customers: int = 0
    user_targets: int = 0
    user_milestones: int = 0
    profiles: int = 0
    events: int = 0
    seconds: float = 0.0


def _instant(start: datetime, end: datetime, rng: random.Random) -> datetime:
    span = (end - start).total_seconds()
    return start + timedelta(seconds=round(rng.uniform(0, span)))


def seed(
    database: Database, count: int, per_customer: tuple[int, int], rng: random.Random
) -> Seeded:
    """Bulk-insert every customer's progress, in chunks, one transaction per chunk."""
    layout = read_layout(database)
    group_ids = sorted(layout.group_targets)
    done = Seeded(customers=count)
    began = time.perf_counter()
    next_id = 1
    for first in range(0, count, CHUNK_CUSTOMERS):
        ut_rows: list[Body] = []
        um_rows: list[Body] = []
        cu_rows: list[Body] = []
        ev_rows: list[Body] = []
        for n in range(first, min(first + CHUNK_CUSTOMERS, count)):
            user_id = FIRST_USER + n
            for group_id in rng.sample(group_ids, rng.randint(*per_customer)):
                for period_id, position, starts, ends in (
                    layout.previous[group_id],
                    layout.current[group_id],
                ):
                    last = min(ends, NOW)
                    for target_id in layout.group_targets[group_id]:
                        value = layout.values[(target_id, period_id)]
                        achieved = Decimal(round(float(value) * rng.uniform(0, 1.4)))
                        reached_at = _instant(starts, last, rng)
                        ut_rows.append(
                            {
                                "id": next_id,
                                "org_id": ORG_ID,
                                "target_group_id": group_id,
                                "target_id": target_id,
                                "period_id": period_id,
                                "user_id": user_id,
                                "slot": position,
                                "starts_at": starts,
                                "ends_at": ends,
                                "target_value": value,
                                "achieved_value": achieved,
                                "achieved_at": reached_at if achieved >= value else None,
                                "enrolled_at": starts,
                                "updated_at": reached_at,
                            }
                        )
                        for trigger_id, percent in layout.triggers.get(target_id, []):
                            if achieved * 100 >= value * percent:
                                um_rows.append(
                                    {
                                        "user_target_id": next_id,
                                        "trigger_id": trigger_id,
                                        "achieved_at": reached_at,
                                    }
                                )
                        next_id += 1
            if rng.random() < 0.3:
                cu_rows.append(
                    {
                        "org_id": ORG_ID,
                        "user_id": user_id,
                        "profiles": [
                            {
                                "firstName": f"Customer{n}",
                                "identifiers": [{"type": "mobile", "value": f"91{user_id}"}],
                            }
                        ],
                        "custom_fields": {"tier": rng.choice(("silver", "gold"))},
                        "loyalty_type": "loyalty",
                        "source": "INSTORE",
                        "created_at": NOW - timedelta(days=200),
                        "created_by": layout.client_pk,
                        "updated_at": NOW - timedelta(days=10),
                        "updated_by": layout.client_pk,
                    }
                )
            if rng.random() < 0.5:
                at = NOW - timedelta(days=rng.randint(1, 200))
                amount = Decimal(rng.randint(50, 3000))
                ev_rows.append(
                    {
                        "org_id": ORG_ID,
                        "event_id": f"seed-{n}",
                        "event_name": "TransactionAdd",
                        "user_id": user_id,
                        "event_time": at,
                        "received_at": at,
                        "status": "APPLIED",
                        "bill_amount": amount,
                        "returned_amount": Decimal(0),
                        "payload": {"billAmount": float(amount)},
                    }
                )
        with database.engine.begin() as connection:
            connection.execute(user_targets.insert(), ut_rows)
            if um_rows:
                connection.execute(user_milestones.insert(), um_rows)
            if cu_rows:
                connection.execute(customers.insert(), cu_rows)
            if ev_rows:
                connection.execute(events.insert(), ev_rows)
        done.user_targets += len(ut_rows)
        done.user_milestones += len(um_rows)
        done.profiles += len(cu_rows)
        done.events += len(ev_rows)
        if (first // CHUNK_CUSTOMERS) % 10 == 0:
            print(f"  seeded {first + CHUNK_CUSTOMERS:,} customers", flush=True)
    if database.is_sqlite:
        with database.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    else:
        # As a database in service would be: vacuumed (no autovacuum of 2.4 million fresh
        # rows starting in the middle of a measured run, index-only scans possible) and
        # checkpointed.
        with database.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.execute(text("VACUUM ANALYZE"))
            connection.execute(text("CHECKPOINT"))
    if database.is_sqlite:
        with database.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    done.seconds = time.perf_counter() - began
    return done


# --- Measuring ---------------------------------------------------------------------------


@dataclass
class Series:
    """One measured batch of calls to one path."""

    calls: int
    wall: float
    latencies: list[float]
    codes: Counter[int]
    problems: list[str]

    @property
    def rps(self) -> float:
        return self.calls / self.wall

    def ms(self, quantile: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))]


def hammer(base: str, paths: Sequence[str], clients: int, check_user: bool) -> Series:
    """GET every path from ``clients`` keep-alive threads; wall from first send to last answer."""
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(paths)):
        work.put(index)
    done: list[tuple[int, float, float, int, bytes]] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def loop() -> None:
        mine: list[tuple[int, float, float, int, bytes]] = []
        with LeanClient(base, CLIENT) as client:
            client.get("/health")  # open the connection before the clock starts
            start.wait()
            while True:
                try:
                    index = work.get_nowait()
                except queue.Empty:
                    break
                request = client.request_bytes(paths[index])
                began = time.perf_counter()
                try:
                    code, body = client.send(request)
                except LeanHttpError as exc:
                    code, body = 0, repr(exc).encode()
                mine.append((index, began, time.perf_counter(), code, body))
        with lock:
            done.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = max(item[2] for item in done) - began
    codes: Counter[int] = Counter(item[3] for item in done)
    problems: list[str] = []
    for index, _, _, code, body in done:  # checked after the clock stopped
        if code != 200:
            problems.append(f"GET {paths[index]}: HTTP {code}: {body[:300]!r}")
        elif check_user:
            data = json.loads(body)["data"]
            wanted = int(paths[index].split("/")[3])
            if data["userId"] != wanted or not data["targetGroups"]:
                problems.append(f"GET {paths[index]}: unexpected answer {body[:200]!r}")
    return Series(len(done), wall, [item[2] - item[1] for item in done], codes, problems)


@dataclass
class Round:
    view: Series
    health: Series
    load: float

    @property
    def ratio(self) -> float:
        return self.view.rps / self.health.rps


def user_path(user_id: int) -> str:
    return f"/v3.1/users/{user_id}/targetGroups"


def measure(
    url: str, workdir: Path, args: argparse.Namespace, rng: random.Random
) -> tuple[list[Round], list[str], int]:
    log = workdir / "server.log"
    rounds: list[Round] = []
    groups_seen = 0
    with running_server(url, args.workers, log) as server:
        warm = [user_path(FIRST_USER + rng.randrange(args.customers)) for _ in range(200)]
        hammer(server.base, warm, args.clients, check_user=True)
        hammer(server.base, ["/health"] * 200, args.clients, check_user=False)
        probe = httpx.get(server.base + warm[0], auth=CLIENT, timeout=30).json()["data"]
        groups_seen = len(probe["targetGroups"])
        for number in range(1, args.repeat + 1):
            load = os.getloadavg()[0]
            paths = [
                user_path(FIRST_USER + rng.randrange(args.customers)) for _ in range(args.requests)
            ]
            view = hammer(server.base, paths, args.clients, check_user=True)
            health = hammer(server.base, ["/health"] * args.requests, args.clients, False)
            rounds.append(Round(view, health, load))
            print(
                f"run {number}/{args.repeat}: view p50 {view.ms(0.5):.1f} ms p99 "
                f"{view.ms(0.99):.1f} ms {view.rps:,.0f}/s {dict(view.codes)}; health "
                f"{health.rps:,.0f}/s {dict(health.codes)}; ratio {view.rps / health.rps:.2f}",
                flush=True,
            )
    problems = [p for r in rounds for p in r.view.problems + r.health.problems]
    problems += [f"server log: {line}" for line in server_errors(log)[:20]]
    return rounds, problems, groups_seen


# --- Profile -----------------------------------------------------------------------------


@dataclass
class Profile:
    calls: int
    plain_ms: float
    seconds: float
    top: list[str]


def profile(url: str, user_ids: Sequence[int]) -> Profile:
    """The route's body (one read transaction, ``user_view()``, envelope and JSON) in-process."""
    database = Database(url)
    cache = CatalogueCache()
    views = ViewCache()
    options = service.ViewOptions()

    def call(user_id: int) -> bytes:
        with database.transaction(write=False) as connection:
            data = service.user_view(connection, [ORG_ID], user_id, options, NOW, cache, views)
        return bytes(ok(data, float_free=True).body)

    call(user_ids[0])  # loads the catalogue, as a warm worker has
    began = time.perf_counter()
    for user_id in user_ids:
        call(user_id)
    plain = time.perf_counter() - began
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    for user_id in user_ids:
        call(user_id)
    profiler.disable()
    seconds = time.perf_counter() - began
    database.dispose()
    top = _top(pstats.Stats(profiler), 3, 20, len(user_ids))
    top[0] = top[0].replace("µs/event", "µs/call ")
    return Profile(len(user_ids), 1000 * plain / len(user_ids), seconds, top)


# --- Report ------------------------------------------------------------------------------


def markdown(
    kind: str,
    command: str,
    args: argparse.Namespace,
    version: str,
    seeded: Seeded,
    groups: int,
    groups_seen: int,
    rounds: list[Round],
    problems: list[str],
    found: Profile | None,
    elapsed: float,
) -> str:
    p50 = statistics.median(r.view.ms(0.5) for r in rounds)
    p90 = statistics.median(r.view.ms(0.9) for r in rounds)
    p99 = statistics.median(r.view.ms(0.99) for r in rounds)
    rps = statistics.median(r.view.rps for r in rounds)
    health = statistics.median(r.health.rps for r in rounds)
    ratio = statistics.median(r.ratio for r in rounds)

    def verdict(good: bool) -> str:
        return "met" if good else "**NOT met**"

    lines = [
        f"## User view on {kind}",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command}`",
        *machine(),
        f"- database: {version}",
        f"- data: {groups} active groups created through `POST /v3/targetGroups` (FIXED "
        "MONTHLY, 12 periods over 2024; TRANSACTION SALES / COUNT, some with two targets "
        "or a 50 % trigger, every tenth STREAKS); clock pinned to 2024-09-20 (September "
        "is the current period)",
        f"- progress seeded **directly by bulk SQL inserts** (not through the engine; fine "
        f"for a read benchmark): {seeded.customers:,} customers, each in "
        f"{args.per_customer[0]}-{args.per_customer[1]} random groups, current and previous "
        f"period: {seeded.user_targets:,} `user_targets`, {seeded.user_milestones:,} "
        f"`user_milestones`, {seeded.profiles:,} `customers` profiles, {seeded.events:,} "
        f"past purchases in `events`; then `ANALYZE` (PostgreSQL: `VACUUM ANALYZE` and a "
        f"`CHECKPOINT`); took {seeded.seconds:.0f} s",
        f"- server: `milestones serve --workers {args.workers}`; {args.clients} client "
        f"threads with keep-alive (`benchmarks/lean_http.py`, a minimal HTTP/1.1 client, "
        f"basic auth as the API client; until session 3 `httpx.Client`, whose ~0.8-1 ms "
        f"of CPU per call competed with the server) on the same machine; per run "
        f"{args.requests:,} user-view GETs of random seeded "
        f"customers (a view shows ~{groups_seen} groups), then {args.requests:,} "
        f"`GET /health`; {args.repeat} runs on one server after 200 warm-up calls of each; "
        "latency measured by the client",
        f"- whole benchmark took {elapsed / 60:.1f} min",
        "",
        "| | median | goal | |",
        "|---|---|---|---|",
        f"| user view p50 | **{p50:.1f} ms** | ≤ {P50_GOAL_MS:.0f} ms "
        f"| {verdict(p50 <= P50_GOAL_MS)} |",
        f"| user view p90 | {p90:.1f} ms | | |",
        f"| user view p99 | **{p99:.1f} ms** | ≤ {P99_GOAL_MS:.0f} ms "
        f"| {verdict(p99 <= P99_GOAL_MS)} |",
        f"| user view requests/s | **{rps:,.0f}** | | |",
        f"| /health requests/s | {health:,.0f} | | |",
        f"| user view ÷ /health requests/s | **{ratio:.2f}** | ≥ {RATIO_GOAL} "
        f"| {verdict(ratio >= RATIO_GOAL)} |",
        "",
        "Every run (load = 1-min load average just before it; the machine is shared):",
        "",
        "| run | view p50 ms | p90 | p99 | max | view req/s | health p50 ms | health p99 "
        "| health req/s | ratio | load | answers |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, r in enumerate(rounds, 1):
        codes = ", ".join(
            f"{code}: {n:,}" for code, n in sorted((r.view.codes + r.health.codes).items())
        )
        lines.append(
            f"| {number} | {r.view.ms(0.5):.1f} | {r.view.ms(0.9):.1f} | {r.view.ms(0.99):.1f} "
            f"| {r.view.ms(1):.1f} | {r.view.rps:,.0f} | {r.health.ms(0.5):.1f} "
            f"| {r.health.ms(0.99):.1f} | {r.health.rps:,.0f} | {r.ratio:.2f} | {r.load:.1f} "
            f"| {codes} |"
        )
    lines += ["", "Errors (non-200 answers, unexpected bodies, server log errors):", ""]
    lines += [f"    {p}" for p in problems[:40]] if problems else ["none."]
    if found is not None:
        lines += [
            "",
            f"### Where the time goes ({found.calls} customers, in-process, one thread)",
            "",
            "The route's body called directly: a read transaction, `service.user_view()` "
            "(catalogue and prepared groups from the caches, the customer's standing, the "
            "customer, the layout) and the envelope's JSON, as the route calls them; HTTP, "
            "uvicorn, FastAPI routing and authentication "
            f"are not in it. Without the profiler: **{found.plain_ms:.2f} ms per customer**.",
            "",
            f"cProfile, top 20 by cumulative time (profiled run took {found.seconds:.1f} s, "
            "profiler overhead included):",
            "",
            "```",
            *found.top,
            "```",
        ]
    return "\n".join(lines) + "\n"


def figures(
    kind: str, command: str, args: argparse.Namespace, rounds: list[Round], problems: list[str]
) -> dict[str, Any]:
    """The key figures, for ``var/bench/user-view-<database>.json``."""
    return {
        "benchmark": "user_view",
        "database": kind,
        "command": command,
        "quick": args.quick,
        "workers": args.workers,
        "clients": args.clients,
        "p50_ms": statistics.median(r.view.ms(0.5) for r in rounds),
        "p99_ms": statistics.median(r.view.ms(0.99) for r in rounds),
        "view_rps": statistics.median(r.view.rps for r in rounds),
        "health_rps": statistics.median(r.health.rps for r in rounds),
        "ratio": statistics.median(r.ratio for r in rounds),
        "runs": [
            {"p99_ms": r.view.ms(0.99), "view_rps": r.view.rps, "health_rps": r.health.rps}
            for r in rounds
        ],
        "checks": {
            "what": "every user-view answer: HTTP 200, the userId asked for, at least one "
            "group; every /health answer: HTTP 200; the server log free of errors",
            "answers": sum(r.view.calls + r.health.calls for r in rounds),
            "problems": len(problems),
        },
    }


# --- Command line ------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.user_view", description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MILESTONES_TEST_POSTGRES_URL"),
        help="a PostgreSQL server URL; the benchmark creates (and drops) its own database",
    )
    parser.add_argument("--customers", type=int)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--requests", type=int, help="user-view GETs (and /health) per run")
    parser.add_argument("--repeat", type=int)
    parser.add_argument("--workers", type=int, default=2, help="server workers (default 2)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--profile-calls", type=int, help="customers profiled (0 skips it)")
    parser.add_argument("--quick", action="store_true", help="a small run to check the harness")
    parser.add_argument(
        "--results", type=Path, help=f"results file (default {RESULTS}; none with --quick)"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "customers": 2_000 if quick else 100_000,
        "requests": 500 if quick else 5_000,
        "repeat": 1 if quick else 3,
        "profile_calls": 50 if quick else 300,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.per_customer = (8, 12)
    if args.results is None and not quick:
        args.results = RESULTS
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    command = "python -m benchmarks.user_view " + _shown(argv if argv is not None else sys.argv[1:])
    rng = random.Random(SEED)
    bodies = group_bodies(args.groups, rng)
    workdir = Path(tempfile.mkdtemp(prefix="milestones-uv-bench-"))
    databases = Databases(args.database, args.postgres_url, workdir)
    try:
        print(f"creating {len(bodies)} groups through the API", flush=True)
        url = databases.template("uv", bodies)
        print(f"seeding {args.customers:,} customers by SQL", flush=True)
        database = Database(url)
        seeded = seed(database, args.customers, args.per_customer, rng)
        database.dispose()
        print(f"seeded {seeded.user_targets:,} user_targets in {seeded.seconds:.0f} s", flush=True)
        rounds, problems, groups_seen = measure(url, workdir, args, rng)
        found = None
        if args.profile_calls > 0:
            print(f"profiling {args.profile_calls} customers in-process", flush=True)
            ids = [FIRST_USER + rng.randrange(args.customers) for _ in range(args.profile_calls)]
            found = profile(url, ids)
        version = databases.server_version()
    finally:
        databases.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    text_out = markdown(
        "SQLite" if args.database == "sqlite" else "PostgreSQL",
        command,
        args,
        version,
        seeded,
        len(bodies),
        groups_seen,
        rounds,
        problems,
        found,
        time.perf_counter() - began,
    )
    print(text_out)
    kind = "SQLite" if args.database == "sqlite" else "PostgreSQL"
    write_figures(f"user-view-{args.database}", figures(kind, command, args, rounds, problems))
    if args.results is not None:
        write_section(args.results, f"user-view-{args.database}", text_out)
        print(f"written to {args.results}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
