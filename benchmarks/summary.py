"""Issue 13's summary: the benchmarks' measured figures against what they must reach.

Reads the key figures each benchmark of ``make bench`` wrote to ``var/bench/<section>.json``
(``BENCH_JSON_DIR`` overrides the folder) and writes the ``issue-13`` section of
``benchmarks/RESULTS.md``: for each measure, what it must reach, the goal, what was
reached (a median of the benchmark's runs) and whether the must-reach is met. A figure
whose benchmark did not run, failed, or ran with other settings than the measure's is
"not measured": nothing here is estimated.

    python -m benchmarks.summary [--results PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.ingest import RESULTS, _code_version, json_dir, machine, write_section

SECTION = "issue-13"
MIN_RUNS = 3
Figures = dict[str, Any]


_ISSUE_13 = {"ingest", "storage_floor", "user_view", "one_event", "memory"}


def load(directory: Path) -> dict[str, Figures]:
    """Every ``<section>.json`` of the folder, by section."""
    found: dict[str, Figures] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            found[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            print(f"skipping {path}: {exc}", file=sys.stderr)
    return found


@dataclass
class Row:
    measure: str
    must: str
    goal: str
    value: float | None  # None: not measured
    shown: Callable[[float], str]
    must_met: Callable[[float], bool]
    goal_met: Callable[[float], bool]
    why_missing: str = ""
    sources: tuple[str, ...] = ()
    caveat: str = ""  # e.g. a --quick run's figure

    def cells(self) -> str:
        if self.value is None:
            reached = "not measured" + (f" ({self.why_missing})" if self.why_missing else "")
            return f"| {self.measure} | {self.must} | {self.goal} | {reached} | — | — |"
        must = "met" if self.must_met(self.value) else "**NOT met**"
        goal = "reached" if self.goal_met(self.value) else "not reached"
        caveat = f" ({self.caveat})" if self.caveat else ""
        return (
            f"| {self.measure} | {self.must} | {self.goal} | **{self.shown(self.value)}**"
            f"{caveat} | {must} | {goal} |"
        )


def _at_least(bound: float) -> Callable[[float], bool]:
    return lambda value: value >= bound


def _at_most(bound: float) -> Callable[[float], bool]:
    return lambda value: value <= bound


def _rate(value: float) -> str:
    return f"{value:,.0f} events/s"


def _share(value: float) -> str:
    return f"{value:.2f}"


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _us(value: float) -> str:
    return f"{value:,.1f} µs"


class Figure:
    """One benchmark's figures, or why they cannot be used for a measure."""

    def __init__(self, figures: dict[str, Figures], section: str, **wanted: Any) -> None:
        self.section = section
        self.data = figures.get(section)
        self.why = ""
        if self.data is None:
            self.why = f"no {section} figures: its benchmark did not run or failed"
            return
        for key, value in wanted.items():
            if self.data.get(key) != value:
                self.why = f"{section} ran with {key} {self.data.get(key)!r}, not {value!r}"
                self.data = None
                return

    def get(self, *keys: str) -> float | None:
        value: Any = self.data
        for key in keys:
            if not isinstance(value, dict) or value.get(key) is None:
                if not self.why:
                    self.why = f"{section_key(self.section, keys)} missing"
                return None
            value = value[key]
        return float(value)


def section_key(section: str, keys: Sequence[str]) -> str:
    return f"{section}: {'.'.join(keys)}"


