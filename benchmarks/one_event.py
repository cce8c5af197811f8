"""One-event calls: ``POST /v3/events`` from one sequential client, next to ``GET /health``.

Issue 13 asks what one event costs a server when nothing can be batched: a till sending
each purchase as it happens. What it does:

1. creates one org and ONE active group with ONE target (the first standard recipe:
   FIXED_CALENDAR_WINDOW, MONTHLY, TRANSACTION SALES, a 50 % milestone trigger) through
   the API, on a fresh SQLite database;
2. starts ``milestones serve --workers 1`` with the clock pinned (``MILESTONES_NOW``) and
   warms it up;
3. from ONE client on one keep-alive connection (``benchmarks.lean_http``, whose own cost
   per call is small next to the server's), sends, in rounds, N one-event calls (each a
   TransactionAdd of a random known customer, so each moves that one target) and then N
   ``GET /health``, one call after the other, every request encoded before the clock
   starts; requests per second of each, and their ratio, per round; medians reported;
4. checks every answer after the clock stopped: HTTP 200; for an event, status APPLIED,
   exactly one side effect, on the group's target, of the event's bill amount, and the
   customer's running total (the sum of that customer's bills so far) as the value after
   the event; for ``/health``, HTTP 200.

Usage: ``python -m benchmarks.one_event [--requests N] [--rounds N] [--customers N]
[--quick] [--results PATH]``. Results go to ``benchmarks/RESULTS.md`` (section
``one-event-sqlite``; none with ``--quick``) and ``var/bench/one-event-sqlite.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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

from benchmarks.ingest import (
    CLIENT,
    FIRST_EVENT,
    LAST_EVENT,
    RESULTS,
    Body,
    Databases,
    _group,
    _shown,
    _transaction,
    machine,
    running_server,
    server_errors,
    warm_up,
    write_figures,
    write_section,
)
from benchmarks.lean_http import LeanClient, LeanHttpError

SEED = 20240922
SECTION = "one-event-sqlite"
GROUP_NAME = "one-target"
RATIO_MUST = 0.25
RATIO_GOAL = 0.5
FIRST_USER = 100_000_000


def group_body() -> Body:
    """One active group with one target: the first standard recipe (monthly SALES)."""
    body = _group(GROUP_NAME, 0, random.Random(SEED))
    assert len(body["targets"]) == 1
    return body


def generate(count: int, customers: int, rng: random.Random) -> list[Body]:
    """``count`` TransactionAdd events in eventTime order, each of a random known customer."""
    span = (LAST_EVENT - FIRST_EVENT).total_seconds()
    times = sorted(
        FIRST_EVENT + timedelta(seconds=round(rng.uniform(0, span), 3)) for _ in range(count)
    )
    events = []
    for n, at in enumerate(times):
        event_id = f"O{n:07d}"
        events.append(
            {
                "eventId": event_id,
                "eventName": "TransactionAdd",
                "userId": FIRST_USER + rng.randint(1, customers),
                "eventTime": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "storeId": rng.randint(1, 40),
                "transaction": {"billNumber": event_id, **_transaction(rng)},
            }
        )
    return events


# --- Measuring ---------------------------------------------------------------------------


@dataclass
class Series:
    """One round's calls to one path, one after the other."""

    calls: int
    wall: float
    latencies: list[float]
    answers: list[tuple[int, bytes]]

    @property
    def rps(self) -> float:
        return self.calls / self.wall

    def ms(self, quantile: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))]


@dataclass
class Round:
    events: Series
    health: Series
    load: float

    @property
    def ratio(self) -> float:
        return self.events.rps / self.health.rps


def sequential(client: LeanClient, requests: Sequence[bytes]) -> Series:
    """Send each prepared request after the previous answer; wall from first send to last."""
    answers: list[tuple[int, bytes]] = []
    latencies: list[float] = []
    began = time.perf_counter()
    for request in requests:
        sent = time.perf_counter()
        try:
            answers.append(client.send(request))
        except LeanHttpError as exc:
            answers.append((0, repr(exc).encode()))
        latencies.append(time.perf_counter() - sent)
    return Series(len(requests), time.perf_counter() - began, latencies, answers)


