"""Scale benchmark on PostgreSQL (issue 17, SPEC §19): more server processes, and the replica.

Part 1, ingest scaling. The standard ingest mix (``benchmarks.ingest``: 100 active groups,
the same generated events) sent in bulk calls to:

- ``milestones serve --workers 1``, ``--workers 2`` and ``--workers 4``;
- two ``milestones serve --workers 1`` on different ports, one database, the client
  threads spread over both (each takes the next call from one shared queue).

Every server runs with ``--no-deliver``. Each run gets a fresh database (a copy of one
populated template) and new servers; the configurations are interleaved (their order
rotates each round), 3 runs each, medians; the client threads are 2 per server process,
to keep every process busy. Every answer is checked as ``benchmarks.ingest`` checks it.

Part 2, the user view with and without the replica. A PostgreSQL of its own
(``tests/pg_cluster.py``: a primary, then a streaming replica by ``pg_basebackup``) gets
``benchmarks.user_view``'s groups (through the API) and customers' progress (bulk SQL).
Two servers run on the primary, one plain, one with ``MILESTONES_READ_DATABASE_URL``
pointing at the replica. Each round, each server in turn gets a fixed number of user-view
GETs of random seeded customers, then as many ``GET /health`` (the reference measured in
the same run). Medians of the rounds. Each server's ``/metrics``
(``milestones_db_reads_total{database}``) then says where its user views were read.

The machine running ``make bench`` has 2 cores shared by the servers, PostgreSQL and the
clients: past 2 busy processes there is nothing left to scale onto, and a replica on the
same machine takes nothing off the primary's cores. The figures say what one machine
does, not what more hosts would.

Usage: ``python -m benchmarks.scale [--postgres-url URL] [--events N] [--batch N]
[--repeat N] [--customers N] [--requests N] [--quick]``. Results go to
``benchmarks/RESULTS.md`` (section ``scale``), figures to ``var/bench/scale-postgresql.json``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.pg_cluster import PgServer, primary_server

from benchmarks import user_view
from benchmarks.ingest import (
    CLIENT,
    RESULTS,
    SEED,
    STATUSES,
    Databases,
    RunResult,
    _run_row,
    _shown,
    encode_batches,
    generate_events,
    group_bodies,
    machine,
    measured_run,
    populate,
    running_server,
    server_errors,
    write_figures,
    write_section,
)
from milestones.store.database import Database

SECTION = "scale"
FIGURES = "scale-postgresql"
GROUPS = 100
SERVE = ("--no-deliver",)
REPLICA_DEADLINE = 120.0  # seconds for the replica to replay the seeded data
WARM_CALLS = 200


@dataclass(frozen=True)
class Config:
    """One way to run the servers: ``processes`` servers of ``workers`` workers each."""

    name: str
    processes: int
    workers: int

    @property
    def busy(self) -> int:
        return self.processes * self.workers

    def clients(self, per_process: int) -> int:
        return per_process * self.busy


CONFIGS = (
    Config("--workers 1", 1, 1),
    Config("--workers 2", 1, 2),
    Config("--workers 4", 1, 4),
    Config("2 servers, --workers 1 each", 2, 1),
)
BASE = CONFIGS[0]


def _rotated(items: Sequence[Any], by: int) -> list[Any]:
    """The items, starting at ``by`` (mod their count): each round starts with another."""
    by %= len(items)
    return [*items[by:], *items[:by]]


# --- Part 1: ingest scaling --------------------------------------------------------------


def ingest_scaling(
    args: argparse.Namespace, workdir: Path
) -> tuple[dict[Config, list[RunResult]], str]:
    """Every configuration ``args.repeat`` times, interleaved; and the server's version."""
    rng = random.Random(SEED)
    bodies = group_bodies(GROUPS, 0, rng)
    events = generate_events(args.events, args.customers_ingest, rng)
    batches = encode_batches(events, args.batch)
    print(f"ingest: {len(events):,} events in {len(batches)} calls, {GROUPS} groups", flush=True)
    databases = Databases("postgresql", args.postgres_url, workdir)
    runs: dict[Config, list[RunResult]] = {config: [] for config in CONFIGS}
    try:
        template = databases.template("scale", bodies)
        order = 0
        for round_ in range(args.repeat):
            for config in _rotated(CONFIGS, round_):
                clients = config.clients(args.clients_per_process)
                result = measured_run(
                    databases,
                    template,
                    GROUPS,
                    batches,
                    config.workers,
                    clients,
                    f"p{config.processes}w{config.workers}-r{round_ + 1}",
                    processes=config.processes,
                    options=SERVE,
                )
                result.order = order
                order += 1
                runs[config].append(result)
                print(
                    f"round {round_ + 1}/{args.repeat}, {config.name}, {clients} clients: "
                    f"{result.events_per_second:,.0f} events/s, {dict(result.statuses)}, "
                    f"{len(result.problems)} problems",
                    flush=True,
                )
                for problem in result.problems[:5]:
                    print(f"  {problem}", flush=True)
        version = databases.server_version()
    finally:
        databases.drop_all()
    return runs, version