def rows(figures: dict[str, Figures]) -> list[Row]:
    standard = Figure(figures, "ingest-sqlite", mix="standard", workers=1, batch=500)
    floor = Figure(figures, "storage-floor-sqlite")
    typical = Figure(figures, "ingest-typical-sqlite", mix="typical", groups=20)
    postgres = Figure(figures, "ingest-postgresql", mix="standard", workers=2)
    one = Figure(figures, "one-event-sqlite")
    views = {db: Figure(figures, f"user-view-{db}") for db in ("sqlite", "postgresql")}

    standard_rate = standard.get("events_per_second")
    floor_rate = floor.get("events_per_second")
    share = None if standard_rate is None or floor_rate is None else standard_rate / floor_rate
    out = [
        Row(
            "standard mix (today's workload), SQLite, 1 worker, bulk calls of 500",
            "≥ 1,000 events/s",
            "2,500",
            standard_rate,
            _rate,
            _at_least(1_000),
            _at_least(2_500),
            standard.why,
            ("ingest-sqlite",),
        ),
        Row(
            "the same, as a share of the storage floor measured in the same run",
            "≥ 0.5",
            "0.8",
            share,
            _share,
            _at_least(0.5),
            _at_least(0.8),
            standard.why or floor.why,
            ("ingest-sqlite", "storage-floor-sqlite"),
        ),
        Row(
            "a typical programme: 20 active groups, about 10 targets reached per event, SQLite",
            "≥ 3,000 events/s",
            "6,000",
            typical.get("events_per_second"),
            _rate,
            _at_least(3_000),
            _at_least(6_000),
            typical.why,
            ("ingest-typical-sqlite",),
        ),
        Row(
            "standard mix, PostgreSQL, 2 workers",
            "≥ 800 events/s",
            "2,000",
            postgres.get("events_per_second"),
            _rate,
            _at_least(800),
            _at_least(2_000),
            postgres.why,
            ("ingest-postgresql",),
        ),
        Row(
            "one-event calls (one group, one target), sequential client, as a share of "
            "`/health` requests/s of the same server",
            "≥ 0.25",
            "0.5",
            one.get("ratio"),
            _share,
            _at_least(0.25),
            _at_least(0.5),
            one.why,
            ("one-event-sqlite",),
        ),
    ]
    for db, name in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        view = views[db]
        out.append(
            Row(
                f"user view as a share of `/health` requests/s, {name}",
                "≥ 0.3",
                "0.5",
                view.get("ratio"),
                _share,
                _at_least(0.3),
                _at_least(0.5),
                view.why,
                (f"user-view-{db}",),
            )
        )
    for db, name in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        view = views[db]
        out.append(
            Row(
                f"user view p99, {name}",
                "≤ 10 ms",
                "5 ms",
                view.get("p99_ms"),
                _ms,
                _at_most(10),
                _at_most(5),
                view.why,
                (f"user-view-{db}",),
            )
        )
    out.append(
        Row(
            "in-process engine CPU per contribution (standard mix, SQLite profile)",
            "reported",
            "≤ 5 µs",
            standard.get("profile", "engine_us_per_contribution"),
            _us,
            lambda _: True,
            _at_most(5),
            standard.why,
            ("ingest-sqlite",),
        )
    )
    return out


def _caveat(figures: dict[str, Figures], sources: Sequence[str]) -> str:
    """What makes a row's figure less than a measure: a --quick run, too few runs."""
    found = []
    for section in sources:
        data = figures.get(section)
        if data is None:
            continue
        if data.get("quick"):
            found.append(f"{section} a --quick run")
        if _runs(data) < MIN_RUNS:
            found.append(f"{section} {_runs(data)} run(s) only")
    return "; ".join(found)


def _runs(data: Figures) -> int:
    if data.get("benchmark") == "storage_floor":
        return len(data.get("runs_us_per_event", []))
    return len(data.get("runs", []))


def markdown(figures: dict[str, Figures], command: str) -> str:
    table = rows(figures)
    for row in table:
        row.caveat = _caveat(figures, row.sources)
    used = sorted({source for row in table for source in row.sources if source in figures})
    lines = [
        "## Issue 13: where the engine stands",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- command: `{command}`, the last step of `make bench`, after the benchmarks it "
        "summarises (each one's date and command below; `make bench` clears `var/bench` "
        "first, so every figure is of the same run)",
        *machine(),
        f"- figures read from `var/bench/*.json`, written by the benchmarks: "
        f"{', '.join(f'`{name}`' for name in used) or 'none'}",
        "- reached = the median of the benchmark's runs (each ingest run on a fresh "
        "database); met = the must-reach is met",
        "",
        "| measure | must reach | goal | reached | must reach met? | goal reached? |",
        "|---|---|---|---|---|---|",
        *(row.cells() for row in table),
    ]
    lines += _notes(figures)
    # Only issue 13's benchmarks: the others (webhooks, scale) have sections of their own.
    ours = sorted(name for name in figures if figures[name].get("benchmark") in _ISSUE_13)
    lines += _checks(figures, ours)
    lines += _sources(figures, ours)
    return "\n".join(lines) + "\n"


