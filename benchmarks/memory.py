"""Memory benchmark: how much a server process grows for one request (SPEC §2).

"Memory per request is bounded: no request under the body limit, and no answer, may
make a server process grow by more than 256 MB, even 8 at once." Each scenario runs on
a fresh ``milestones serve --workers 1`` (one process, so its /proc entry is the process
doing the work) over a SQLite copy of a template database, and measures:

1. the server's resident memory after a warm-up call (``VmRSS``, the baseline), with
   the peak counter reset there (``5`` written to ``/proc/<pid>/clear_refs``; where
   that is refused, a thread samples ``VmRSS`` every 5 ms instead);
2. the scenario's calls, over real HTTP from client threads, each answer read as a
   stream and checked (status, ``Content-Length``, the summary at its end) without
   keeping it in the client;
3. the peak (``VmHWM``) afterwards: growth = peak - baseline.

Scenarios: ``answer`` (a bulk call of ``--events`` purchases in an org whose events
each reach ``--targets`` user targets, ``sideEffects=full``: the 452 MB answer of issue
12), ``empty`` (a ~15 MB body of ``--empty-objects`` empty objects ``{"events": [{},
...]}``), ``empty-x8`` (8 of those at once), ``answer-x8`` (8 bulk calls of
``--events-x8`` events at once). ``tests/integration/test_memory_bound.py`` runs the
same harness at a size CI can afford.

Usage: ``python -m benchmarks.memory [--targets 650] [--events 1000] [--repeat 1]
[--scenarios answer,empty,empty-x8,answer-x8]``; results go to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.ingest import (
    CLIENT,
    FIRST_EVENT,
    LAST_EVENT,
    RESULTS,
    Databases,
    machine,
    running_server,
    write_section,
)

BOUND_MB = 256
TARGETS_PER_GROUP = 50  # the most a group takes
CONCURRENT = 8
Body = dict[str, Any]
_KB = 1024


# --- The org: groups whose targets every purchase reaches ------------------------------


def group_bodies(targets: int) -> list[Body]:
    """Monthly SALES groups of 50 targets each (the last one smaller): ``targets`` in all."""
    bodies = []
    for number, start in enumerate(range(0, targets, TARGETS_PER_GROUP)):
        count = min(TARGETS_PER_GROUP, targets - start)
        bodies.append(
            {
                "name": f"wide-{number:03d}",
                "trackingType": "DEFAULT",
                "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
                "frequencyType": "MONTHLY",
                "frequency": 1,
                "totalPeriods": 3,
                "recurringCycles": -1,
                "targetCycleStartDate": "2024-09-01T00:00:00.000",
                "targetCycleEndDate": "2024-11-30T23:59:59.000",
                "targets": [
                    {
                        "name": f"spend-{n:02d}",
                        "targetEntity": "TRANSACTION",
                        "targetType": "SALES",
                        "defaultValue": 1000 + 250 * n,
                        "targetMilestoneTriggers": [
                            {
                                "triggerName": "halfway",
                                "triggerValueType": "PERCENTAGE",
                                "triggerValue": 50,
                            }
                        ],
                    }
                    for n in range(count)
                ],
            }
        )
    return bodies


def purchases(count: int, customers: int, prefix: str = "M") -> bytes:
    """A bulk body of ``count`` purchases spread over ``customers`` customers."""
    span = (LAST_EVENT - FIRST_EVENT) / max(count, 1)
    events = [
        {
            "eventId": f"{prefix}{n:06d}",
            "eventName": "TransactionAdd",
            "userId": 200_000_000 + n % customers,
            "eventTime": _utc(FIRST_EVENT + n * span),
            "transaction": {"billNumber": f"{prefix}{n:06d}", "billAmount": 120 + n % 400},
        }
        for n in range(count)
    ]
    return json.dumps({"events": events}).encode()


def empty_objects(count: int) -> bytes:
    """``{"events":[{},{},...]}``: the most JSON values a body of its size can hold."""
    return b'{"events":[' + b",".join([b"{}"] * count) + b"]}"


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- Reading a process's memory ---------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {key}")


class PeakMemory:
    """The peak resident memory of a process from :meth:`start`, in kB."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline_kb = 0
        self.method = ""
        self._sampled = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.baseline_kb = _status_kb(self.pid, "VmRSS")
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # resets VmHWM to VmRSS
            self.method = "VmHWM after clear_refs"
        except OSError:
            self.method = "VmRSS sampled every 5 ms"
            self._sampled = self.baseline_kb
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            with contextlib.suppress(OSError, RuntimeError):
                self._sampled = max(self._sampled, _status_kb(self.pid, "VmRSS"))

    def peak_kb(self) -> int:
        if self._thread is None:
            return _status_kb(self.pid, "VmHWM")
        self._stop.set()
        self._thread.join()
        return self._sampled

    def rss_kb(self) -> int:
        return _status_kb(self.pid, "VmRSS")