def _median_rate(results: Sequence[RunResult]) -> float:
    return statistics.median(r.events_per_second for r in results)


def _median_cpu(results: Sequence[RunResult]) -> float:
    return statistics.median(r.cpu_per_event for r in results)


# --- Part 2: the user view with and without the replica ---------------------------------


@dataclass
class ViewSide:
    """One of the two user-view servers: its rounds and where its reads were served."""

    name: str
    rounds: list[user_view.Round]
    reads: dict[str, float]
    view_calls: int  # user views it answered, warm-up included: each is one read
    problems: list[str]

    def median(self, what: str) -> float:
        return statistics.median(_PICK[what](r) for r in self.rounds)


_PICK: dict[str, Callable[[user_view.Round], float]] = {
    "view_rps": lambda r: r.view.rps,
    "p50_ms": lambda r: r.view.ms(0.5),
    "p99_ms": lambda r: r.view.ms(0.99),
    "health_rps": lambda r: r.health.rps,
    "ratio": lambda r: r.ratio,
}


@dataclass
class ReplicaResult:
    sides: list[ViewSide]
    seeded: user_view.Seeded
    groups: int
    groups_seen: int
    replay_seconds: float
    version: str


def reads_served(base: str) -> dict[str, float]:
    """``milestones_db_reads_total`` by ``database``, read from the server's ``/metrics``."""
    token = os.environ.get("MILESTONES_METRICS_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{base}/metrics", headers=headers, timeout=30)
    response.raise_for_status()
    found = {"replica": 0.0, "primary": 0.0}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "milestones_db_reads_total":
                found[sample.labels["database"]] = sample.value
    return found


def _wait_replayed(primary: PgServer, replica: PgServer) -> float:
    """Poll until the replica has replayed all the primary had written; seconds it took."""
    began = time.monotonic()
    written = primary.sql("SELECT pg_current_wal_lsn()::text")[0][0]
    while time.monotonic() - began < REPLICA_DEADLINE:
        replayed = replica.sql(
            f"SELECT coalesce(pg_last_wal_replay_lsn() >= '{written}'::pg_lsn, false)"
        )[0][0]
        if replayed:
            return time.monotonic() - began
        time.sleep(0.2)
    raise RuntimeError(f"the replica did not replay up to {written} in {REPLICA_DEADLINE:.0f} s")


def replica_reads(args: argparse.Namespace, workdir: Path) -> ReplicaResult:
    rng = random.Random(user_view.SEED)
    bodies = user_view.group_bodies(args.view_groups, rng)
    with primary_server() as primary:
        print(f"user view: {len(bodies)} groups through the API on a new primary", flush=True)
        populate(primary.url, bodies)
        print(f"seeding {args.customers:,} customers by SQL", flush=True)
        database = Database(primary.url)
        seeded = user_view.seed(database, args.customers, (8, 12), rng)
        database.dispose()
        print(f"seeded {seeded.user_targets:,} user_targets in {seeded.seconds:.0f} s", flush=True)
        version = primary.sql("SHOW server_version")[0][0]
        print("starting a streaming replica (pg_basebackup)", flush=True)
        replica = primary.replica()
        try:
            replay = _wait_replayed(primary, replica)
            sides, groups_seen = _measure_views(args, workdir, rng, primary, replica)
        finally:
            replica.remove()
    return ReplicaResult(sides, seeded, len(bodies), groups_seen, replay, f"PostgreSQL {version}")