class Checker:
    """Every answer against what it must be, customers' running totals included."""

    def __init__(self) -> None:
        self.totals: dict[int, Decimal] = {}
        self.problems: list[str] = []
        self.checked = 0
        self.statuses: Counter[str] = Counter()

    def event(self, event: Body, code: int, body: bytes) -> None:
        self.checked += 1
        name = event["eventId"]
        if code != 200:
            self._problem(f"{name}: HTTP {code}: {body[:300]!r}")
            return
        data = json.loads(body)["data"]
        self.statuses[data["status"]] += 1
        user = event["userId"]
        bill = Decimal(str(event["transaction"]["billAmount"]))
        before = self.totals.get(user, Decimal(0))
        self.totals[user] = before + bill
        effects = data["sideEffects"]
        if data["status"] != "APPLIED" or len(effects) != 1:
            self._problem(f"{name}: {data['status']}, {len(effects)} side effects: {body[:300]!r}")
            return
        effect = effects[0]
        found = (
            effect["targetGroupName"],
            effect["userId"],
            Decimal(str(effect["currentEventTargetValue"])),
            Decimal(str(effect["targetAchievedValueBeforeEvent"])),
            Decimal(str(effect["targetAchievedValueAfterEvent"])),
        )
        wanted = (GROUP_NAME, user, bill, before, before + bill)
        if found != wanted:
            self._problem(f"{name}: side effect {found}, expected {wanted}")

    def health(self, code: int, body: bytes) -> None:
        self.checked += 1
        if code != 200:
            self._problem(f"GET /health: HTTP {code}: {body[:200]!r}")

    def _problem(self, line: str) -> None:
        self.problems.append(line)


def measure(
    url: str, workdir: Path, args: argparse.Namespace, rng: random.Random
) -> tuple[list[Round], Checker, list[str]]:
    events = generate(args.requests * args.rounds, args.customers, rng)
    log = workdir / "server.log"
    rounds: list[Round] = []
    checker = Checker()
    with running_server(url, 1, log) as server:
        warm_up(server.base, 1)
        with LeanClient(server.base, CLIENT) as client:
            health = client.request_bytes("/health")
            for _ in range(200):  # the connection, the route and the health path warm
                client.send(health)
            for number in range(args.rounds):
                mine = events[number * args.requests : (number + 1) * args.requests]
                posts = [client.post_bytes("/v3/events", json.dumps(e).encode()) for e in mine]
                load = os.getloadavg()[0]
                sent = sequential(client, posts)
                healthy = sequential(client, [health] * args.requests)
                found = Round(sent, healthy, load)
                rounds.append(found)
                for event, (code, body) in zip(mine, sent.answers, strict=True):
                    checker.event(event, code, body)
                for code, body in healthy.answers:
                    checker.health(code, body)
                print(
                    f"round {number + 1}/{args.rounds}: events {sent.rps:,.0f}/s (p50 "
                    f"{sent.ms(0.5):.2f} ms, p99 {sent.ms(0.99):.2f} ms), health "
                    f"{healthy.rps:,.0f}/s, ratio {found.ratio:.2f}; "
                    f"{len(checker.problems)} problems so far",
                    flush=True,
                )
    log_errors = [f"server log: {line}" for line in server_errors(log)[:20]]
    return rounds, checker, log_errors


# --- Report ------------------------------------------------------------------------------


def figures(
    command: str, args: argparse.Namespace, rounds: list[Round], checker: Checker, problems: int
) -> dict[str, Any]:
    return {
        "benchmark": "one_event",
        "database": "SQLite",
        "command": command,
        "quick": args.quick,
        "events_rps": statistics.median(r.events.rps for r in rounds),
        "health_rps": statistics.median(r.health.rps for r in rounds),
        "ratio": statistics.median(r.ratio for r in rounds),
        "event_p50_ms": statistics.median(r.events.ms(0.5) for r in rounds),
        "event_p99_ms": statistics.median(r.events.ms(0.99) for r in rounds),
        "runs": [
            {"events_rps": r.events.rps, "health_rps": r.health.rps, "ratio": r.ratio}
            for r in rounds
        ],
        "checks": {
            "what": "every one-event answer: HTTP 200, APPLIED, exactly one side effect, on "
            "the group's target, its amount the bill and its value after the event the "
            "customer's running total; every /health answer: HTTP 200; the server log free "
            "of errors",
            "answers": checker.checked,
            "statuses": dict(checker.statuses),
            "problems": problems,
        },
    }