# --- Calls ------------------------------------------------------------------------------


@dataclass
class Call:
    """One call as the client saw it: status, bytes received, and the answer's last bytes."""

    status: int
    received: int
    declared: int | None
    results: int
    tail: bytes
    seconds: float


def post_streamed(base: str, path: str, body: bytes, timeout: float = 600) -> Call:
    """POST ``body`` and read the answer as a stream, counting results, keeping only its end."""
    began = time.perf_counter()
    received = results = 0
    tail = b""
    marker = b'{"eventId":'
    headers = {"content-type": "application/json"}
    with (
        httpx.Client(base_url=base, auth=CLIENT, timeout=timeout) as client,
        client.stream("POST", path, content=body, headers=headers) as response,
    ):
        for block in response.iter_raw(1024 * 1024):
            window = tail[-len(marker) + 1 :] + block  # a marker may straddle two blocks
            results += window.count(marker)
            received += len(block)
            tail = (tail + block)[-4096:]
        declared = response.headers.get("content-length")
        return Call(
            response.status_code,
            received,
            int(declared) if declared is not None else None,
            results,
            tail,
            time.perf_counter() - began,
        )


def at_once(calls: Sequence[Callable[[], Call]]) -> list[Call]:
    """Run the calls from one thread each, released together."""
    found: list[Call | BaseException] = [RuntimeError("not run")] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        try:
            found[index] = calls[index]()
        except BaseException as error:  # reported with the results
            found[index] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for item in found:
        if isinstance(item, BaseException):
            raise item
    return [item for item in found if isinstance(item, Call)]


# --- Scenarios --------------------------------------------------------------------------


@dataclass
class Measurement:
    """One scenario on one fresh server."""

    scenario: str
    baseline_mb: float
    peak_mb: float
    after_mb: float
    seconds: float
    calls: list[Call]
    method: str
    problems: list[str] = field(default_factory=list)

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.baseline_mb

    @property
    def answer_mb(self) -> float:
        return max(call.received for call in self.calls) / _KB / _KB


@dataclass(frozen=True)
class Scenario:
    """What a scenario sends, and what each answer must be."""

    name: str
    bodies: list[bytes]
    path: str
    expect_status: tuple[int, ...]
    expect_results: int | None = None  # per call, for 200 answers


def scenarios(args: argparse.Namespace) -> dict[str, Scenario]:
    bulk = "/v3/events/bulk?sideEffects=full"
    empty = empty_objects(args.empty_objects)
    few = args.events_x8
    return {
        "answer": Scenario(
            "answer", [purchases(args.events, args.customers)], bulk, (200,), args.events
        ),
        "empty": Scenario("empty", [empty], "/v3/events/bulk", (400, 413)),
        "empty-x8": Scenario("empty-x8", [empty] * CONCURRENT, "/v3/events/bulk", (400, 413)),
        "answer-x8": Scenario(
            "answer-x8",
            [purchases(few, args.customers, prefix=f"P{n}-") for n in range(CONCURRENT)],
            bulk,
            (200,),
            few,
        ),
    }


