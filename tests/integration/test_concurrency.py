"""Parallel writers against a real server: one customer's totals stay exact (SPEC §6.1, §9).

Each case starts ``milestones serve`` with two worker processes, then several threads
post the same customer's purchases at once (single events and bulk calls, some eventIds
sent twice from different threads). The totals must be exact to the thousandth, every
eventId stored once, and the side effects must chain: no two events saw the same
"before" value, which is what a lost update would look like.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import simplejson
from sqlalchemy import select
from sqlalchemy.engine import make_url

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from milestones.store.ledger import ledger_rows
from milestones.store.tables import events, targets, user_targets

ROOT = Path(__file__).resolve().parents[2]
EXECUTABLE = ROOT / ".venv" / "bin" / "milestones"
NOW = datetime(2024, 8, 27, 10, 0, tzinfo=UTC)
ORG_ID = 50363
CLIENT = ("client-conc", "secret-conc")
STARTUP_SECONDS = 30.0
REQUEST_SECONDS = 30.0


# --- shared by the robustness tests (test_crash imports these) ------------------------


def postgres_server_url() -> str:
    url = os.environ.get("MILESTONES_TEST_POSTGRES_URL")
    if not url:
        pytest.fail(
            "MILESTONES_TEST_POSTGRES_URL is not set: run the tests with `make test`, "
            "which starts a throwaway PostgreSQL"
        )
    return url


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    base = make_url(postgres_server_url())
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin_url = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_database(url: str, org_id: int = ORG_ID) -> None:
    """Migrate and create an org on UTC with the test's API client."""
    database = Database(url)
    try:
        database.migrate()
        admin.create_org(
            database,
            Clock(NOW),
            org_id=org_id,
            name=f"Org {org_id}",
            time_zone="UTC",
            client_id=CLIENT[0],
            client_secret=CLIENT[1],
        )
    finally:
        database.dispose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """``milestones serve`` in its own process group, so a kill reaches every worker.

    ``options`` are added to the command line and ``env`` to the environment (the
    webhook tests shorten the delivery settings this way).
    """

    def __init__(
        self,
        url: str,
        log: Path,
        workers: int,
        *,
        options: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.log = log
        self.workers = workers
        self.options = list(options)
        self.env = dict(env or {})
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        env = {**os.environ, "MILESTONES_NOW": NOW.isoformat(), "MILESTONES_LOG_LEVEL": "warning"}
        env.pop("MILESTONES_DATABASE_URL", None)
        env.update(self.env)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(EXECUTABLE),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--database",
                    self.url,
                    "--workers",
                    str(self.workers),
                    *self.options,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"the server exited with {self.process.returncode}:\n{self.tail()}")
                with suppress(httpx.HTTPError):
                    if client.get(f"{self.base}/health").status_code == 200:
                        return
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"the server did not answer /health in {STARTUP_SECONDS} s:\n{self.tail()}")

    def kill(self) -> int:
        """SIGKILL the whole process group; returns the main process's exit code."""
        assert self.process is not None
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.wait(timeout=10)
        self.process = None
        return code

    def stop(self) -> None:
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # Reap any worker the TERM left behind.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


@contextmanager
def running(url: str, log: Path, workers: int) -> Iterator[Server]:
    server = Server(url, log, workers)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def api(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.base, auth=CLIENT, timeout=REQUEST_SECONDS)


def post_json(client: httpx.Client, path: str, body: object) -> httpx.Response:
    """Post with decimals written exactly (``12.345``, never a binary float)."""
    return client.post(
        path,
        content=simplejson.dumps(body, use_decimal=True),
        headers={"content-type": "application/json"},
    )


def read_json(response: httpx.Response) -> Any:
    return simplejson.loads(response.text, use_decimal=True)


