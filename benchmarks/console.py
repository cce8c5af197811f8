"""Console benchmark: a customer's page (``GET /console/customers?userId=``) of a real server,
for a customer with progress in 50 groups (SPEC §18: under 200 ms).

What it does:

1. a fresh SQLite database: the org, an API client and an ADMIN console user;
2. ``milestones serve`` on a free port with the clock pinned (``MILESTONES_NOW``,
   2024-09-20, September the current period), then 50 groups through
   ``POST /v3/targetGroups`` (the user-view benchmark's: monthly over 2024, SALES and COUNT
   targets, some with two targets or a 50 % trigger, every tenth a STREAKS group);
3. through ``POST /v3/events/bulk``: the measured customer's purchases on 20 days from
   January to September (so every group has months of their progress, and the streak
   groups a calendar of outcomes), and ``--others`` other customers' purchases, so the
   tables are not the customer's alone;
4. signs in through the sign-in form, warms up, then times ``--requests`` customer pages
   one after the other (client side, HTTP keep-alive), and as many of the groups page and
   of one group's page; repeated ``--repeat`` times, medians reported.

Usage: ``python -m benchmarks.console [--requests N] [--repeat N] [--others N] [--quick]``.
Results go to ``benchmarks/RESULTS.md`` (section ``console-sqlite``) and
``var/bench/console.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from benchmarks.ingest import CLIENT, NOW, ORG_ID, RESULTS, machine, write_section
from benchmarks.user_view import group_bodies
from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database

ROOT = Path(__file__).resolve().parents[1]
EXECUTABLE = ROOT / ".venv" / "bin" / "milestones"
CUSTOMER = 424242
EMAIL, PASSWORD = "bench@example.com", "a benchmark password"
GOAL_MS = 200.0
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "MILESTONES_NOW": NOW.isoformat()}
    env.pop("MILESTONES_DATABASE_URL", None)
    command = [str(EXECUTABLE), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--database", url, "--no-deliver", "--no-jobs", "--no-sweep"]
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {(folder / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not answer /health in 60 s")


def _purchase(user_id: int, at: datetime, number: int, amount: int) -> dict[str, object]:
    return {
        "eventName": "TransactionAdd",
        "eventId": f"c-{user_id}-{number}",
        "userId": user_id,
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "transaction": {"billNumber": f"c-{user_id}-{number}", "billAmount": amount},
    }


def seed(base: str, others: int, rng: random.Random) -> int:
    """The groups and the events; returns the id of one group, for its page."""
    with httpx.Client(base_url=base, auth=CLIENT, timeout=120) as api:
        ids = []
        for body in group_bodies(50, rng):
            answer = api.post("/v3/targetGroups", json=body)
            answer.raise_for_status()
            ids.append(answer.json()["data"]["id"])
        today = (NOW - datetime(2024, 1, 1, tzinfo=UTC)).days
        days = [*sorted(rng.sample(range(1, today), 19)), today]
        events = [
            _purchase(CUSTOMER, datetime(2024, 1, 1, 9, tzinfo=UTC) + timedelta(days=d), n, 900)
            for n, d in enumerate(days)
        ]
        start = datetime(2024, 8, 1, tzinfo=UTC)
        events += [
            _purchase(1000 + n, start + timedelta(minutes=rng.randint(0, 60 * 24 * 49)), n, 400)
            for n in range(others)
        ]
        events = [e for e in events if str(e["eventTime"]) <= NOW.strftime("%Y-%m-%dT%H:%M")]
        for chunk in range(0, len(events), 500):
            chunk_events = {"events": events[chunk : chunk + 500]}
            answer = api.post("/v3/events/bulk", json=chunk_events, params={"sideEffects": "none"})
            answer.raise_for_status()
    return ids[0]


def signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    form = client.get("/console/sign-in")
    found = _CSRF.search(form.text)
    assert found, "no sign-in form"
    answer = client.post(
        "/console/sign-in", data={"csrf": found.group(1), "email": EMAIL, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text
    return client


def timed(client: httpx.Client, path: str, count: int, expect: str) -> list[float]:
    """Milliseconds per GET of ``path``, one after the other; each answer checked."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200 or expect not in answer.text:
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
    return times


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--others", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="small and fast; no results file")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.repeat, args.others = 30, 1, 200
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    rng = random.Random(18)
    folder = Path(tempfile.mkdtemp(prefix="bench-console-"))
    url = f"sqlite:///{folder / 'console.db'}"
    database = Database(url)
    database.migrate()
    clock = Clock(NOW)
    admin.create_org(
        database,
        clock,
        org_id=ORG_ID,
        name="Bench",
        time_zone="UTC",
        client_id=CLIENT[0],
        client_secret=CLIENT[1],
    )
    admin.create_console_user(
        database, clock, org_id=ORG_ID, email=EMAIL, role="ADMIN", password=PASSWORD
    )
    database.dispose()
    process, base = _serve(url, folder)
    try:
        seeded = time.monotonic()
        group_id = seed(base, args.others, rng)
        seed_seconds = time.monotonic() - seeded
        client = signed_in(base)
        page = client.get(f"/console/customers?userId={CUSTOMER}").text
        groups_shown = page.count('class="customer-group"')
        if groups_shown != 50:
            raise SystemExit(f"the customer's page shows {groups_shown} groups, not 50")
        paths = {
            "customer page": (f"/console/customers?userId={CUSTOMER}", "Latest events"),
            "groups page": ("/console/groups", "uv-049"),
            "a group's page": (f"/console/groups/{group_id}", "Periods"),
        }
        for path, expect in paths.values():
            timed(client, path, 10, expect)  # warm-up: caches, the first compiled templates
        runs: dict[str, list[float]] = {name: [] for name in paths}
        p95s: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.repeat):
            for name, (path, expect) in paths.items():
                times = timed(client, path, args.requests, expect)
                runs[name].append(statistics.median(times))
                p95s[name].append(_p95(times))
        size = len(client.get(paths["customer page"][0]).content)
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    median = statistics.median(runs["customer page"])
    report = {
        "customer_page_ms": median,
        "customer_page_p95_ms": statistics.median(p95s["customer page"]),
        "groups_page_ms": statistics.median(runs["groups page"]),
        "group_page_ms": statistics.median(runs["a group's page"]),
        "goal_ms": GOAL_MS,
        "passed": median < GOAL_MS,
    }
    print(json.dumps(report, indent=2))
    if args.quick:
        return 0 if report["passed"] else 1
    rows = [
        f"| {name} | **{statistics.median(runs[name]):.1f} ms** | "
        f"{statistics.median(p95s[name]):.1f} ms | "
        + ", ".join(f"{value:.1f}" for value in runs[name])
        + " |"
        for name in paths
    ]
    text = "\n".join(
        [
            "## Console on SQLite (issue 18)",
            "",
            f"`python -m benchmarks.console`: a customer with progress in 50 groups (the "
            f"user-view benchmark's groups, 5 of them STREAKS), 20 purchases of theirs from "
            f"January to September and {args.others:,} other customers' purchases, all "
            f"through the API (seeded in {seed_seconds:.0f} s); {args.requests} pages one "
            f"after the other per run, {args.repeat} runs, medians; the page is "
            f"{size / 1024:.0f} KiB of HTML.",
            "",
            "| page | median | p95 | run medians (ms) |",
            "|---|---|---|---|",
            *rows,
            "",
            f"- goal: the customer page under {GOAL_MS:.0f} ms: "
            + ("met" if report["passed"] else "**not met**"),
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            *machine(),
            f"- whole benchmark: {time.monotonic() - began:.0f} s",
            "",
        ]
    )
    write_section(RESULTS, "console-sqlite", text)
    bench = ROOT / "var" / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    (bench / "console.json").write_text(json.dumps(report, indent=2))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
