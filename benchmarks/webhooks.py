"""Webhooks benchmark (issue 14): what a subscription costs ingestion, and how fast it delivers.

Every part runs a real ``milestones serve`` (which runs a delivery worker in each of its
processes) on a fresh copy of one template database: the org and the standard ingest
mix's 100 active groups (``benchmarks.ingest``), clock pinned by ``MILESTONES_NOW``.

1. **Ingestion next to a dead endpoint.** The standard mix's events in bulk calls of
   500, timed as ``benchmarks.ingest`` times them, in two arms run interleaved (A, B, A,
   B, ...): A with no subscription, B with one subscription (``POST /v3/webhooks``) to
   an endpoint in this process that accepts connections, reads the requests and never
   answers. Each run reports the notifications it made (the feed's ``total`` after 0),
   the deliveries fanned out by the end of the ingestion, the attempts the dead endpoint
   saw, and ``GET /health`` requests/s of the same server just before the events, as the
   machine's reference. Goal: median(B) / median(A) ≥ 0.9.
2. **Delivery throughput.** A server started ``--no-deliver`` takes one subscription to a
   receiver in this process that answers 200 at once (``tests/receiver.py``), then the
   events that make N notifications; stopped, its database is the template of the runs.
   Each run starts a server that delivers on a copy and times the receiver's arrivals,
   first to last: notifications/s. Checked: every notification arrives, each signature
   verifies with the ``standardwebhooks`` package, a customer's arrive in sequence order,
   no webhook-id is in flight twice at once, and every delivery ends DELIVERED.
3. **Lag from commit to delivery.** With the worker running and the same receiver
   subscribed, small bulk calls at a steady moderate rate; a notification's lag is its
   first arrival at the receiver less the moment its event's call was answered (the call
   commits just before it answers, so this leaves out at most the answer's own writing).
   The app clock is pinned (the events are of 2024-09-20), so ``createdAt`` cannot serve.

Sized for about 3 minutes per database on the 2-core machine (``make bench`` runs both):
the standard mix makes about 40 notifications per event (target, milestone and group
achievements), so 2,000 events per ingestion run (3 per arm) already make ~80,000; the
backlog is 100 events' worth (~4,000 notifications, drained 3 times); the lag run sends
2 events/s (~80 notifications/s, about a third of the throughput measured) for 20 s.

Usage: ``python -m benchmarks.webhooks --database sqlite|postgresql [--postgres-url URL]
[--events N] [--repeat N] [--drain-events N] [--lag-seconds S] [--lag-rate EVENTS/S]
[--quick] [--results PATH]``. Results go to ``benchmarks/RESULTS.md`` (section
``webhooks-<database>``; none with ``--quick``) and ``var/bench/webhooks-<database>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import selectors
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from tests.receiver import Received, Receiver

from benchmarks.ingest import (
    BATCH,
    CLIENT,
    RESULTS,
    SEED,
    Body,
    Databases,
    RunResult,
    _shown,
    check,
    encode_batches,
    generate_events,
    group_bodies,
    machine,
    running_server,
    send_all,
    server_errors,
    warm_up,
    write_figures,
    write_section,
)
from benchmarks.lean_http import LeanClient
from benchmarks.one_event import sequential
from milestones.store.database import Database

GROUPS = 100
GOAL_RATIO = 0.9
ARMS = ("none", "dead endpoint")
LAG_BATCH = 1  # events per call of the lag run: a till sending each purchase
EVENT_TYPES = tuple(
    f"{kind}.{change}"
    for kind in ("target", "milestone", "streak", "group")
    for change in ("achieved", "revoked")
)


# --- Small API helpers -----------------------------------------------------------------


def _api(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, auth=CLIENT, timeout=60)


def subscribe(base: str, url: str) -> tuple[int, str]:
    """A subscription to every type, through ``POST /v3/webhooks``: its id and secret."""
    with _api(base) as api:
        answer = api.post("/v3/webhooks", json={"url": url, "description": "benchmark"})
    if answer.status_code != 201:
        raise RuntimeError(f"POST /v3/webhooks: {answer.status_code} {answer.text[:300]}")
    data = answer.json()["data"]
    return int(data["id"]), str(data["secret"])


def notifications_made(base: str, type_: str | None = None) -> int:
    """The org's notifications (of one type, if given), as the feed counts them after 0."""
    params: dict[str, Any] = {"after": 0, "limit": 1, **({"type": type_} if type_ else {})}
    with _api(base) as api:
        answer = api.get("/v3/notifications", params=params)
    answer.raise_for_status()
    return int(answer.json()["pagination"]["total"])


