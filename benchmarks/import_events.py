"""Import benchmark (issue 15): events of the standard mix through ``milestones import events``.

What it does, on SQLite:

1. writes the events (default 1,000,000) of the standard mix to an NDJSON file, streamed
   (``benchmarks.ingest``'s generator: mostly purchases, some currency earnings and custom
   events, fixed seed, eventTime order over one day), and a template database holding the
   standard mix's groups (default 100, as the ingest benchmark);
2. per measured run, on a fresh copy of the template, runs the CLI as a subprocess
   (``python -m milestones.cli import events FILE --org-id ...``, the clock pinned by
   ``MILESTONES_NOW`` after the last event) and measures: events/s over the process's whole
   life (start-up, counting the lines, every chunk), its peak memory (its ``VmHWM``, read
   every 50 ms until it exits), and the time to the first progress update (from the start to
   the first checkpoint the job commits, which is when the progress bar first moves: read
   from the job's row, polled read-only every 50 ms); then checks the job: DONE, every line
   done, none rejected;
3. runs are repeated (median reported) while the next one is expected to fit in the time
   budget (``--budget-minutes``, default 15, the whole benchmark): a run that would not
   fit is skipped and the report says so;
4. sends the first ``--bulk-events`` (default 20,000) of the same events through
   ``POST /v3/events/bulk`` of a real ``milestones serve`` on a fresh copy (bulk calls of
   500 from 2 client threads, as the ingest benchmark), and reports the ratio of the CLI's
   rate to it (the goal is at least 2), over the whole file and over the same first events
   (the CLI's progress when it had done as many);
5. times a simulation (SPEC §16) of a simple group (DEFAULT, monthly, a SALES target) over
   every imported event: ``POST /v3/targetGroups/simulate`` in a child process (the real
   app, in process), which answers a SIMULATION job beyond its bound, run by a job worker
   to its end; reported: seconds, events/s, the child's peak memory.

Usage: ``python -m benchmarks.import_events [--events N] [--customers N] [--groups N]
[--bulk-events N] [--repeat N] [--budget-minutes M] [--quick] [--results PATH]``.
Results go to ``benchmarks/RESULTS.md`` (section ``import-sqlite``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from benchmarks.ingest import (
    CLIENT,
    FIRST_EVENT,
    NOW,
    ORG_ID,
    RESULTS,
    SEED,
    Body,
    Databases,
    RunResult,
    _event_time,
    _shown,
    _transaction,
    encode_batches,
    group_bodies,
    machine,
    measured_run,
    write_figures,
    write_section,
)
from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.jobs import JobWorker
from milestones.settings import Settings
from milestones.store.database import Database

SECTION = "import-sqlite"
GOAL_RATIO = 2.0
POLL_SECONDS = 0.05
SIMPLE_GROUP: Body = {
    "name": "simulated spend",
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
            "name": "spend",
            "targetEntity": "TRANSACTION",
            "targetType": "SALES",
            "defaultValue": 5000,
            "targetMilestoneTriggers": [
                {"triggerName": "halfway", "triggerValueType": "PERCENTAGE", "triggerValue": 50}
            ],
        }
    ],
}


# --- The events ------------------------------------------------------------------------


def stream_events(count: int, customers: int, rng: random.Random) -> Iterator[Body]:
    """``benchmarks.ingest.generate_events``' mix, one event at a time (a million of them
    do not fit in memory as dicts); the times are drawn first, so events come in order."""
    times = sorted(_event_time(rng) for _ in range(count))
    for n, at in enumerate(times):
        event: Body = {
            "eventId": f"E{n:07d}",
            "userId": 100_000_000 + rng.randint(1, customers),
            "eventTime": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "storeId": rng.randint(1, 40),
            "zoneId": rng.randint(1, 5),
        }
        roll = rng.random()
        if roll < 0.85:
            event["eventName"] = "TransactionAdd"
            event["transaction"] = {"billNumber": event["eventId"], **_transaction(rng)}
        elif roll < 0.93:
            points = rng.random() < 0.5
            event["eventName"] = "PointsEarned"
            event["currency"] = {
                "identifier": "POINTS" if points else "coins",
                "programId": 973,
                "amount": rng.randint(5, 120),
                "earnType": rng.choice(("REGULAR", "PROMOTIONAL")),
            }
        elif roll < 0.98:
            event["eventName"] = "GameSpin"
            event["attributes"] = {"spins": rng.randint(1, 5)}
        else:
            event["eventName"] = "ProfileUpdated"
            event["attributes"] = {"field": "email"}
        yield event


def write_events(path: Path, count: int, customers: int, rng: random.Random) -> int:
    """The NDJSON file; its size in bytes."""
    with path.open("w") as out:
        for event in stream_events(count, customers, rng):
            out.write(json.dumps(event, separators=(",", ":")))
            out.write("\n")
    return path.stat().st_size


def first_events(path: Path, count: int) -> list[Body]:
    with path.open() as lines:
        return [json.loads(line) for line, _ in zip(lines, range(count), strict=False)]


# --- The CLI import ----------------------------------------------------------------------


@dataclass
class ImportRun:
    """One CLI import, as measured from outside the process."""

    lines: int
    wall_seconds: float
    peak_rss_bytes: int
    first_progress_seconds: float | None
    progress: list[tuple[float, int]]  # (seconds since start, lines done) as polled
    exit_code: int
    job: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.lines / self.wall_seconds

    def seconds_to(self, lines: int) -> float | None:
        """When the job had done at least ``lines`` lines (the first poll that saw it)."""
        return next((at for at, done in self.progress if done >= lines), None)


def _sqlite_path(url: str) -> str:
    path = make_url(url).database
    assert path is not None
    return path


class JobWatch:
    """The newest job's row of a SQLite file, read-only, on one connection kept open."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def row(self) -> tuple[int, int, str] | None:
        """(done, total, status); None before the job (or the file) exists."""
        try:
            if self._db is None:
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            found = self._db.execute(
                "SELECT done, total, status FROM jobs ORDER BY id DESC LIMIT 1"
            ).fetchone()
        except sqlite3.Error:
            self.close()
            return None
        return None if found is None else (int(found[0]), int(found[1] or 0), str(found[2]))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def high_water(pid: int | str = "self") -> int:
    """A process's peak resident memory so far, in bytes (``VmHWM``; 0 once it is gone).

    Not ``ru_maxrss``: Linux carries it across ``execve``, so a child forked from this
    process (grown by the bulk run's answers) would report this process's size.
    """
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def cli_import(url: str, events: Path, lines: int, log: Path) -> ImportRun:
    """``milestones import events`` in a child process, watched until it exits."""
    command = [sys.executable, "-m", "milestones.cli", "import", "events", str(events)]
    command += ["--org-id", str(ORG_ID), "--database", url]
    env = {**os.environ, "MILESTONES_NOW": NOW.isoformat(), "MILESTONES_LOG_LEVEL": "warning"}
    path = _sqlite_path(url)
    watch = JobWatch(path)
    progress: list[tuple[float, int]] = []
    first: float | None = None
    peak = 0
    with log.open("ab") as sink:
        began = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
        while True:
            peak = max(peak, high_water(process.pid))
            pid, status, _ = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            row = watch.row()
            at = time.perf_counter() - began
            if row is not None and row[0] > 0:
                if first is None:
                    first = at
                if not progress or progress[-1][1] != row[0]:
                    progress.append((at, row[0]))
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    row = watch.row()
    watch.close()
    job = {} if row is None else {"done": row[0], "total": row[1], "status": row[2]}
    if row is not None:
        progress.append((wall, row[0]))
    problems = []
    if process.returncode != 0:
        problems.append(f"the CLI exited with {process.returncode}: {log.read_text()[-800:]}")
    if job != {"done": lines, "total": lines, "status": "DONE"}:
        problems.append(f"the job ended as {job}, not DONE with {lines:,} lines done")
    rejected = _rejected(path)
    if rejected:
        problems.append(f"{rejected:,} lines rejected")
    return ImportRun(
        lines=lines,
        wall_seconds=wall,
        peak_rss_bytes=peak,  # as last seen, every 50 ms
        first_progress_seconds=first,
        progress=progress,
        exit_code=process.returncode,
        job=job,
        problems=problems,
    )