def create_group(client: httpx.Client, name: str, targets_: list[dict[str, Any]]) -> dict[str, Any]:
    """A DEFAULT fixed group, monthly from 2024-08-01 (UTC), three periods; returns its data."""
    body = {
        "name": name,
        "trackingType": "DEFAULT",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "MONTHLY",
        "frequency": 1,
        "totalPeriods": 3,
        "recurringCycles": -1,
        "targetCycleStartDate": "2024-08-01T00:00:00.000",
        "targetCycleEndDate": "2024-10-31T23:59:59.000",
        "targets": targets_,
    }
    response = post_json(client, "/v3/targetGroups", body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = read_json(response)["data"]
    return data


def target_ids(group: dict[str, Any]) -> dict[str, int]:
    return {target["name"]: target["id"] for target in group["targets"]}


def purchase(event_id: str, user_id: int, amount: Decimal, at: datetime) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user_id,
        "eventTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "transaction": {"billNumber": event_id, "billAmount": amount},
    }


def random_amount(rng: random.Random) -> Decimal:
    """1.000 to 999.999 with three decimal places."""
    return Decimal(rng.randint(1_000, 999_999)).scaleb(-3)


def random_time(rng: random.Random) -> datetime:
    """An instant in August 2024 before NOW: inside every test group's first period."""
    start = datetime(2024, 8, 1, 0, 0, tzinfo=UTC)
    return start + timedelta(seconds=rng.randint(0, int((NOW - start).total_seconds()) - 60))


def stored_totals(url: str, org_id: int = ORG_ID) -> dict[tuple[int, int], tuple[Decimal, int]]:
    """(target id, user id) → (achieved value, contributions) for every user target."""
    database = Database(url)
    try:
        with database.transaction(write=False) as connection:
            rows = connection.execute(
                select(user_targets.c.target_id, user_targets.c.user_id, user_targets.c.id).where(
                    user_targets.c.org_id == org_id
                )
            ).all()
            values = dict(
                connection.execute(
                    select(user_targets.c.id, user_targets.c.achieved_value).where(
                        user_targets.c.org_id == org_id
                    )
                ).all()
            )
            ledger: dict[int, tuple[Decimal, int]] = {}
            for row in ledger_rows(connection, org_id):
                summed, count = ledger.get(row.user_target_id, (Decimal(0), 0))
                ledger[row.user_target_id] = (summed + row.amount, count + 1)
    finally:
        database.dispose()
    totals: dict[tuple[int, int], tuple[Decimal, int]] = {}
    for target_id, user_id, user_target_id in rows:
        summed, count = ledger.get(user_target_id, (Decimal(0), 0))
        value = values[user_target_id]
        assert summed == value, (
            f"user target {user_target_id}: achieved value {value} is not the sum of its "
            f"ledger {summed}"
        )
        totals[(target_id, user_id)] = (value, count)
    return totals


def stored_event_ids(url: str, org_id: int = ORG_ID) -> list[str]:
    """Every stored eventId of the org, one entry per row (so duplicates would show)."""
    database = Database(url)
    try:
        with database.transaction(write=False) as connection:
            return [
                row[0]
                for row in connection.execute(
                    select(events.c.event_id).where(events.c.org_id == org_id)
                )
            ]
    finally:
        database.dispose()


# --- the concurrency test ------------------------------------------------------------

CUSTOMER = 347286146