def made_by_type(base: str) -> dict[str, int]:
    """The event-made types' counts (the feed's totals), those with none left out."""
    counts = {type_: notifications_made(base, type_) for type_ in EVENT_TYPES}
    return {type_: count for type_, count in counts.items() if count}


def deliveries(base: str, hook: int, status: str | None = None) -> int:
    """How many deliveries the subscription has (of one status, if given)."""
    params: dict[str, Any] = {"limit": 1, **({"status": status} if status else {})}
    with _api(base) as api:
        answer = api.get(f"/v3/webhooks/{hook}/deliveries", params=params)
    answer.raise_for_status()
    return int(answer.json()["pagination"]["total"])


def health_rps(base: str, requests: int) -> tuple[float, int]:
    """``GET /health`` one after the other on one connection: requests/s, and non-200s."""
    with LeanClient(base, CLIENT) as client:
        health = client.request_bytes("/health")
        for _ in range(50):  # the connection and the route warm
            client.send(health)
        found = sequential(client, [health] * requests)
    return found.rps, sum(1 for code, _ in found.answers if code != 200)


def _wait(what: str, done: Callable[[], bool], timeout: float, poll: float = 0.05) -> float:
    """Poll ``done()`` until true; the seconds it took. Raises on timeout."""
    began = time.monotonic()
    while not done():
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)
    return time.monotonic() - began


def _checkpoint(url: str) -> None:
    """Fold SQLite's WAL into the file, so a copy of the file alone holds everything."""
    database = Database(url)
    if database.is_sqlite:
        with database.engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    database.dispose()


# --- The dead endpoint -----------------------------------------------------------------


