"""Readiness and a graceful stop (SPEC §19): what a load balancer and a deploy rely on.

``/ready`` answers 503 (300504, with Retry-After) while the PostgreSQL server is stopped
and 200 once it is back, ``/health`` staying 200 throughout; it answers 503 naming the
revisions while migrations are pending, on both databases. Then SIGTERM in the middle of
a stream of bulk calls: every call in flight is answered, or was not applied at all;
after a restart and a resend of every batch, each customer's total is the sum of their
events, counted here, exactly once.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.settings import Settings
from milestones.store.database import Database, alembic_config
from tests.api.groups import monthly_spend
from tests.conftest import START, make_org
from tests.integration.served import Served, api
from tests.integration.test_concurrency import (
    CLIENT,
    create_group,
    fresh_postgres_database,
    post_json,
    prepare_database,
    purchase,
    read_json,
)
from tests.pg_cluster import primary_server

NOT_READY = 300504
Json = dict[str, Any]


def newest_and_previous() -> tuple[str, str]:
    scripts = ScriptDirectory.from_config(alembic_config())
    newest = scripts.get_current_head()
    assert newest is not None
    previous = scripts.get_revision(newest).down_revision
    assert isinstance(previous, str)
    return newest, previous


class Answer(Protocol):
    """An HTTP answer, from the in-process client or httpx."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


def not_ready(response: Answer) -> str:
    """The message of a 503 answer, checked to be /ready's envelope."""
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["data"] is None
    assert [error["code"] for error in body["errors"]] == [NOT_READY]
    message: str = body["errors"][0]["message"]
    return message


@contextmanager
def app_on(url: str) -> Iterator[tuple[TestClient, Database]]:
    database = Database(url)
    app = create_app(Settings(database_url=url), database=database, clock=Clock(START))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, database
    finally:
        database.dispose()


# --- readiness ----------------------------------------------------------------------------


def test_ready_answers_503_while_the_postgresql_server_is_stopped_and_200_once_it_is_back() -> None:
    newest, _ = newest_and_previous()
    with primary_server() as server, app_on(server.url) as (client, database):
        database.migrate()
        org = make_org(database, Clock(START), 8101)
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["data"] == {"status": "READY", "schema": newest}
        assert client.get("/v3/targetGroups", auth=org.auth).status_code == 200

        # The stop is a crash (immediate) and the throwaway server commits asynchronously:
        # a checkpoint first, so the org made a moment ago is still there after the restart.
        server.sql("CHECKPOINT")
        server.stop()
        for _ in range(3):  # every ask while it is down, not the first alone
            assert "database" in not_ready(client.get("/ready"))
            health = client.get("/health")
            assert health.status_code == 200
            assert health.json()["data"] == {"status": "UP"}

        server.start()
        seen: Counter[int] = Counter()
        deadline = time.monotonic() + 60
        while True:
            answer = client.get("/ready")
            seen[answer.status_code] += 1
            if answer.status_code == 200 or time.monotonic() > deadline:
                break
            not_ready(answer)
            time.sleep(0.1)
        assert answer.status_code == 200, f"/ready still {answer.status_code} 60 s later: {seen}"
        assert set(seen) <= {200, 503}, seen
        assert answer.json()["data"] == {"status": "READY", "schema": newest}
        # The API itself is back too, on connections made after the restart.
        created = client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth)
        assert created.status_code == 201, created.text


@contextmanager
def empty_database(engine: str, tmp_path: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'ready.db'}"
    else:
        with fresh_postgres_database("milestones_ready") as url:
            yield url


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_ready_answers_503_naming_the_revisions_while_migrations_are_pending(
    engine: str, tmp_path: Path
) -> None:
    newest, previous = newest_and_previous()
    with empty_database(engine, tmp_path) as url, app_on(url) as (client, database):
        message = not_ready(client.get("/ready"))
        assert "migrations pending" in message
        assert "none" in message and newest in message

        with database.engine.begin() as connection:
            command.upgrade(alembic_config(connection), previous)
        assert database.schema_revisions() == {previous}
        message = not_ready(client.get("/ready"))
        assert "migrations pending" in message
        assert previous in message and newest in message
        assert client.get("/health").status_code == 200

        database.migrate()
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "data": {"status": "READY", "schema": newest},
            "errors": [],
            "warnings": [],
        }