def _notes(figures: dict[str, Figures]) -> list[str]:
    lines = [""]
    standard = figures.get("ingest-sqlite")
    floor = figures.get("storage-floor-sqlite")
    if standard and floor:
        lines.append(
            f"- Storage floor: {floor['events_per_second']:,.0f} events/s writing "
            f"{floor['effects_per_event']} user targets per event and the event's row with its "
            "packed ledger; the "
            f"standard mix measured {standard['effects_per_event']:.1f} side effects per event."
        )
    typical = figures.get("ingest-typical-sqlite")
    if typical:
        within = typical.get("effects_within_design")
        lines.append(
            f"- Typical programme: {typical['effects_per_event']:.1f} side effects per event "
            f"measured (designed for about 10, between 8 and 12: "
            f"{'as designed' if within else 'OUTSIDE the design'})."
        )
    profile = (standard or {}).get("profile")
    if profile:
        lines.append(
            f"- Engine per contribution: the profile's engine phase (`ingest()` by chunks and "
            f"the commit, without profiler) took {profile['engine_seconds']:.2f} s for "
            f"{profile['events']:,} events and {profile['contributions']:,} contributions "
            f"(side effects): {profile['engine_us_per_contribution']:,.1f} µs each, of which "
            f"{1e6 * profile['engine_cpu_seconds'] / max(profile['contributions'], 1):,.1f} µs "
            "the thread's CPU (the rest waits on the database)."
        )
    for section, name in (("ingest-sqlite", "SQLite"), ("ingest-postgresql", "PostgreSQL")):
        flat = (figures.get(section) or {}).get("flat")
        if flat:
            lines.append(
                f"- Per-event cost flat from {flat['groups_from']:,} to {flat['groups_to']:,} "
                f"groups, {name}: median events/s with {flat['groups_to']:,} ÷ with "
                f"{flat['groups_from']:,} = **{flat['ratio']:.2f}** (1.00 = flat); server CPU "
                f"per event, the same ratio: **{flat['cpu_ratio']:.2f}**."
            )
        else:
            lines.append(f"- Per-event cost flat, {name}: not measured (no flat-cost runs).")
    one = figures.get("one-event-sqlite")
    if one:
        lines.append(
            f"- One-event calls: {one['events_rps']:,.0f} calls/s (p50 "
            f"{one['event_p50_ms']:.1f} ms, p99 {one['event_p99_ms']:.1f} ms) against "
            f"{one['health_rps']:,.0f} `/health` requests/s."
        )
    for db in ("sqlite", "postgresql"):
        view = figures.get(f"user-view-{db}")
        if view:
            lines.append(
                f"- User view, {view['database']}: {view['view_rps']:,.0f} requests/s against "
                f"{view['health_rps']:,.0f} `/health` ({view['workers']} workers, "
                f"{view['clients']} clients); p50 {view['p50_ms']:.1f} ms."
            )
    return lines


def _checks(figures: dict[str, Figures], used: Sequence[str]) -> list[str]:
    lines = [
        "",
        "Every answer the benchmarks received was checked (after the clock stopped):",
        "",
        "| benchmark | what was checked | answers checked | problems |",
        "|---|---|---|---|",
    ]
    for section in used:
        checks = figures[section].get("checks") or {}
        count = checks.get("answers", checks.get("calls"))
        if figures[section].get("benchmark") == "ingest":
            count = (
                f"{checks.get('calls', 0):,} bulk calls, {checks.get('events_answered', 0):,} "
                f"of {checks.get('events_sent', 0):,} events answered"
            )
        elif figures[section].get("benchmark") == "storage_floor":
            count = f"{checks.get('rows_expected', 0):,} rows expected in each table"
        elif isinstance(count, int):
            count = f"{count:,}"
        problems = checks.get("problems")
        shown = "not checked" if problems is None else f"**{problems:,}**"
        lines.append(f"| `{section}` | {checks.get('what', '?')} | {count} | {shown} |")
    return lines


def _sources(figures: dict[str, Figures], used: Sequence[str]) -> list[str]:
    now = _code_version()
    lines = ["", "Where each figure comes from:", ""]
    for section in used:
        data = figures[section]
        runs = _runs(data)
        flags = []
        if data.get("quick"):
            flags.append("**a --quick run: sizes cut, not a measure**")
        if runs < MIN_RUNS:
            flags.append(f"**only {runs} run(s)**")
        if data.get("code") != now:
            flags.append(f"**measured at {data.get('code')}, not {now}**")
        lines.append(
            f"- `{section}`: {data.get('date')}, {runs} run(s), `{data.get('command')}`"
            + ("; " + "; ".join(flags) if flags else "")
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.summary", description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"default {RESULTS}")
    parser.add_argument("--json-dir", type=Path, help="default var/bench (or BENCH_JSON_DIR)")
    args = parser.parse_args(argv)
    directory = args.json_dir or json_dir()
    figures = load(directory)
    command = "python -m benchmarks.summary"
    text_out = markdown(figures, command)
    print(text_out)
    write_section(args.results, SECTION, text_out)
    print(f"written to {args.results}")
    return 0 if figures else 1


if __name__ == "__main__":
    sys.exit(main())