class DeadEndpoint:
    """Accepts connections and reads what comes, never answers; on stop, hangs up on all.

    Hanging up at the end lets the server stop at once: its worker would otherwise wait
    out the attempts in flight (the webhook timeout) before exiting.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.requests = 0  # request lines seen: attempts the worker made

    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}/dead"

    def __enter__(self) -> DeadEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                if sock is self._listener:
                    with contextlib.suppress(BlockingIOError):
                        connection, _ = sock.accept()
                        connection.setblocking(False)
                        self._selector.register(connection, selectors.EVENT_READ)
                    continue
                try:
                    data = sock.recv(65_536)
                except OSError:
                    data = b""
                if not data:  # the worker gave up on it (its timeout) and closed it
                    self._selector.unregister(sock)
                    sock.close()
                    continue
                self.requests += data.count(b"POST /dead ")


# --- 1. Ingestion with and without a dead endpoint -------------------------------------


@dataclass
class IngestRun:
    arm: str
    result: RunResult
    notifications: int
    health_rps: float
    fanned_out: int | None = None  # deliveries made by the end of the ingestion
    attempts: int | None = None  # requests the dead endpoint saw during it
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Setup:
    databases: Databases
    template: str
    workers: int
    clients: int
    health_requests: int


def ingest_run(setup: Setup, batches: Sequence[bytes], arm: str, label: str) -> IngestRun:
    """One measured ingestion; with a subscription to a dead endpoint in arm B."""
    url = setup.databases.copy(setup.template)
    log = setup.databases.workdir / f"server-{label}.log"
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(running_server(url, setup.workers, log))
        # Entered after the server, so left first: the server then stops without waiting.
        dead = stack.enter_context(DeadEndpoint()) if arm != ARMS[0] else None
        warm_up(server.base, setup.workers)
        hook = subscribe(server.base, dead.url())[0] if dead else None
        health, bad_health = health_rps(server.base, setup.health_requests)
        load = os.getloadavg()[0]
        cpu_before = server.cpu_seconds()
        wall, answers = send_all(server.base, batches, setup.clients)
        cpu = server.cpu_seconds() - cpu_before
        attempts = dead.requests if dead else None
        fanned_out = deliveries(server.base, hook) if hook is not None else None
        made = notifications_made(server.base)
    result = check(answers, batches, GROUPS, wall)
    result.server_cpu_seconds = cpu
    result.load_before = load
    found = IngestRun(arm, result, made, health, fanned_out, attempts)
    found.problems = result.problems + [f"server log: {line}" for line in server_errors(log)[:20]]
    if bad_health:
        found.problems.append(f"{bad_health} GET /health answers were not 200")
    if made == 0:
        found.problems.append("the events made no notification: nothing was measured")
    return found


# --- 2. Delivery throughput ------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    """A template database holding ``notifications`` not yet delivered to ``hook``."""

    url: str
    hook: int
    secret: str
    notifications: int
    events: int
    types: dict[str, int]


@dataclass
class DrainRun:
    notifications: int  # distinct webhook-ids that arrived
    requests: int  # every request, retries included
    span: float  # first to last arrival, s
    startup: float  # server start to first arrival, s
    cpu_seconds: float  # the server's, while it delivered
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return (self.notifications - 1) / self.span if self.span > 0 else 0.0


def make_backlog(
    setup: Setup, batches: Sequence[bytes], receiver: Receiver, path: str
) -> tuple[Backlog, list[str]]:
    """Subscribe, then ingest with the worker off: the notifications wait, undelivered."""
    url = setup.databases.copy(setup.template)
    log = setup.databases.workdir / "server-backlog.log"
    with running_server(url, setup.workers, log, ["--no-deliver"]) as server:
        warm_up(server.base, setup.workers)
        hook, secret = subscribe(server.base, receiver.url(path))
        wall, answers = send_all(server.base, batches, setup.clients)
        made = notifications_made(server.base)
        types = made_by_type(server.base)
    _checkpoint(url)
    result = check(answers, batches, GROUPS, wall)
    problems = result.problems + [f"server log: {line}" for line in server_errors(log)[:20]]
    return Backlog(url, hook, secret, made, result.events, types), problems


def drain_run(
    setup: Setup, backlog: Backlog, receiver: Receiver, path: str, label: str
) -> DrainRun:
    """A server that delivers, on a copy of the backlog: how fast the receiver gets it all."""
    url = setup.databases.copy(backlog.url)
    log = setup.databases.workdir / f"server-{label}.log"
    mark = len(receiver.at(path))
    began = time.monotonic()

    def arrived() -> list[Received]:
        return receiver.at(path)[mark:]

    def ids() -> set[str]:
        return {item.headers.get("webhook-id", "") for item in arrived()}

    timeout = 60 + backlog.notifications / 100
    with running_server(url, setup.workers, log) as server:
        cpu_before = server.cpu_seconds()
        _wait(
            "every notification at the receiver",
            lambda: len(arrived()) >= backlog.notifications and len(ids()) >= backlog.notifications,
            timeout,
            poll=0.1,
        )
        _wait(
            "every delivery recorded DELIVERED",
            lambda: deliveries(server.base, backlog.hook, "DELIVERED") >= backlog.notifications,
            60,
            poll=0.2,
        )
        settled = deliveries(server.base, backlog.hook)
        cpu = server.cpu_seconds() - cpu_before
    received = arrived()
    firsts = _first_arrivals(received)
    span = max(item.at for item in firsts.values()) - min(item.at for item in firsts.values())
    found = DrainRun(len(firsts), len(received), span, received[0].at - began, cpu)
    found.problems += _delivery_problems(received, backlog.secret)
    found.problems += [f"server log: {line}" for line in server_errors(log)[:20]]
    if len(firsts) != backlog.notifications or settled != backlog.notifications:
        found.problems.append(
            f"{backlog.notifications} notifications, {len(firsts)} arrived, {settled} deliveries"
        )
    return found


def _first_arrivals(received: Sequence[Received]) -> dict[str, Received]:
    firsts: dict[str, Received] = {}
    for item in received:
        firsts.setdefault(item.headers.get("webhook-id", ""), item)
    return firsts


def _delivery_problems(received: Sequence[Received], secret: str) -> list[str]:
    """Every signature (``standardwebhooks``); each customer's first arrivals in sequence order."""
    problems: list[str] = []
    verifier = Webhook(secret)
    for item in received:
        try:
            verifier.verify(item.body, item.headers)
        except WebhookVerificationError as exc:
            problems.append(f"webhook-id {item.headers.get('webhook-id')}: {exc}")
    last: dict[int, int] = {}
    for item in _first_arrivals(received).values():  # in the order they arrived
        note = json.loads(item.body)
        user, sequence = int(note["userId"]), int(note["sequence"])
        if sequence < last.get(user, 0):
            problems.append(f"customer {user}: sequence {sequence} after {last[user]}")
        last[user] = max(sequence, last.get(user, 0))
    return problems[:20]