def _rejected(path: str) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        (counts,) = db.execute("SELECT counts FROM jobs ORDER BY id DESC LIMIT 1").fetchone()
    return int(json.loads(counts).get("REJECTED", 0))


# --- The simulation ----------------------------------------------------------------------


@dataclass
class SimulationRun:
    seconds: float
    events: int
    peak_rss_bytes: int
    status: str
    answered: int  # the HTTP status of the ask (202: a job)
    reached: int
    problems: list[str] = field(default_factory=list)
    baseline_rss_bytes: int = 0  # the child's peak before it asked (the app loaded)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def simulation_child(url: str) -> int:
    """In a child process: ask for the simulation through the app, run its job, print JSON."""
    settings = Settings(database_url=url, log_level="warning")
    database, clock = Database(url), Clock(NOW)
    body = {
        "group": SIMPLE_GROUP,
        "from": FIRST_EVENT.isoformat(),
        "to": NOW.isoformat(),
    }
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        client.get("/health")
        baseline = high_water()
        began = time.perf_counter()
        asked = client.post("/v3/targetGroups/simulate", json=body, auth=CLIENT)
        data = asked.json()["data"]
        if asked.status_code == 202:
            JobWorker(database, settings, clock).run_pending()
            data = client.get(f"/v3/jobs/{data['id']}", auth=CLIENT).json()["data"]
            status, answer = data["status"], data["result"] or {}
        else:
            status, answer = ("DONE" if asked.status_code == 200 else "FAILED"), data or {}
        seconds = time.perf_counter() - began
    database.dispose()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "baseline_rss_bytes": baseline,
                "peak_rss_bytes": high_water(),
                "answered": asked.status_code,
                "status": status,
                "events": answer.get("eventsRead", 0),
                "reached": answer.get("customersReached", 0),
                "statuses": answer.get("events", {}),
            }
        )
    )
    return 0