def markdown(
    command: str,
    args: argparse.Namespace,
    version: str,
    rounds: list[Round],
    problems: list[str],
    elapsed: float,
) -> str:
    events = statistics.median(r.events.rps for r in rounds)
    health = statistics.median(r.health.rps for r in rounds)
    ratio = statistics.median(r.ratio for r in rounds)
    verdict = "met" if ratio >= RATIO_MUST else "**NOT met**"
    lines = [
        "## One-event calls on SQLite (issue 13)",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command}`",
        *machine(),
        f"- database: {version}",
        "- data: one org, one active group with one target (FIXED_CALENDAR_WINDOW "
        "MONTHLY, TRANSACTION SALES, a 50 % trigger), created through the API; clock "
        "pinned to 2024-09-20",
        f"- server: `milestones serve --workers 1`; ONE client on one keep-alive "
        f"connection (`benchmarks/lean_http.py`), each call sent after the previous answer; "
        f"{args.rounds} rounds of {args.requests:,} `POST /v3/events` (a TransactionAdd of "
        f"1-3 lines of one of {args.customers:,} customers, each moving the one target) "
        f"then {args.requests:,} `GET /health`",
        f"- whole benchmark took {elapsed / 60:.1f} min",
        "",
        "| | median | must reach | goal | |",
        "|---|---|---|---|---|",
        f"| one-event calls/s | **{events:,.0f}** | | | |",
        f"| /health requests/s | {health:,.0f} | | | |",
        f"| one-event ÷ /health requests/s | **{ratio:.2f}** | ≥ {RATIO_MUST} "
        f"| {RATIO_GOAL} | {verdict} |",
        "",
        "Every round (latency = one call seen by the client; load = 1-min load average just "
        "before it, the machine is shared):",
        "",
        "| round | events/s | p50 ms | p99 ms | max ms | health/s | health p99 ms | ratio | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for number, r in enumerate(rounds, 1):
        lines.append(
            f"| {number} | {r.events.rps:,.0f} | {r.events.ms(0.5):.2f} "
            f"| {r.events.ms(0.99):.2f} | {r.events.ms(1):.2f} | {r.health.rps:,.0f} "
            f"| {r.health.ms(0.99):.2f} | {r.ratio:.2f} | {r.load:.1f} |"
        )
    lines += [
        "",
        "Checked, every answer: HTTP 200; an event APPLIED with exactly one side effect on "
        "the group's target, its amount the bill, its value after the event the customer's "
        "running total. Errors (and server log errors):",
        "",
    ]
    lines += [f"    {p}" for p in problems[:40]] if problems else ["none."]
    return "\n".join(lines) + "\n"


# --- Command line ------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.one_event", description=__doc__)
    parser.add_argument("--requests", type=int, help="one-event calls (and /health) per round")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="a small run to check the harness")
    parser.add_argument(
        "--results", type=Path, help=f"results file (default {RESULTS}; none with --quick)"
    )
    args = parser.parse_args(argv)
    defaults = {"requests": 300 if args.quick else 2_000, "rounds": 2 if args.quick else 3}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.results is None and not args.quick:
        args.results = RESULTS
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.perf_counter()
    command = "python -m benchmarks.one_event " + _shown(argv if argv is not None else sys.argv[1:])
    workdir = Path(tempfile.mkdtemp(prefix="milestones-one-event-"))
    databases = Databases("sqlite", None, workdir)
    try:
        url = databases.copy(databases.template("one", [group_body()]))
        rounds, checker, log_errors = measure(url, workdir, args, random.Random(SEED))
        version = databases.server_version()
    finally:
        databases.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    problems = checker.problems + log_errors
    text_out = markdown(command, args, version, rounds, problems, time.perf_counter() - began)
    print(text_out)
    write_figures(SECTION, figures(command, args, rounds, checker, len(problems)))
    if args.results is not None:
        write_section(args.results, SECTION, text_out)
        print(f"written to {args.results}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