# --- 3. Lag from commit to delivery ----------------------------------------------------


@dataclass
class LagRun:
    events: int
    seconds: float  # of sending
    notifications: int
    lags: list[float]  # s, one per notification
    call_latencies: list[float]
    firsts: list[float]  # s, the first notification's of each event
    problems: list[str] = field(default_factory=list)

    def ms(self, quantile: float) -> float:
        return _quantile_ms(self.lags, quantile)

    def first_ms(self, quantile: float) -> float:
        return _quantile_ms(self.firsts, quantile)


def _quantile_ms(values: Sequence[float], quantile: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))]


def paced(
    base: str, batches: Sequence[bytes], interval: float
) -> tuple[dict[str, float], list[float], list[str], float]:
    """One call every ``interval`` s: each event's answer time, call latencies, problems."""
    answered: dict[str, float] = {}
    latencies: list[float] = []
    problems: list[str] = []
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=base, auth=CLIENT, timeout=120) as client:
        client.get("/health")
        began = time.monotonic()
        for number, body in enumerate(batches):
            delay = began + number * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            answer = client.post("/v3/events/bulk", content=body, headers=headers)
            at = time.monotonic()
            latencies.append(at - sent)
            if answer.status_code != 200:
                problems.append(f"call {number}: HTTP {answer.status_code} {answer.text[:200]}")
                continue
            for result in answer.json()["data"]["results"]:
                answered[result["eventId"]] = at
        seconds = time.monotonic() - began
    return answered, latencies, problems, seconds


def lag_run(
    setup: Setup, batches: Sequence[bytes], interval: float, receiver: Receiver, path: str
) -> LagRun:
    url = setup.databases.copy(setup.template)
    log = setup.databases.workdir / "server-lag.log"
    mark = len(receiver.at(path))
    with running_server(url, setup.workers, log) as server:
        warm_up(server.base, setup.workers)
        secret = subscribe(server.base, receiver.url(path))[1]
        answered, latencies, problems, seconds = paced(server.base, batches, interval)
        made = notifications_made(server.base)
        _wait(
            "every notification at the receiver",
            lambda: len(_first_arrivals(receiver.at(path)[mark:])) >= made,
            60 + made / 100,
        )
    received = receiver.at(path)[mark:]
    lags = []
    firsts: dict[str, float] = {}
    for item in _first_arrivals(received).values():
        event = json.loads(item.body)["data"].get("eventId")
        if event in answered:
            lags.append(item.at - answered[event])
            firsts[event] = min(firsts.get(event, lags[-1]), lags[-1])
        else:
            problems.append(
                f"notification {item.headers.get('webhook-id')} of unknown event {event}"
            )
    found = LagRun(len(answered), seconds, made, lags, latencies, list(firsts.values()))
    found.problems += problems[:20]
    found.problems += _delivery_problems(received, secret)
    found.problems += [f"server log: {line}" for line in server_errors(log)[:20]]
    return found


# --- Report ----------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    version: str
    ingest: list[IngestRun]
    backlog: Backlog
    drains: list[DrainRun]
    lag: LagRun
    problems: list[str]

    def median(self, arm: str) -> float:
        return statistics.median(r.result.events_per_second for r in self.ingest if r.arm == arm)

    @property
    def ratio(self) -> float:
        return self.median(ARMS[1]) / self.median(ARMS[0])

    @property
    def drain_rate(self) -> float:
        return statistics.median(run.rate for run in self.drains)