def test_a_database_a_newer_release_migrated_is_ready_for_this_older_code(tmp_path: Path) -> None:
    """A rolling deploy: the new release migrates first, the old servers still serve."""
    newest, _ = newest_and_previous()
    with app_on(f"sqlite:///{tmp_path / 'newer.db'}") as (client, database):
        database.migrate()
        with database.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["data"] == {"status": "READY", "schema": "9999", "codeSchema": newest}


# --- SIGTERM while bulk calls stream in ---------------------------------------------------------

SENDERS = 4
BATCHES_PER_SENDER = 12
BATCH_SIZE = 100
CUSTOMERS = range(9001, 9025)
SHUTDOWN_SECONDS = 5
ANSWERED_BEFORE_SIGTERM = 8


def make_batches(seed: int) -> list[list[list[Json]]]:
    """Per sender, its batches; every eventId unique, amounts with three decimals."""
    rng = random.Random(seed)
    start = datetime(2024, 8, 1, tzinfo=UTC)
    span = int((START - start).total_seconds()) - 60
    return [
        [
            [
                purchase(
                    f"t-{sender}-{number:02d}-{index:02d}",
                    rng.choice(CUSTOMERS),
                    Decimal(rng.randint(1_000, 999_999)).scaleb(-3),
                    start + timedelta(seconds=rng.randint(0, span)),
                )
                for index in range(BATCH_SIZE)
            ]
            for number in range(BATCHES_PER_SENDER)
        ]
        for sender in range(SENDERS)
    ]


def totals_of(batches: list[list[Json]]) -> dict[int, Decimal]:
    """Each customer's August spend, summed here from the events themselves."""
    spent: dict[int, Decimal] = defaultdict(Decimal)
    for batch in batches:
        for event in batch:
            spent[event["userId"]] += event["transaction"]["billAmount"]
    return dict(spent)


@dataclass
class Call:
    started: float
    ended: float
    status: int | None  # None: no answer (the connection failed)
    results: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class Sender:
    """Posts its batches one after another until one gets no answer."""

    server: Served
    batches: list[list[Json]]
    calls: dict[int, Call] = field(default_factory=dict)
    in_flight: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        with httpx.Client(base_url=self.server.base, auth=CLIENT, timeout=60) as client:
            for number, batch in enumerate(self.batches):
                started = time.monotonic()
                with self.lock:
                    self.in_flight = started
                try:
                    response = post_json(client, "/v3/events/bulk", {"events": batch})
                except httpx.HTTPError as error:
                    self._record(number, Call(started, time.monotonic(), None, error=repr(error)))
                    return
                results = []
                if response.status_code == 200:
                    results = [r["status"] for r in read_json(response)["data"]["results"]]
                call = Call(started, time.monotonic(), response.status_code, results)
                self._record(number, call)
                if response.status_code != 200:
                    call.error = response.text[:300]
                    return

    def _record(self, number: int, call: Call) -> None:
        with self.lock:
            self.calls[number] = call
            self.in_flight = None

    def answered(self) -> int:
        with self.lock:
            return sum(1 for call in self.calls.values() if call.status == 200)


def user_totals(server: Served) -> dict[int, Decimal]:
    """Each customer's achieved spend as the user view shows it."""
    found: dict[int, Decimal] = {}
    with api(server) as client:
        for customer in CUSTOMERS:
            response = client.get(f"/v3.1/users/{customer}/targetGroups")
            assert response.status_code == 200, response.text
            groups = json.loads(response.text, parse_float=Decimal)["data"]["targetGroups"]
            values = [t["targetAchievedValue"] for g in groups for t in g["targets"]]
            assert len(values) <= 1, values
            if values and values[0]:
                found[customer] = Decimal(values[0])
    return found