def warm_up(base: str) -> None:
    """A small bulk call, so the catalogue, the imports and the pools are loaded."""
    call = post_streamed(base, "/v3/events/bulk", purchases(2, 2, prefix="warm-"))
    if call.status != 200:
        raise RuntimeError(f"warm-up answered {call.status}: {call.tail[-500:]!r}")


@dataclass(frozen=True)
class Template:
    """The populated template database, where its copies come from, and a work folder."""

    databases: Databases
    url: str
    workdir: Path


def measure(template: Template, scenario: Scenario, label: str) -> Measurement:
    """The scenario on a fresh server over a fresh copy of the template database."""
    url = template.databases.copy(template.url)
    log = template.workdir / f"{label}.log"
    with running_server(url, 1, log) as server:
        warm_up(server.base)
        peak = PeakMemory(server.pid)  # one worker: it serves in this very process
        peak.start()
        began = time.perf_counter()
        calls = at_once(
            [
                (lambda body=body: post_streamed(server.base, scenario.path, body))
                for body in scenario.bodies
            ]
        )
        seconds = time.perf_counter() - began
        peak_kb = peak.peak_kb()
        after_kb = peak.rss_kb()
    found = Measurement(
        scenario.name,
        peak.baseline_kb / _KB,
        peak_kb / _KB,
        after_kb / _KB,
        seconds,
        calls,
        peak.method,
    )
    found.problems = check(scenario, calls)
    return found


_SUMMARY = re.compile(rb'"summary":\{"total":(\d+)')


def check(scenario: Scenario, calls: Sequence[Call]) -> list[str]:
    """Every answer complete, with the expected status and, for 200, one result per event."""
    problems = []
    for number, call in enumerate(calls):
        where = f"{scenario.name} call {number}"
        if call.status not in scenario.expect_status:
            problems.append(f"{where}: HTTP {call.status}: {call.tail[-300:]!r}")
            continue
        if call.declared is not None and call.declared != call.received:
            problems.append(f"{where}: {call.received} bytes of {call.declared} declared")
        if call.status == 200 and scenario.expect_results is not None:
            total = _SUMMARY.search(call.tail)
            if call.results != scenario.expect_results or total is None:
                problems.append(f"{where}: {call.results} results, summary {call.tail[-200:]!r}")
            elif int(total.group(1)) != scenario.expect_results:
                problems.append(f"{where}: summary total {total.group(1)}")
    return problems


@contextlib.contextmanager
def template_database(
    targets: int, kind: str = "sqlite", postgres_url: str | None = None
) -> Iterator[Template]:
    """A migrated database with the org and its groups; its copies are dropped at the end."""
    workdir = Path(tempfile.mkdtemp(prefix="milestones-memory-"))
    databases = Databases(kind, postgres_url, workdir)
    try:
        yield Template(databases, databases.template("wide", group_bodies(targets)), workdir)
    finally:
        databases.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)


# --- Report -----------------------------------------------------------------------------


def _row(name: str, runs: Sequence[Measurement]) -> str:
    growth = statistics.median(run.growth_mb for run in runs)
    verdict = "within" if max(run.growth_mb for run in runs) <= BOUND_MB else "**OVER**"
    first = runs[0]
    statuses = ", ".join(sorted({str(call.status) for run in runs for call in run.calls}))
    return (
        f"| {name} | {len(first.calls)} | {statuses} | {first.answer_mb:,.1f} | "
        f"{statistics.median(run.baseline_mb for run in runs):,.0f} | "
        f"{statistics.median(run.peak_mb for run in runs):,.0f} | **{growth:,.0f}** | "
        f"{', '.join(f'{run.growth_mb:,.0f}' for run in runs)} | "
        f"{statistics.median(run.seconds for run in runs):,.1f} | {verdict} |"
    )