def figures(
    outcome: Outcome, command: str, args: argparse.Namespace, setup: Setup
) -> dict[str, Any]:
    lag = outcome.lag
    return {
        "benchmark": "webhooks",
        "database": outcome.kind,
        "command": command,
        "quick": args.quick,
        "workers": setup.workers,
        "clients": setup.clients,
        "batch": BATCH,
        "ingest": {
            "events": args.events,
            "events_per_second_none": outcome.median(ARMS[0]),
            "events_per_second_dead_endpoint": outcome.median(ARMS[1]),
            "ratio": outcome.ratio,
            "goal": GOAL_RATIO,
            "goal_met": outcome.ratio >= GOAL_RATIO,
            "runs": [
                {
                    "arm": r.arm,
                    "events_per_second": r.result.events_per_second,
                    "notifications": r.notifications,
                    "health_rps": r.health_rps,
                    "fanned_out": r.fanned_out,
                    "attempts": r.attempts,
                }
                for r in outcome.ingest
            ],
        },
        "delivery": {
            "notifications": outcome.backlog.notifications,
            "types": outcome.backlog.types,
            "notifications_per_second": outcome.drain_rate,
            "runs": [run.rate for run in outcome.drains],
        },
        "lag": {
            "events": lag.events,
            "events_per_second": lag.events / lag.seconds,
            "notifications": lag.notifications,
            "p50_ms": lag.ms(0.5),
            "p99_ms": lag.ms(0.99),
            "max_ms": lag.ms(1),
            "first_of_event_p50_ms": lag.first_ms(0.5),
            "first_of_event_p99_ms": lag.first_ms(0.99),
        },
        "checks": {
            "what": "every bulk answer: HTTP 200, one result per event, APPLIED or NO_MATCH, "
            "its summary equal to its results; every notification delivered and every "
            "delivery DELIVERED; each signature verified with standardwebhooks; a "
            "customer's notifications in sequence order; the server logs free of errors",
            "problems": len(outcome.problems),
        },
    }