def resend(server: Served, batches: list[list[Json]]) -> list[list[str]]:
    """Every batch again, four at a time; the statuses each was answered."""
    answers: list[list[str]] = [[] for _ in batches]

    def send(indexes: range) -> None:
        with api(server) as client:
            for index in indexes:
                response = post_json(client, "/v3/events/bulk", {"events": batches[index]})
                if response.status_code != 200:
                    answers[index] = [f"HTTP {response.status_code}: {response.text[:200]}"]
                    continue
                answers[index] = [r["status"] for r in read_json(response)["data"]["results"]]

    threads = [
        threading.Thread(target=send, args=(range(n, len(batches), SENDERS),))
        for n in range(SENDERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@contextmanager
def database_for(engine: str, tmp_path: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'drain.db'}"
    else:
        with fresh_postgres_database("milestones_drain") as url:
            yield url


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_sigterm_during_bulk_calls_answers_those_in_flight_and_loses_or_doubles_nothing(
    engine: str, tmp_path: Path
) -> None:
    plan = make_batches(seed=17)
    everything = [batch for batches in plan for batch in batches]
    rng = random.Random(3)
    with database_for(engine, tmp_path) as url:
        prepare_database(url)
        first = Served(url, tmp_path, name="first", shutdown_seconds=SHUTDOWN_SECONDS)
        second = Served(url, tmp_path, name="second")
        try:
            first.start()
            with api(first) as client:
                spend = {"name": "spend", "targetEntity": "TRANSACTION", "targetType": "SALES"}
                create_group(client, "Monthly spend", [{**spend, "defaultValue": 10**9}])

            senders = [Sender(first, batches) for batches in plan]
            threads = [threading.Thread(target=s.run) for s in senders]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 60
            while sum(s.answered() for s in senders) < ANSWERED_BEFORE_SIGTERM:
                assert time.monotonic() < deadline, "the bulk calls did not get going in 60 s"
                assert all(not s.calls or s.answered() == len(s.calls) for s in senders), [
                    c.error for s in senders for c in s.calls.values() if c.error
                ]
                time.sleep(0.01)
            # Into a call in flight: a random instant within a typical call's first half.
            typical = sorted(c.ended - c.started for s in senders for c in list(s.calls.values()))[
                ANSWERED_BEFORE_SIGTERM // 2
            ]
            busy = next(s for s in senders if s.in_flight is not None)
            moment = (busy.in_flight or time.monotonic()) + rng.uniform(0.1, 0.5) * typical
            time.sleep(max(0.0, moment - time.monotonic()))
            sigterm_at = time.monotonic()
            code = first.terminate(timeout=SHUTDOWN_SECONDS + 30)
            exited_at = time.monotonic()
            for thread in threads:
                thread.join(timeout=60)
                assert not thread.is_alive()

            # A clean exit: uvicorn finishes its shutdown, then ends by the signal it was sent.
            assert code in (0, -signal.SIGTERM), code
            log = first.stderr.read_text()
            assert "Application shutdown complete." in log
            assert "Finished server process" in log
            assert exited_at - sigterm_at < SHUTDOWN_SECONDS + 10

            calls = [
                (n, s.calls.get(b)) for n, s in enumerate(senders) for b in range(len(s.batches))
            ]
            refused = [c for _, c in calls if c is not None and c.status not in (None, 200)]
            assert not refused, [(c.status, c.error) for c in refused]
            answered = {
                (n, b): c
                for n, s in enumerate(senders)
                for b, c in s.calls.items()
                if c.status == 200
            }
            for call in answered.values():
                assert call.results == ["APPLIED"] * BATCH_SIZE
            straddling = [c for c in answered.values() if c.started < sigterm_at < c.ended]
            assert straddling, "no call in flight at SIGTERM was answered: nothing was drained"
            assert all(c.ended <= exited_at for c in answered.values())
            unanswered = [c for s in senders for c in s.calls.values() if c.status is None]
            assert unanswered, "every batch was answered: SIGTERM came too late to test"

            second.start()
            applied = [plan[n][b] for n, b in answered]
            # Answered means applied; a call without an answer applied none of its events.
            assert user_totals(second) == totals_of(applied)

            again = resend(second, everything)
            index = {
                (n, b): n * BATCHES_PER_SENDER + b
                for n in range(SENDERS)
                for b in range(BATCHES_PER_SENDER)
            }
            for key, position in index.items():
                expected = "DUPLICATE" if key in answered else "APPLIED"
                assert again[position] == [expected] * BATCH_SIZE, (key, Counter(again[position]))
            assert user_totals(second) == totals_of(everything)
        finally:
            first.close()
            second.close()