def simulate(url: str, log: Path) -> SimulationRun:
    command = [sys.executable, "-m", "benchmarks.import_events", "--simulation-child", url]
    env = {**os.environ, "MILESTONES_LOG_LEVEL": "warning"}
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=sink)
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, _ = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        return SimulationRun(0.0, 0, 0, "FAILED", 0, 0, [f"exit {process.returncode}"])
    found = json.loads(out.decode().strip().splitlines()[-1])
    problems = []
    if found["status"] != "DONE":
        problems.append(f"the simulation ended {found['status']}")
    if set(found["statuses"]) - {"APPLIED", "NO_MATCH"}:
        problems.append(f"unexpected statuses: {found['statuses']}")
    return SimulationRun(
        seconds=found["seconds"],
        events=found["events"],
        peak_rss_bytes=found["peak_rss_bytes"],
        status=found["status"],
        answered=found["answered"],
        baseline_rss_bytes=found["baseline_rss_bytes"],
        reached=found["reached"],
        problems=problems,
    )


# --- Report ----------------------------------------------------------------------------


@dataclass
class Outcome:
    args: argparse.Namespace
    command: str
    file_bytes: int
    imports: list[ImportRun]
    skipped: int
    skipped_why: str | None
    bulk: list[RunResult]
    simulation: SimulationRun | None
    elapsed: float

    @property
    def problems(self) -> list[str]:
        found = [p for run in self.imports for p in run.problems]
        found += [p for run in self.bulk for p in run.problems]
        return found + (self.simulation.problems if self.simulation else [])

    def median(self, values: Sequence[float]) -> float:
        return statistics.median(values) if values else 0.0

    @property
    def cli_rate(self) -> float:
        return self.median([run.events_per_second for run in self.imports])

    @property
    def cli_rate_on_sample(self) -> float | None:
        """The CLI's rate over the lines the bulk sample sent (from its progress)."""
        sample = self.bulk[0].sent if self.bulk else 0
        rates = [sample / at for run in self.imports if (at := run.seconds_to(sample))]
        return self.median(rates) if rates else None

    @property
    def bulk_rate(self) -> float:
        return self.median([run.events_per_second for run in self.bulk])

    def figures(self) -> dict[str, Any]:
        sample_rate = self.cli_rate_on_sample
        simulation = self.simulation
        return {
            "benchmark": "import",
            "database": "sqlite",
            "command": self.command,
            "events": self.args.events,
            "customers": self.args.customers,
            "groups": self.args.groups,
            "cli_events_per_second": self.cli_rate,
            "cli_runs": [run.events_per_second for run in self.imports],
            "cli_peak_rss_bytes": self.median([run.peak_rss_bytes for run in self.imports]),
            "first_progress_seconds": self.median(
                [r.first_progress_seconds for r in self.imports if r.first_progress_seconds]
            ),
            "bulk_events": self.bulk[0].sent if self.bulk else 0,
            "bulk_events_per_second": self.bulk_rate,
            "ratio": self.cli_rate / self.bulk_rate if self.bulk_rate else None,
            "ratio_same_events": sample_rate / self.bulk_rate
            if sample_rate and self.bulk_rate
            else None,
            "simulation_seconds": simulation.seconds if simulation else None,
            "simulation_events": simulation.events if simulation else None,
            "simulation_peak_rss_bytes": simulation.peak_rss_bytes if simulation else None,
            "simulation_baseline_rss_bytes": simulation.baseline_rss_bytes if simulation else None,
            "problems": len(self.problems),
        }

    def markdown(self) -> str:
        args = self.args
        figures = self.figures()
        mib = 1024 * 1024
        lines = [
            "## Event import through the CLI on SQLite (issue 15)",
            "",
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- command: `{self.command}`",
            *machine(),
            f"- database: SQLite {sqlite3.sqlite_version}",
            f"- {args.events:,} events of the standard mix ({self.file_bytes / mib:,.0f} MiB of "
            f"NDJSON), {args.customers:,} customers, {args.groups} groups of the standard mix; "
            f"the clock pinned at {NOW.isoformat()} (after the last event)",
            f"- whole benchmark took {self.elapsed / 60:.1f} min",
            *([f"- note: {args.note}"] if args.note else []),
            "",
            "| measure | value | runs |",
            "|---|---|---|",
            f"| CLI import, events/s (whole process: start-up, line count, every chunk) "
            f"| **{self.cli_rate:,.0f}** "
            f"| {', '.join(f'{r.events_per_second:,.0f}' for r in self.imports)} |",
            f"| CLI peak memory (RSS) | **{figures['cli_peak_rss_bytes'] / mib:,.0f} MiB** "
            f"| {', '.join(f'{r.peak_rss_bytes / mib:,.0f}' for r in self.imports)} |",
            f"| time to the first progress update | **{figures['first_progress_seconds']:.2f} s** "
            f"| {', '.join(_seconds(r.first_progress_seconds) for r in self.imports)} |",
            f"| bulk endpoint, events/s (first {figures['bulk_events']:,} events, HTTP, calls "
            f"of 500, 2 clients, 1 worker) | **{self.bulk_rate:,.0f}** "
            f"| {', '.join(f'{r.events_per_second:,.0f}' for r in self.bulk)} |",
            f"| CLI ÷ bulk (goal ≥ {GOAL_RATIO:.0f}) | **{_ratio(figures['ratio'])}** | |",
            f"| CLI ÷ bulk over the same first {figures['bulk_events']:,} events "
            f"| {_ratio(figures['ratio_same_events'])} | |",
        ]
        simulation = self.simulation
        if simulation is not None:
            lines += [
                f"| simulation of a simple group over the {simulation.events:,} imported "
                f"events (answered {simulation.answered}: "
                f"{'a SIMULATION job' if simulation.answered == 202 else 'at once'}) "
                f"| **{simulation.seconds:,.1f} s** ({simulation.events_per_second:,.0f} "
                f"events/s, peak RSS {simulation.peak_rss_bytes / mib:,.0f} MiB, "
                f"{simulation.baseline_rss_bytes / mib:,.0f} MiB before it asked, "
                f"{simulation.reached:,} customers reached) | |",
            ]
        ratio = figures["ratio"]
        verdict = "met" if ratio and ratio >= GOAL_RATIO else "NOT met"
        lines += ["", f"Goal: the CLI at least {GOAL_RATIO:.0f}x the bulk endpoint: **{verdict}**."]
        runs = len(self.imports)
        lines.append(
            f"CLI runs: {runs} (median shown)"
            + (f"; {self.skipped} more skipped: {self.skipped_why}" if self.skipped else "")
            + "."
        )
        lines += ["", "Problems (CLI exit, job state, rejected lines, bulk answers, simulation):"]
        lines += ["", *(f"    {p}" for p in self.problems[:40])] if self.problems else ["none."]
        return "\n".join(lines) + "\n"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