def report(args: argparse.Namespace, runs: dict[str, list[Measurement]], elapsed: float) -> str:
    method = next((run.method for found in runs.values() for run in found), "")
    lines = [
        f"## Memory per request on {args.kind_name} (issue 12)"
        + (f" ({args.section})" if args.section else ""),
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `python -m benchmarks.memory {_shown(args.argv)}`".rstrip(),
        *machine(),
        f"- org: {args.targets} targets (groups of {TARGETS_PER_GROUP} monthly SALES targets "
        "with a halfway trigger), each purchase reaches all of them; "
        f"{args.customers} customers",
        f"- `answer`: one bulk call of {args.events:,} purchases, `sideEffects=full`; "
        f"`answer-x8`: {CONCURRENT} bulk calls of {args.events_x8:,} purchases at once; "
        f"`empty`: a body of {args.empty_objects:,} empty objects "
        f"({len(empty_objects(args.empty_objects)) / 1e6:,.1f} MB); `empty-x8`: "
        f"{CONCURRENT} of those at once",
        f"- server: `milestones serve --workers 1` on {args.kind_name}, fresh per run (and a "
        "fresh copy of the database); growth = peak "
        f"resident memory ({method}) minus resident memory after a warm-up call",
        f"- {args.repeat} run(s) per scenario; whole benchmark took {elapsed / 60:.1f} min",
        *([f"- note: {args.note}"] if args.note else []),
        "",
        "| scenario | calls | HTTP | answer MB | baseline MB | peak MB | median growth MB "
        "| runs (growth MB) | s | ≤ 256 MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(_row(name, found) for name, found in runs.items()),
    ]
    problems = [p for found in runs.values() for run in found for p in run.problems]
    lines += ["", "Problems (wrong status, short answers, wrong counts):"]
    lines += ["", *(f"    {p}" for p in problems[:20])] if problems else ["none."]
    return "\n".join(lines) + "\n"


def _shown(argv: Sequence[str]) -> str:
    """The command line as run, without its note."""
    argv = list(argv)
    if "--note" in argv:
        at = argv.index("--note")
        del argv[at : at + 2]
    return " ".join(argv)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MILESTONES_TEST_POSTGRES_URL"),
        help="a PostgreSQL server URL; each run gets a new database on it",
    )
    parser.add_argument("--targets", type=int, default=650)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--events-x8", type=int, default=50)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--empty-objects", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--scenarios", default="answer,empty,empty-x8,answer-x8")
    parser.add_argument("--section", help="results section name (default memory)")
    parser.add_argument("--note", help="a line to add to the results (e.g. what code ran)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-results", action="store_true", help="print only")
    args = parser.parse_args(argv)
    args.argv = list(argv)
    args.kind_name = "SQLite" if args.database == "sqlite" else "PostgreSQL"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    began = time.perf_counter()
    chosen = scenarios(args)
    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    runs: dict[str, list[Measurement]] = {name: [] for name in names}
    with template_database(args.targets, args.database, args.postgres_url) as template:
        for round_ in range(1, args.repeat + 1):
            for name in names:
                found = measure(template, chosen[name], f"{name}-{round_}")
                runs[name].append(found)
                print(
                    f"{name} run {round_}: growth {found.growth_mb:,.0f} MB "
                    f"(baseline {found.baseline_mb:,.0f}, peak {found.peak_mb:,.0f}), "
                    f"answer {found.answer_mb:,.1f} MB, {found.seconds:.1f} s, "
                    f"HTTP {sorted({c.status for c in found.calls})}, "
                    f"{len(found.problems)} problems",
                    flush=True,
                )
    text = report(args, runs, time.perf_counter() - began)
    print(text)
    if not args.no_results:
        write_section(args.results, args.section or f"memory-{args.database}", text)
        print(f"written to {args.results}")
    over = any(run.growth_mb > BOUND_MB for found in runs.values() for run in found)
    problems = any(run.problems for found in runs.values() for run in found)
    return 1 if over or problems else 0


if __name__ == "__main__":
    sys.exit(main())
