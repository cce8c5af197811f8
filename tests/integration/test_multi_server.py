"""Two ``milestones serve`` processes on one PostgreSQL stay exact (SPEC §19).

Server A and server B run over the same migrated database (each one process, no
delivery worker). Four client threads send 4,000 purchases of 50 customers: bulk calls
of mixed customers and one-event calls, each thread alternating between A and B, so
every customer's events are split over both servers and reach them at the same time.
Every customer's totals, read from either server's user view, must equal the sums worked
out here; both servers' leaderboards and ranks must agree with each other and with them.

Then the catalogue across processes (the documented bound: a server validates the org's
groups once per batch): a group created through A counts in B's very next call and is
listed by B's user view at once; deactivated through B, it no longer counts in A's very
next call, nor is it listed by A.
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from milestones import admin
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.integration.test_concurrency import (
    EXECUTABLE,
    NOW,
    ORG_ID,
    REQUEST_SECONDS,
    ROOT,
    STARTUP_SECONDS,
    Server,
    api,
    free_port,
    fresh_postgres_database,
    post_json,
    prepare_database,
    purchase,
    random_amount,
    random_time,
    read_json,
)

CUSTOMERS = range(5001, 5051)
EVENTS = 4000
SINGLES = 200  # one-event calls; the rest go in bulk calls of 20 to 150 mixed customers
THREADS = 4
Json = dict[str, Any]
Call = list[Json]  # the events of one call: one for POST /v3/events, more for bulk


class LeanServer(Server):
    """``milestones serve --no-deliver``, one process; launched and awaited apart, so two
    servers start side by side."""

    name = ""

    def launch(self) -> None:
        self.port = free_port()
        env = {**os.environ, "MILESTONES_NOW": NOW.isoformat(), "MILESTONES_LOG_LEVEL": "warning"}
        env.pop("MILESTONES_DATABASE_URL", None)
        command = [str(EXECUTABLE), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--database", self.url, "--workers", "1", "--no-deliver"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Until ``/ready`` answers 200: the database answers and the schema is current."""
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"server {self.name} exited:\n{self.tail()}")
                with suppress(httpx.HTTPError):
                    if client.get(f"{self.base}/ready").status_code == 200:
                        return
                time.sleep(0.1)
        pytest.fail(f"server {self.name} was not ready in {STARTUP_SECONDS} s:\n{self.tail()}")

    def start(self) -> None:
        self.launch()
        self.wait_ready()


def plan(rng: random.Random) -> tuple[list[Json], list[list[tuple[int, Call]]]]:
    """The events, and per thread its calls in order, each with the server (0 or 1) it goes to.

    Each thread alternates servers call after call (threads start on different ones).
    """
    events = [
        purchase(f"m-{n:04d}", rng.choice(CUSTOMERS), random_amount(rng), random_time(rng))
        for n in range(EVENTS)
    ]
    shuffled = events[:]
    rng.shuffle(shuffled)
    calls: list[Call] = [[one] for one in shuffled[:SINGLES]]
    rest = shuffled[SINGLES:]
    while rest:
        size = rng.randint(20, 150)
        calls.append(rest[:size])
        rest = rest[size:]
    rng.shuffle(calls)
    per_thread: list[list[tuple[int, Call]]] = [[] for _ in range(THREADS)]
    for index, call in enumerate(calls):
        thread = index % THREADS
        per_thread[thread].append(((thread + len(per_thread[thread])) % 2, call))
    return events, per_thread