# --- Command line ----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_events", description=__doc__)
    parser.add_argument("--events", type=int, help="events in the file (default 1,000,000)")
    parser.add_argument("--customers", type=int, help="customers (default 10,000)")
    parser.add_argument("--groups", type=int, default=100, help="groups of the standard mix")
    parser.add_argument("--bulk-events", type=int, help="events of the bulk run (default 20,000)")
    parser.add_argument("--repeat", type=int, default=3, help="CLI runs at most (median)")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=15.0,
        help="a further CLI run starts only if it is expected to end within this",
    )
    parser.add_argument("--quick", action="store_true", help="a small run to check the harness")
    parser.add_argument("--note", help="a line to add to the results")
    parser.add_argument(
        "--results", type=Path, help=f"results file (default {RESULTS}; none with --quick)"
    )
    parser.add_argument("--simulation-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = {
        "events": 2_000 if args.quick else 1_000_000,
        "customers": 500 if args.quick else 10_000,
        "bulk_events": 1_000 if args.quick else 20_000,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.bulk_events = min(args.bulk_events, args.events)
    if args.results is None and not args.quick:
        args.results = RESULTS
    return args


def run(args: argparse.Namespace, workdir: Path, began: float) -> Outcome:
    rng = random.Random(SEED)
    bodies = group_bodies(args.groups, 0, rng)
    events = workdir / "events.ndjson"
    size = write_events(events, args.events, args.customers, rng)
    print(f"{args.events:,} events written ({size / 2**20:,.0f} MiB)", flush=True)
    databases = Databases("sqlite", None, workdir)
    print(f"populating a template database with {len(bodies)} groups", flush=True)
    template = databases.template("import", bodies)

    imports: list[ImportRun] = []
    skipped, why = 0, None
    budget = 60 * args.budget_minutes
    kept_url = None
    for number in range(1, args.repeat + 1):
        if imports:
            spent = time.perf_counter() - began
            expected = statistics.mean(run.wall_seconds for run in imports)
            if spent + expected > budget:
                skipped = args.repeat - len(imports)
                why = (
                    f"each takes about {expected / 60:.1f} min and {spent / 60:.1f} min of the "
                    f"{args.budget_minutes:g}-min budget were spent"
                )
                break
        url = databases.copy(template)
        found = cli_import(url, events, args.events, workdir / f"cli-{number}.log")
        imports.append(found)
        print(
            f"CLI import {number}/{args.repeat}: {found.events_per_second:,.0f} events/s, "
            f"peak RSS {found.peak_rss_bytes / 2**20:,.0f} MiB, first progress after "
            f"{_seconds(found.first_progress_seconds)} s, {len(found.problems)} problems",
            flush=True,
        )
        if kept_url is None:
            kept_url = url  # the simulation reads the first run's import
        else:
            Path(_sqlite_path(url)).unlink(missing_ok=True)

    sample = first_events(events, args.bulk_events)
    bulk = [measured_run(databases, template, args.groups, encode_batches(sample), 1, 2, "bulk")]
    print(f"bulk endpoint: {bulk[0].events_per_second:,.0f} events/s", flush=True)

    simulation = None
    if kept_url is not None:
        simulation = simulate(kept_url, workdir / "simulation.log")
        print(
            f"simulation: {simulation.seconds:,.1f} s over {simulation.events:,} events",
            flush=True,
        )
    return Outcome(
        args=args,
        command="",
        file_bytes=size,
        imports=imports,
        skipped=skipped,
        skipped_why=why,
        bulk=bulk,
        simulation=simulation,
        elapsed=0.0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.simulation_child:
        return simulation_child(args.simulation_child)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.perf_counter()
    command = "python -m benchmarks.import_events " + _shown(
        argv if argv is not None else sys.argv[1:]
    )
    workdir = Path(tempfile.mkdtemp(prefix="milestones-bench-import-"))
    try:
        outcome = run(args, workdir, began)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    outcome.command = command
    outcome.elapsed = time.perf_counter() - began
    text_out = outcome.markdown()
    print(text_out)
    write_figures(SECTION, outcome.figures())
    if args.results is not None:
        write_section(args.results, SECTION, text_out)
        print(f"written to {args.results}")
    return 1 if outcome.problems else 0


if __name__ == "__main__":
    sys.exit(main())