@dataclass
class Seen:
    """What the writers were answered, gathered across threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    effects: dict[int, list[tuple[Decimal, Decimal, Decimal, bool, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    bad_answers: list[str] = field(default_factory=list)

    def record(self, response: httpx.Response, label: str) -> None:
        if response.status_code != 200:
            with self.lock:
                self.bad_answers.append(f"{label}: HTTP {response.status_code} {response.text}")
            return
        data = read_json(response)["data"]
        results = data.get("results", [data])
        with self.lock:
            for result in results:
                self.statuses[result["eventId"]].append(result["status"])
                for effect in result["sideEffects"]:
                    self.effects[effect["targetRuleId"]].append(
                        (
                            effect["targetAchievedValueBeforeEvent"],
                            effect["currentEventTargetValue"],
                            effect["targetAchievedValueAfterEvent"],
                            effect["targetAchieved"],
                            result["eventId"],
                        )
                    )


def _plan(
    count: int, writers: int, singles: int, bulk_size: int, duplicates: int, seed: int
) -> tuple[dict[str, dict[str, Any]], list[list[list[str]]]]:
    """Events for CUSTOMER, and per writer a shuffled list of calls (each a list of eventIds).

    The first ``singles`` events go one per call, the rest in bulk calls; ``duplicates``
    eventIds are sent a second time by another writer.
    """
    rng = random.Random(seed)
    bodies = {
        f"c-{i:05d}": purchase(f"c-{i:05d}", CUSTOMER, random_amount(rng), random_time(rng))
        for i in range(count)
    }
    ids = list(bodies)
    rng.shuffle(ids)
    calls = [[event_id] for event_id in ids[:singles]]
    rest = ids[singles:]
    calls += [rest[start : start + bulk_size] for start in range(0, len(rest), bulk_size)]
    rng.shuffle(calls)
    per_writer: list[list[list[str]]] = [[] for _ in range(writers)]
    owner: dict[str, int] = {}
    for index, call in enumerate(calls):
        per_writer[index % writers].append(call)
        owner.update((event_id, index % writers) for event_id in call)
    again: dict[int, list[str]] = defaultdict(list)
    for event_id in rng.sample(ids, duplicates):
        other = (owner[event_id] + 1 + rng.randrange(writers - 1)) % writers
        again[other].append(event_id)
    for writer, repeated in again.items():
        half = len(repeated) // 2
        per_writer[writer] += [[event_id] for event_id in repeated[:half]]
        if repeated[half:]:
            per_writer[writer].append(repeated[half:])
        rng.shuffle(per_writer[writer])
    return bodies, per_writer


def _send(
    server: Server,
    bodies: dict[str, dict[str, Any]],
    calls: list[list[str]],
    start: threading.Barrier,
    seen: Seen,
) -> None:
    with api(server) as client:
        start.wait(timeout=REQUEST_SECONDS)
        for call in calls:
            if len(call) == 1:
                response = post_json(client, "/v3/events", bodies[call[0]])
            else:
                payload = {"events": [bodies[event_id] for event_id in call]}
                response = post_json(client, "/v3/events/bulk", payload)
            seen.record(response, f"{len(call)} event(s) starting {call[0]}")


def _check_chain(
    name: str, effects: list[tuple[Decimal, Decimal, Decimal, bool, str]], total: Decimal
) -> None:
    """The side effects of one target, ordered by their before-value, must follow on exactly."""
    ordered = sorted(effects)
    befores = [effect[0] for effect in ordered]
    assert len(set(befores)) == len(befores), (
        f"{name}: two events saw the same value before them (a lost update): "
        f"{[b for b in befores if befores.count(b) > 1][:5]}"
    )
    expected_before = Decimal(0)
    for before, amount, after, _, event_id in ordered:
        assert before == expected_before, (
            f"{name}: event {event_id} started from {before}, the previous one ended at "
            f"{expected_before}"
        )
        assert after == before + amount, f"{name}: event {event_id}: {before} + {amount} ≠ {after}"
        expected_before = after
    assert expected_before == total, f"{name}: side effects end at {expected_before}, not {total}"
    achieved = [effect for effect in ordered if effect[3]]
    assert len(achieved) == 1, f"{name}: {len(achieved)} events achieved the target, not 1"


def _run_case(
    url: str,
    tmp_path: Path,
    *,
    count: int,
    writers: int,
    singles: int,
    bulk_size: int,
    duplicates: int,
    sales_target: int,
    count_target: int,
) -> None:
    prepare_database(url)
    bodies, per_writer = _plan(count, writers, singles, bulk_size, duplicates, seed=count)
    seen = Seen()
    with running(url, tmp_path / "server.log", workers=2) as server:
        with api(server) as client:
            group = create_group(
                client,
                "One customer, many writers",
                [
                    {
                        "name": "spend",
                        "targetEntity": "TRANSACTION",
                        "targetType": "SALES",
                        "defaultValue": sales_target,
                    },
                    {
                        "name": "bills",
                        "targetEntity": "TRANSACTION",
                        "targetType": "COUNT",
                        "defaultValue": count_target,
                    },
                ],
            )
        ids = target_ids(group)
        start = threading.Barrier(writers)
        with ThreadPoolExecutor(max_workers=writers) as pool:
            futures = [
                pool.submit(_send, server, bodies, calls, start, seen) for calls in per_writer
            ]
            for future in futures:
                future.result(timeout=120)
        expected = sum(body["transaction"]["billAmount"] for body in bodies.values())
        # One more event, sent alone after the race: its side effects show the totals.
        last = purchase("c-final", CUSTOMER, Decimal("0.001"), NOW - timedelta(minutes=1))
        with api(server) as client:
            response = post_json(client, "/v3/events", last)
        seen.record(response, "the final event")
        log = server.tail()
    assert not seen.bad_answers, "\n".join(seen.bad_answers[:10]) + f"\n--- server log\n{log}"
    final = read_json(response)["data"]
    by_target = {effect["targetRuleId"]: effect for effect in final["sideEffects"]}
    assert final["status"] == "APPLIED"
    assert by_target[ids["spend"]]["targetAchievedValueBeforeEvent"] == expected
    assert by_target[ids["bills"]]["targetAchievedValueBeforeEvent"] == count

    # Each eventId applied once; its second copy answered DUPLICATE.
    sent_twice = {event_id for event_id, statuses in seen.statuses.items() if len(statuses) == 2}
    assert len(sent_twice) == duplicates
    for event_id, statuses in seen.statuses.items():
        assert sorted(statuses) == (
            ["APPLIED", "DUPLICATE"] if event_id in sent_twice else ["APPLIED"]
        ), f"{event_id} was answered {statuses}"
    _check_chain("spend", seen.effects[ids["spend"]], expected + Decimal("0.001"))
    _check_chain("bills", seen.effects[ids["bills"]], Decimal(count + 1))

    # The database agrees: one row per eventId, exact totals, a ledger entry per event.
    stored = stored_event_ids(url)
    assert len(stored) == len(set(stored)) == count + 1
    assert set(stored) == {*bodies, "c-final"}
    totals = stored_totals(url)
    assert totals == {
        (ids["spend"], CUSTOMER): (expected + Decimal("0.001"), count + 1),
        (ids["bills"], CUSTOMER): (Decimal(count + 1), count + 1),
    }
    database = Database(url)
    try:
        with database.transaction(write=False) as connection:
            achieved_at = connection.execute(
                select(targets.c.name, user_targets.c.achieved_at).join(
                    targets, targets.c.id == user_targets.c.target_id
                )
            ).all()
    finally:
        database.dispose()
    assert all(at is not None for _, at in achieved_at), achieved_at


def test_six_writers_on_postgresql_count_two_thousand_events_of_one_customer_exactly(
    tmp_path: Path,
) -> None:
    with fresh_postgres_database("milestones_conc") as url:
        _run_case(
            url,
            tmp_path,
            count=2000,
            writers=6,
            singles=400,
            bulk_size=50,
            duplicates=100,
            sales_target=400_000,
            count_target=1000,
        )


def test_four_writers_on_sqlite_count_one_customer_exactly(tmp_path: Path) -> None:
    _run_case(
        f"sqlite:///{tmp_path / 'milestones.db'}",
        tmp_path,
        count=600,
        writers=4,
        singles=150,
        bulk_size=50,
        duplicates=30,
        sales_target=100_000,
        count_target=300,
    )