@dataclass
class Answers:
    """What the senders were answered, gathered across threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    sent_to: Counter[int] = field(default_factory=Counter)

    def record(self, server: int, call: Call, response: httpx.Response) -> None:
        with self.lock:
            if response.status_code != 200:
                self.failures.append(f"{len(call)} event(s) to {server}: {response.text[:300]}")
                return
            data = read_json(response)["data"]
            for result in data.get("results", [data]):
                self.statuses[result["eventId"]].append(result["status"])
            self.sent_to[server] += len(call)


def send(
    servers: list[LeanServer],
    calls: list[tuple[int, Call]],
    start: threading.Barrier,
    answers: Answers,
) -> None:
    with api(servers[0]) as first, api(servers[1]) as second:
        clients = (first, second)
        start.wait(timeout=REQUEST_SECONDS)
        for server, call in calls:
            if len(call) == 1:
                response = post_json(clients[server], "/v3/events", call[0])
            else:
                response = post_json(clients[server], "/v3/events/bulk", {"events": call})
            answers.record(server, call, response)


def applied_on(client: httpx.Client) -> float:
    """``milestones_events_total{status="APPLIED"}`` of one server, from its ``/metrics``."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "milestones_events_total" and sample.labels["status"] == "APPLIED"
    )


def view(client: httpx.Client, user: int) -> Json:
    response = client.get(f"/v3.1/users/{user}/targetGroups")
    assert response.status_code == 200, response.text
    data: Json = read_json(response)["data"]
    return data


def current_values(view_data: Json, group_id: int) -> dict[int, Decimal] | None:
    """targetRuleId → achieved value in the running period; None if the group is not listed."""
    for group in view_data["targetGroups"]:
        if group["id"] == group_id:
            return {
                target["targetRuleId"]: target["targetAchievedValue"]
                for target in group["targets"]
                if target["currentPeriod"]
            }
    return None


def board(client: httpx.Client, group_id: int) -> Json:
    response = client.get(f"/v3.1/leaderboards/targetGroups/{group_id}", params={"pageSize": 100})
    assert response.status_code == 200, response.text
    data: Json = read_json(response)
    return data


def create(client: httpx.Client, body: Json) -> Json:
    response = post_json(client, "/v3/targetGroups", body)
    assert response.status_code == 201, response.text
    data: Json = read_json(response)["data"]
    return data


def faults(server: LeanServer) -> list[str]:
    return [
        line
        for line in server.tail(lines=10_000).splitlines()
        if "ERROR" in line or "Traceback" in line
    ]


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[LeanServer]]:
    """A and B on one fresh, migrated PostgreSQL database with the test's org."""
    with fresh_postgres_database("milestones_multi") as url:
        prepare_database(url)
        database = Database(url)
        try:
            admin.set_org(database, ORG_ID, leaderboards_enabled=True)
        finally:
            database.dispose()
        pair = [LeanServer(url, tmp_path / f"server-{name}.log", workers=1) for name in "AB"]
        with ExitStack() as stack:
            for server, name in zip(pair, "AB", strict=True):
                server.name = name
                stack.callback(server.stop)
                server.launch()
            for server in pair:
                server.wait_ready()
            yield pair