def _measure_views(
    args: argparse.Namespace,
    workdir: Path,
    rng: random.Random,
    primary: PgServer,
    replica: PgServer,
) -> tuple[list[ViewSide], int]:
    plans = [
        ("primary only", {}),
        ("with replica", {"MILESTONES_READ_DATABASE_URL": replica.url}),
    ]
    logs = {name: workdir / f"view-{n}.log" for n, (name, _) in enumerate(plans)}
    rounds: dict[str, list[user_view.Round]] = {name: [] for name, _ in plans}
    calls = dict.fromkeys(rounds, 0)

    def customers(count: int) -> list[str]:
        return [
            user_view.user_path(user_view.FIRST_USER + rng.randrange(args.customers))
            for _ in range(count)
        ]

    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(
                running_server(primary.url, args.view_workers, logs[name], SERVE, env)
            )
            for name, env in plans
        }
        for name, server in servers.items():
            user_view.hammer(server.base, customers(WARM_CALLS), args.view_clients, True)
            user_view.hammer(server.base, ["/health"] * WARM_CALLS, args.view_clients, False)
            calls[name] += WARM_CALLS
        probe = customers(1)[0]
        answer = httpx.get(servers[plans[0][0]].base + probe, auth=CLIENT, timeout=30)
        groups_seen = len(answer.json()["data"]["targetGroups"])
        calls[plans[0][0]] += 1
        for round_ in range(args.repeat):
            for name in _rotated(list(servers), round_):
                base = servers[name].base
                load = os.getloadavg()[0]
                view = user_view.hammer(base, customers(args.requests), args.view_clients, True)
                health = user_view.hammer(
                    base, ["/health"] * args.requests, args.view_clients, False
                )
                calls[name] += view.calls
                rounds[name].append(user_view.Round(view, health, load))
                print(
                    f"round {round_ + 1}/{args.repeat}, {name}: view {view.rps:,.0f}/s "
                    f"p50 {view.ms(0.5):.1f} ms p99 {view.ms(0.99):.1f} ms; health "
                    f"{health.rps:,.0f}/s",
                    flush=True,
                )
        reads = {name: reads_served(server.base) for name, server in servers.items()}
    sides = []
    for name, _ in plans:
        problems = [p for r in rounds[name] for p in r.view.problems + r.health.problems]
        problems += [f"server log: {line}" for line in server_errors(logs[name])[:20]]
        problems += _reads_problems(name, reads[name], calls[name])
        sides.append(ViewSide(name, rounds[name], reads[name], calls[name], problems))
    return sides, groups_seen


def _reads_problems(name: str, reads: dict[str, float], calls: int) -> list[str]:
    """Each user view is one read; the plain server never reads a replica, and the other's
    replica must really have served (a few reads on the primary, while a lag check found
    it behind, are reported, not faulted)."""
    total = reads["replica"] + reads["primary"]
    problems = []
    if total != calls:
        problems.append(f"{name}: {total:.0f} reads counted for {calls} user views")
    if name == "primary only" and reads["replica"]:
        problems.append(f"{name}: {reads['replica']:.0f} reads on a replica it was not given")
    if name == "with replica" and not reads["replica"]:
        problems.append(f"{name}: the replica served none of its {calls} user views")
    return problems


# --- Report ------------------------------------------------------------------------------