def markdown(
    outcome: Outcome, command: str, args: argparse.Namespace, setup: Setup, elapsed: float
) -> str:
    none, dead = outcome.median(ARMS[0]), outcome.median(ARMS[1])
    ratio = outcome.ratio
    verdict = "**met**" if ratio >= GOAL_RATIO else "**NOT met**"
    lag, backlog = outcome.lag, outcome.backlog
    made = statistics.median(r.notifications for r in outcome.ingest)
    events = outcome.ingest[0].result.sent
    lines = [
        f"## Webhooks on {outcome.kind} (issue 14)",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command}`",
        *machine(),
        f"- database: {outcome.version}",
        f"- data: the standard ingest mix, {GROUPS} active groups; {events:,} events per "
        f"ingestion run ({args.customers:,} customers, seed {SEED}), bulk calls of {BATCH} "
        f"from {setup.clients} client threads; `milestones serve --workers {setup.workers}`, "
        "a delivery worker in each process, default settings (timeout 10 s, 8 attempts "
        "in flight per subscription, poll 0.2 s)",
        f"- whole benchmark took {elapsed / 60:.1f} min",
        *([f"- note: {args.note}"] if args.note else []),
        "",
        "| | median | runs |",
        "|---|---|---|",
        f"| ingestion, no subscription (events/s) | {none:,.0f} | {_runs(outcome, ARMS[0])} |",
        f"| ingestion, one subscription to a dead endpoint (events/s) | {dead:,.0f} | "
        f"{_runs(outcome, ARMS[1])} |",
        f"| ratio dead ÷ none | **{ratio:.2f}** | goal ≥ {GOAL_RATIO}: {verdict} |",
        f"| delivery throughput, backlog of {backlog.notifications:,} (notifications/s) "
        f"| **{outcome.drain_rate:,.0f}** | "
        + ", ".join(f"{run.rate:,.0f}" for run in outcome.drains)
        + " |",
        f"| lag commit → delivery, p50 / p99 (ms) | **{lag.ms(0.5):,.0f} / {lag.ms(0.99):,.0f}** "
        f"| max {lag.ms(1):,.0f}; {len(lag.lags):,} notifications |",
        "",
        f"Goal: ingestion with a dead endpoint ≥ {GOAL_RATIO} of the rate without: "
        f"{verdict} ({ratio:.2f}). The events made a median of {made:,.0f} notifications "
        f"per run ({made / events:.1f} per event): each run's worker had that much to fan "
        "out next to the ingestion.",
        "",
        "Ingestion runs in the order run (arm B's subscription was made before the events; "
        "fanned out = its deliveries by the last answer; attempts = requests the dead "
        "endpoint received; /health = sequential requests/s of the same server just before "
        "the events; load = 1-min load average then). Runs of the same events differ a "
        "little in notifications and side effects when the order in which concurrent calls "
        "commit differs (a customer's events then meet its progress in another order):",
        "",
        "| arm | events/s | wall s | server CPU µs/event | side effects/event | notifications "
        "| fanned out | attempts | /health req/s | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in outcome.ingest:
        lines.append(
            f"| {r.arm} | {r.result.events_per_second:,.0f} | {r.result.wall_seconds:.1f} "
            f"| {1e6 * r.result.cpu_per_event:,.0f} "
            f"| {r.result.side_effects / max(r.result.events, 1):.1f} | {r.notifications:,} "
            f"| {_maybe(r.fanned_out)} | {_maybe(r.attempts)} | {r.health_rps:,.0f} "
            f"| {r.result.load_before:.1f} |"
        )
    lines += [
        "",
        f"Delivery: {backlog.events:,} events made {backlog.notifications:,} notifications "
        "while the worker was off (`--no-deliver`), one subscription to a receiver in the "
        "benchmark's process answering 200 at once; each run a server that delivers on a "
        "fresh copy, timed from the first arrival to the last (server CPU: its processes', "
        "from its start to every delivery recorded, per notification). The backlog's types: "
        + ", ".join(f"{type_} {count:,}" for type_, count in backlog.types.items())
        + ".",
        "",
        "| run | notifications/s | first → last s | server start → first arrival s | requests "
        "| server CPU µs/notification |",
        "|---|---|---|---|---|---|",
    ]
    for number, run in enumerate(outcome.drains, 1):
        lines.append(
            f"| {number} | {run.rate:,.0f} | {run.span:.1f} | {run.startup:.1f} "
            f"| {run.requests:,} | {1e6 * run.cpu_seconds / max(run.notifications, 1):,.0f} |"
        )
    lag_rate = lag.events / lag.seconds
    lines += [
        "",
        f"Lag: {lag.events:,} events in bulk calls of {LAG_BATCH} at {lag_rate:,.1f} events/s "
        f"for {lag.seconds:.0f} s (calls answered in p50 "
        f"{1000 * statistics.median(lag.call_latencies):,.0f} ms), {lag.notifications:,} "
        f"notifications ({lag.notifications / lag.seconds:,.0f}/s); lag = first arrival at "
        "the receiver minus the answer of the event's call. One event's notifications are one "
        "customer's, sent one after the other (order per customer), so the later ones of an "
        "event wait for the earlier: p99 is that queue. The first notification of each event "
        f"arrived in p50 {lag.first_ms(0.5):,.0f} ms, p99 {lag.first_ms(0.99):,.0f} ms.",
        "",
        "Checks (answers, every notification delivered once at least and DELIVERED, "
        "signatures with `standardwebhooks`, order per customer, server logs):",
        "",
    ]
    lines += [f"    {p}" for p in outcome.problems[:40]] if outcome.problems else ["none."]
    return "\n".join(lines) + "\n"


def _runs(outcome: Outcome, arm: str) -> str:
    return ", ".join(f"{r.result.events_per_second:,.0f}" for r in outcome.ingest if r.arm == arm)


def _maybe(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


# --- Command line ----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.webhooks", description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MILESTONES_TEST_POSTGRES_URL"),
        help="a PostgreSQL server URL; each run gets a new database on it",
    )
    parser.add_argument("--events", type=int, help="events per ingestion run")
    parser.add_argument("--customers", type=int, help="customers the events are spread over")
    parser.add_argument("--repeat", type=int, help="ingestion runs per arm (interleaved)")
    parser.add_argument("--drain-events", type=int, help="events making the delivery backlog")
    parser.add_argument("--drain-repeat", type=int, help="delivery throughput runs")
    parser.add_argument("--lag-seconds", type=float, help="how long the lag run sends")
    parser.add_argument("--lag-rate", type=float, help="events/s of the lag run")
    parser.add_argument("--health-requests", type=int, default=1_000)
    parser.add_argument("--workers", type=int, help="server workers (default: 1 SQLite, 2 PG)")
    parser.add_argument("--clients", type=int, help="client threads (default: 2 SQLite, 4 PG)")
    parser.add_argument("--quick", action="store_true", help="a small run to check the harness")
    parser.add_argument("--note", help="a line to add to the results")
    parser.add_argument(
        "--results", type=Path, help=f"results file (default {RESULTS}; none with --quick)"
    )
    args = parser.parse_args(argv)
    quick, sqlite = args.quick, args.database == "sqlite"
    defaults = {
        "events": 500 if quick else 2_000,
        "customers": 500 if quick else 2_000,
        "repeat": 1 if quick else 3,
        "drain_events": 100,
        "drain_repeat": 1 if quick else 3,
        "lag_seconds": 5 if quick else 20,
        "lag_rate": 2,
        "workers": 1 if sqlite else 2,
        "clients": 2 if sqlite else 4,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.results is None and not quick:
        args.results = RESULTS
    return args


def run(args: argparse.Namespace, setup: Setup, rng: random.Random) -> Outcome:
    problems: list[str] = []
    batches = encode_batches(generate_events(args.events, args.customers, rng))
    ingest: list[IngestRun] = []
    for round_ in range(1, args.repeat + 1):
        for arm in ARMS:  # interleaved, so drift on the shared machine hits both alike
            found = ingest_run(setup, batches, arm, f"ingest-{round_}-{len(ingest)}")
            ingest.append(found)
            problems += found.problems
            print(
                f"ingest {round_}/{args.repeat}, {arm}: "
                f"{found.result.events_per_second:,.0f} events/s, {found.notifications:,} "
                f"notifications, fanned out {_maybe(found.fanned_out)}, attempts "
                f"{_maybe(found.attempts)}, /health {found.health_rps:,.0f}/s, "
                f"{len(found.problems)} problems",
                flush=True,
            )
    with Receiver() as receiver:
        backlog_events = generate_events(args.drain_events, args.customers, rng)
        backlog, made_problems = make_backlog(
            setup, encode_batches(backlog_events), receiver, "/drain"
        )
        problems += made_problems
        print(
            f"backlog: {backlog.notifications:,} notifications of {backlog.events:,} events",
            flush=True,
        )
        drains = []
        for number in range(1, args.drain_repeat + 1):
            drained = drain_run(setup, backlog, receiver, "/drain", f"drain-{number}")
            drains.append(drained)
            problems += drained.problems
            print(
                f"delivery {number}/{args.drain_repeat}: {drained.rate:,.0f} notifications/s "
                f"({drained.notifications:,} in {drained.span:.1f} s), "
                f"{len(drained.problems)} problems",
                flush=True,
            )
        count = max(1, round(args.lag_seconds * args.lag_rate / LAG_BATCH))
        lag_events = generate_events(count * LAG_BATCH, args.customers, rng)
        lag = lag_run(
            setup,
            encode_batches(lag_events, LAG_BATCH),
            LAG_BATCH / args.lag_rate,
            receiver,
            "/lag",
        )
        problems += lag.problems
        print(
            f"lag: {lag.ms(0.5):,.0f} ms p50, {lag.ms(0.99):,.0f} ms p99 over "
            f"{len(lag.lags):,} notifications",
            flush=True,
        )
    kind = "SQLite" if args.database == "sqlite" else "PostgreSQL"
    return Outcome(kind, setup.databases.server_version(), ingest, backlog, drains, lag, problems)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.perf_counter()
    command = "python -m benchmarks.webhooks " + _shown(argv if argv is not None else sys.argv[1:])
    rng = random.Random(SEED)
    bodies: list[Body] = group_bodies(GROUPS, 0, rng, mix="standard")
    workdir = Path(tempfile.mkdtemp(prefix="milestones-bench-webhooks-"))
    databases = Databases(args.database, args.postgres_url, workdir)
    try:
        print(f"populating a template database with {GROUPS} groups", flush=True)
        setup = Setup(
            databases,
            databases.template("hooks", bodies),
            args.workers,
            args.clients,
            args.health_requests,
        )
        outcome = run(args, setup, rng)
    finally:
        databases.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    text_out = markdown(outcome, command, args, setup, time.perf_counter() - began)
    print(text_out)
    section = f"webhooks-{args.database}"
    write_figures(section, figures(outcome, command, args, setup))
    if args.results is not None:
        write_section(args.results, section, text_out)
        print(f"written to {args.results}")
    return 1 if outcome.problems else 0


if __name__ == "__main__":
    sys.exit(main())