def test_two_servers_on_one_database_count_every_customer_exactly(
    servers: list[LeanServer],
) -> None:
    a, b = servers
    rng = random.Random(2024)
    events, per_thread = plan(rng)
    sums: dict[int, Decimal] = defaultdict(Decimal)
    counts: Counter[int] = Counter()
    for one in events:
        sums[one["userId"]] += one["transaction"]["billAmount"]
        counts[one["userId"]] += 1
    where: dict[int, set[int]] = defaultdict(set)
    for calls in per_thread:
        for server, call in calls:
            for one in call:
                where[one["userId"]].add(server)
    assert sorted(sums) == list(CUSTOMERS)
    assert all(where[user] == {0, 1} for user in CUSTOMERS), "a customer on one server only"

    with api(a) as on_a, api(b) as on_b:
        group = create(
            on_a,
            monthly_spend(
                "Monthly spend",
                leaderboardEnabled=True,
                targets=[
                    {
                        "name": "spend",
                        "targetEntity": "TRANSACTION",
                        "targetType": "SALES",
                        "defaultValue": 40_000,
                    },
                    {
                        "name": "bills",
                        "targetEntity": "TRANSACTION",
                        "targetType": "COUNT",
                        "defaultValue": 100,
                    },
                ],
            ),
        )
        spend_id, bills_id = (target["id"] for target in group["targets"])

        answers = Answers()
        start = threading.Barrier(THREADS)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(send, servers, calls, start, answers) for calls in per_thread]
            for future in futures:
                future.result(timeout=300)
        seconds = time.monotonic() - started
        assert answers.failures == [], answers.failures[:5]
        assert {event_id: s for event_id, s in answers.statuses.items() if s != ["APPLIED"]} == {}
        assert len(answers.statuses) == EVENTS
        print(
            f"{EVENTS} events in {seconds:.1f} s: {answers.sent_to[0]} through A, "
            f"{answers.sent_to[1]} through B"
        )
        # Each server counted what it applied, and only that.
        assert (applied_on(on_a), applied_on(on_b)) == (answers.sent_to[0], answers.sent_to[1])

        # Every customer's totals, read from either server, are the sums worked out here.
        for user in CUSTOMERS:
            expected = {spend_id: sums[user], bills_id: Decimal(counts[user])}
            for name, client in (("A", on_a), ("B", on_b)):
                shown = current_values(view(client, user), group["id"])
                assert shown == expected, f"customer {user} on server {name}"

        # Both leaderboards are the same, and rank the customers by those sums.
        board_a, board_b = board(on_a, group["id"]), board(on_b, group["id"])
        assert board_a == board_b
        entries = board_a["data"]["entries"]
        assert {entry["userId"]: entry["value"] for entry in entries} == sums
        assert [entry["rank"] for entry in entries] == list(range(1, len(CUSTOMERS) + 1))
        values = [entry["value"] for entry in entries]
        assert values == sorted(values, reverse=True)
        assert board_a["data"]["totalRanked"] == len(CUSTOMERS)
        for entry in entries[:: len(CUSTOMERS) // 10]:
            params = {"targetGroupId": group["id"]}
            path = f"/v3.1/leaderboards/user/{entry['userId']}"
            ranks_a, ranks_b = (read_json(c.get(path, params=params)) for c in (on_a, on_b))
            assert ranks_a == ranks_b
            (mine,) = ranks_a["data"]["ranks"]
            assert (mine["rank"], mine["value"]) == (entry["rank"], entry["value"])

        # A group created through A counts in B's very next call.
        bigger = create(
            on_a,
            monthly_spend(
                "Big bills",
                targets=[
                    {
                        "name": "big",
                        "targetEntity": "TRANSACTION",
                        "targetType": "SALES",
                        "expression": "currentTxn.value > 500",
                        "defaultValue": 10_000,
                    }
                ],
            ),
        )
        big_id = bigger["targets"][0]["id"]
        late = [
            purchase(f"late-{n}", user, Decimal("600.500") + n, random_time(rng))
            for n, user in enumerate(CUSTOMERS[:5])
        ]
        response = post_json(on_b, "/v3/events/bulk", {"events": late})
        assert response.status_code == 200, response.text
        for result in read_json(response)["data"]["results"]:
            moved = {effect["targetRuleId"] for effect in result["sideEffects"]}
            assert moved == {spend_id, bills_id, big_id}, result
        for one in late:
            shown = current_values(view(on_b, one["userId"]), bigger["id"])
            assert shown == {big_id: one["transaction"]["billAmount"]}

        # Deactivated through B, it no longer counts in A's very next call, nor is it shown.
        response = on_b.put(f"/v3/targetGroups/{bigger['id']}", json={"active": False})
        assert response.status_code == 200, response.text
        after = purchase("after-off", CUSTOMERS[0], Decimal("700.000"), random_time(rng))
        response = post_json(on_a, "/v3/events", after)
        assert response.status_code == 200, response.text
        moved = {effect["targetRuleId"] for effect in read_json(response)["data"]["sideEffects"]}
        assert moved == {spend_id, bills_id}
        assert current_values(view(on_a, CUSTOMERS[0]), bigger["id"]) is None
        expected_first = {
            spend_id: sums[CUSTOMERS[0]] + Decimal("600.500") + Decimal("700.000"),
            bills_id: Decimal(counts[CUSTOMERS[0]] + 2),
        }
        for client in (on_a, on_b):
            assert current_values(view(client, CUSTOMERS[0]), group["id"]) == expected_first

    for process in servers:
        process.stop()
        assert faults(process) == [], f"server {process.name}"