def markdown(
    args: argparse.Namespace,
    command: str,
    runs: dict[Config, list[RunResult]],
    version: str,
    views: ReplicaResult,
    elapsed: float,
) -> str:
    base = _median_rate(runs[BASE])
    lines = [
        "## Scale on PostgreSQL: more server processes, and the read replica (issue 17)",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command}`",
        *machine(),
        f"- database: {version} (ingest: the `make bench` server; user view: a primary and "
        f"its streaming replica of `tests/pg_cluster.py`, {views.version}, on the same machine)",
        f"- whole benchmark took {elapsed / 60:.1f} min",
        *([f"- note: {args.note}"] if args.note else []),
        f"- **the machine has {len(os.sched_getaffinity(0))} cores**, shared by the servers, "
        "PostgreSQL and the clients: more processes than cores cannot run at once, and a "
        "replica on the same machine takes no work off the primary's cores. These figures "
        "are what is measured on one such machine, not what more hosts would give.",
        "",
        "### Ingest with more server processes",
        "",
        f"- workload: the standard mix of `benchmarks/ingest.py` ({GROUPS} active groups of "
        f"10 kinds), {args.events:,} events of {args.customers_ingest:,} customers (seed "
        f"{SEED}) in bulk calls of {args.batch}; every server `--no-deliver`",
        f"- {args.clients_per_process} client threads per server process, pulling the calls "
        "from one queue; with two servers, half the threads send to each",
        f"- each run on a fresh database and new servers; the {len(CONFIGS)} configurations "
        f"interleaved (order rotated each round), {args.repeat} runs each, medians",
        "",
        "| servers | processes | clients | median events/s | runs (events/s) "
        "| ÷ `--workers 1` | median server CPU µs/event |",
        "|---|---|---|---|---|---|---|",
    ]
    for config in CONFIGS:
        rates = ", ".join(f"{r.events_per_second:,.0f}" for r in runs[config])
        median = _median_rate(runs[config])
        shown = f"`serve {config.name}`" if config.processes == 1 else config.name
        lines.append(
            f"| {shown} | {config.busy} | {config.clients(args.clients_per_process)} "
            f"| **{median:,.0f}** | {rates} | **{median / base:.2f}** "
            f"| {1e6 * _median_cpu(runs[config]):,.0f} |"
        )
    lines += [
        "",
        "Every run, in the order run (CPU = all server processes' CPU per event, not "
        "PostgreSQL's; latency = one bulk call seen by the client, ms; effects = side effects "
        "per event; load = 1-min load average just before the run):",
        "",
        "| servers | groups | events/s | wall s | CPU µs/event | p50 | p90 | p99 | max "
        "| effects | load | statuses |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    in_order = sorted(((r, c) for c, rs in runs.items() for r in rs), key=lambda x: x[0].order)
    lines += [f"| {config.name} {_run_row(result)}" for result, config in in_order]
    problems = [p for results in runs.values() for r in results for p in r.problems]
    lines += ["", "Engine errors (non-200 answers, unexpected statuses, server log errors):"]
    lines += ["", *(f"    {p}" for p in problems[:40])] if problems else ["none."]
    lines += _view_lines(args, views)
    return "\n".join(lines) + "\n"


def _view_lines(args: argparse.Namespace, views: ReplicaResult) -> list[str]:
    seeded = views.seeded
    lines = [
        "",
        "### The user view with and without the replica",
        "",
        f"- data: `benchmarks/user_view.py`'s {views.groups} groups (through the API) and "
        f"{seeded.customers:,} customers' progress seeded by bulk SQL "
        f"({seeded.user_targets:,} `user_targets`, {seeded.user_milestones:,} "
        f"`user_milestones`, {seeded.profiles:,} profiles, {seeded.events:,} past purchases; "
        f"{seeded.seconds:.0f} s), then the replica made by `pg_basebackup` (replayed the "
        f"primary's WAL in {views.replay_seconds:.1f} s); a view shows ~{views.groups_seen} "
        "groups",
        f"- two servers on the primary, both `milestones serve --workers {args.view_workers} "
        "--no-deliver`, one with `MILESTONES_READ_DATABASE_URL` set to the replica (lag bound "
        f"the default 5 s); {args.view_clients} keep-alive client threads "
        f"(`benchmarks/lean_http.py`); each round, each server in turn gets {args.requests:,} "
        f"user-view GETs of random customers, then {args.requests:,} `GET /health`; "
        f"{WARM_CALLS} warm-up calls of each first; {args.repeat} rounds (order rotated), "
        "medians",
        "- reads served: `milestones_db_reads_total{database}` from the server's `/metrics` "
        "after the rounds (every user view it answered, warm-up included, is one read)",
        "",
        "| server | view requests/s | view p50 ms | view p99 ms | /health requests/s "
        "| view ÷ /health | reads on replica / primary |",
        "|---|---|---|---|---|---|---|",
    ]
    for side in views.sides:
        lines.append(
            f"| {side.name} | **{side.median('view_rps'):,.0f}** | {side.median('p50_ms'):.1f} "
            f"| {side.median('p99_ms'):.1f} | {side.median('health_rps'):,.0f} "
            f"| {side.median('ratio'):.2f} | {side.reads['replica']:,.0f} / "
            f"{side.reads['primary']:,.0f} |"
        )
    plain, replicated = views.sides
    lines += [
        "",
        f"With the replica ÷ primary only: view requests/s **"
        f"{replicated.median('view_rps') / plain.median('view_rps'):.2f}**, p99 "
        f"{replicated.median('p99_ms') / plain.median('p99_ms'):.2f}.",
        "",
        "Every round (load = 1-min load average just before it):",
        "",
        "| round | server | view req/s | view p50 ms | p90 | p99 | max | health req/s "
        "| health p99 ms | load | answers |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number in range(args.repeat):
        for side in views.sides:
            r = side.rounds[number]
            codes = ", ".join(
                f"{code}: {n:,}" for code, n in sorted((r.view.codes + r.health.codes).items())
            )
            lines.append(
                f"| {number + 1} | {side.name} | {r.view.rps:,.0f} | {r.view.ms(0.5):.1f} "
                f"| {r.view.ms(0.9):.1f} | {r.view.ms(0.99):.1f} | {r.view.ms(1):.1f} "
                f"| {r.health.rps:,.0f} | {r.health.ms(0.99):.1f} | {r.load:.1f} | {codes} |"
            )
    problems = [p for side in views.sides for p in side.problems]
    lines += ["", "Errors (non-200 answers, unexpected bodies, server log errors, reads):", ""]
    lines += [f"    {p}" for p in problems[:40]] if problems else ["none."]
    return lines


def figures(
    args: argparse.Namespace,
    command: str,
    runs: dict[Config, list[RunResult]],
    views: ReplicaResult,
) -> dict[str, Any]:
    """The key figures, for ``var/bench/scale-postgresql.json``."""
    base = _median_rate(runs[BASE])
    every = [r for results in runs.values() for r in results]
    return {
        "benchmark": "scale",
        "database": "PostgreSQL",
        "command": command,
        "quick": args.quick,
        "note": args.note,
        "cores": len(os.sched_getaffinity(0)),
        "ingest": {
            "groups": GROUPS,
            "events": args.events,
            "batch": args.batch,
            "configs": {
                config.name: {
                    "processes": config.processes,
                    "workers": config.workers,
                    "clients": config.clients(args.clients_per_process),
                    "events_per_second": _median_rate(runs[config]),
                    "runs": [r.events_per_second for r in runs[config]],
                    "ratio": _median_rate(runs[config]) / base,
                    "cpu_us_per_event": 1e6 * _median_cpu(runs[config]),
                }
                for config in CONFIGS
            },
            "checks": {
                "what": "every bulk answer: HTTP 200, one result per event, every status "
                "APPLIED or NO_MATCH, the summary equal to the results; server logs free of "
                "errors",
                "calls": sum(len(r.latencies) for r in every),
                "events_sent": sum(r.sent for r in every),
                "events_answered": sum(r.events for r in every),
                "statuses": {s: sum(r.statuses[s] for r in every) for s in STATUSES},
                "problems": sum(len(r.problems) for r in every),
            },
        },
        "user_view": {
            "customers": args.customers,
            "requests": args.requests,
            "workers": args.view_workers,
            "clients": args.view_clients,
            "servers": {
                side.name: {
                    "view_rps": side.median("view_rps"),
                    "p50_ms": side.median("p50_ms"),
                    "p99_ms": side.median("p99_ms"),
                    "health_rps": side.median("health_rps"),
                    "ratio": side.median("ratio"),
                    "reads": side.reads,
                    "view_calls": side.view_calls,
                    "runs": [
                        {
                            "view_rps": r.view.rps,
                            "p50_ms": r.view.ms(0.5),
                            "p99_ms": r.view.ms(0.99),
                            "health_rps": r.health.rps,
                        }
                        for r in side.rounds
                    ],
                }
                for side in views.sides
            },
            "checks": {
                "what": "every user-view answer: HTTP 200, the userId asked for, at least one "
                "group; every /health answer 200; server logs free of errors; each server's "
                "reads counted in /metrics equal to its user views, none on a replica for "
                "the plain server, some on it for the other",
                "answers": sum(
                    r.view.calls + r.health.calls for side in views.sides for r in side.rounds
                ),
                "problems": sum(len(side.problems) for side in views.sides),
            },
        },
    }


# --- Command line ------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MILESTONES_TEST_POSTGRES_URL"),
        help="a PostgreSQL server URL for the ingest runs (each gets a new database on it)",
    )
    parser.add_argument("--events", type=int, help="events per ingest run (default 3200)")
    parser.add_argument("--batch", type=int, help="events per bulk call (default 200)")
    parser.add_argument("--customers-ingest", type=int, default=10_000)
    parser.add_argument(
        "--clients-per-process", type=int, default=2, help="ingest client threads per process"
    )
    parser.add_argument("--repeat", type=int, help="runs of each configuration (default 3)")
    parser.add_argument("--customers", type=int, help="user-view customers (default 30000)")
    parser.add_argument("--view-groups", type=int, default=50)
    parser.add_argument("--requests", type=int, help="user-view GETs (and /health) per round")
    parser.add_argument("--view-workers", type=int, default=2)
    parser.add_argument("--view-clients", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="a small run to check the harness")
    parser.add_argument("--note", help="a line to add to the results (e.g. why the size is cut)")
    parser.add_argument(
        "--results", type=Path, help=f"results file (default {RESULTS}; none with --quick)"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    # Sized for about 8 minutes on the 2-core machine: the standard mix runs near 170
    # events/s on PostgreSQL there (61 side effects per event), and bulk calls of 200 give
    # the 8 clients of 4 processes two calls each (16 calls: no half-empty last wave).
    defaults = {
        "events": 600 if quick else 3_200,
        "batch": 100 if quick else 200,
        "repeat": 1 if quick else 3,
        "customers": 2_000 if quick else 30_000,
        "requests": 300 if quick else 2_000,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not args.postgres_url:
        raise SystemExit("--postgres-url (or MILESTONES_TEST_POSTGRES_URL) is required")
    if args.results is None and not quick:
        args.results = RESULTS
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # On SIGTERM, unwind: stop the servers and the replica, drop the databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.perf_counter()
    command = "python -m benchmarks.scale " + _shown(argv if argv is not None else sys.argv[1:])
    workdir = Path(tempfile.mkdtemp(prefix="milestones-scale-bench-"))
    try:
        runs, version = ingest_scaling(args, workdir)
        views = replica_reads(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text_out = markdown(args, command, runs, version, views, time.perf_counter() - began)
    print(text_out)
    found = figures(args, command, runs, views)
    write_figures(FIGURES, found)
    if args.results is not None:
        write_section(args.results, SECTION, text_out)
        print(f"written to {args.results}")
    problems = found["ingest"]["checks"]["problems"] + found["user_view"]["checks"]["problems"]
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
