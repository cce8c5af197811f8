"""``GET /metrics`` after known traffic: every counter says exactly what was sent (SPEC §19).

In-process (the app on each database), the client's registry belongs to the whole test
process, so the checks compare two scrapes: what moved between them is what the traffic
between them made, request by request and event by event, and nothing else moved. Then
once through ``milestones serve --workers 2`` on PostgreSQL: requests are spread over
both worker processes (the test knows which process holds each of its connections, from
``/proc``), and a scrape answered by either process counts every request of both.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.settings import Settings
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials
from tests.integration.served import group_processes, serving, socket_owners
from tests.integration.test_concurrency import CLIENT, fresh_postgres_database, prepare_database

Json = dict[str, Any]
Labels = tuple[tuple[str, str], ...]
Samples = dict[str, dict[Labels, float]]
UNAUTHENTICATED = 300010
SALES_TARGET = 1000


# --- reading a scrape ---------------------------------------------------------------------


def samples(text: str) -> Samples:
    """Sample name → labels → value, over every family of a scrape."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            found.setdefault(sample.name, {})[labels] = sample.value
    return found


def moved(before: Samples, after: Samples, name: str) -> dict[Labels, float]:
    """What a sample moved by between two scrapes, by labels; what did not move is left out."""
    delta: dict[Labels, float] = {}
    old = before.get(name, {})
    for labels, value in after.get(name, {}).items():
        change = round(value - old.get(labels, 0.0), 9)
        if change:
            delta[labels] = change
    for labels in old:
        assert labels in after.get(name, {}), f"{name}{dict(labels)} vanished from the scrape"
    return delta


def requests(*entries: tuple[str, str, int, int]) -> Counter[Labels]:
    """(method, route, status, count) as the labels of milestones_http_requests_total."""
    counted: Counter[Labels] = Counter()
    for method, route, status, count in entries:
        counted[(("method", method), ("route", route), ("status", str(status)))] += count
    return counted


def by(label: str, counts: dict[str, int]) -> Counter[Labels]:
    return Counter({((label, key),): value for key, value in counts.items() if value})


def unlabelled(value: float) -> Counter[Labels]:
    return Counter({(): value} if value else {})


# --- the traffic ------------------------------------------------------------------------------


def bill(event_id: str, user: int, amount: int, at: str = "2024-08-20T10:00:00.000Z") -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount},
    }


def visit(event_id: str, user: int) -> Json:
    """An event no target counts: NO_MATCH."""
    return {
        "eventId": event_id,
        "eventName": "StoreVisit",
        "userId": user,
        "eventTime": "2024-08-21T10:00:00.000Z",
    }


def future(event_id: str, user: int) -> Json:
    """An eventTime years after the clock: REJECTED."""
    return bill(event_id, user, 10, at="2031-01-01T00:00:00.000Z")


@dataclass
class Plan:
    """The calls of the known traffic, and what each event must be answered."""

    singles: list[tuple[Json, str]]
    bulks: list[list[tuple[Json, str]]]

    @property
    def events(self) -> list[tuple[Json, str]]:
        return self.singles + [entry for bulk in self.bulks for entry in bulk]

    def statuses(self) -> dict[str, int]:
        return dict(Counter(status for _, status in self.events))

    def achievers(self) -> int:
        """Customers whose APPLIED bills reach the 1,000 sales target (worked out here)."""
        spent: Counter[int] = Counter()
        for event, status in self.events:
            if status == "APPLIED":
                spent[event["userId"]] += event["transaction"]["billAmount"]
        return sum(1 for total in spent.values() if total >= SALES_TARGET)


def the_plan(prefix: str, first_customer: int = 101) -> Plan:
    """Singles of every status, two bulk calls mixing them, for four new customers: the first
    crosses 1,000 through single calls, the second through bulk calls, two stay under."""
    p = prefix
    c1, c2, c3, c4 = range(first_customer, first_customer + 4)
    singles = [
        (bill(f"{p}s1", c1, 400), "APPLIED"),
        (bill(f"{p}s2", c1, 700), "APPLIED"),
        (bill(f"{p}s1", c1, 400), "DUPLICATE"),
        (visit(f"{p}s3", c1), "NO_MATCH"),
        (future(f"{p}s4", c1), "REJECTED"),
        (bill(f"{p}s5", c3, 250), "APPLIED"),
    ]
    bulks = [
        [
            (bill(f"{p}b1", c2, 600), "APPLIED"),
            (bill(f"{p}b2", c4, 30), "APPLIED"),
            (bill(f"{p}s2", c1, 700), "DUPLICATE"),
            (future(f"{p}b3", c2), "REJECTED"),
            (visit(f"{p}b4", c4), "NO_MATCH"),
        ],
        [
            (bill(f"{p}b5", c2, 450), "APPLIED"),
            (visit(f"{p}b6", c3), "NO_MATCH"),
            (bill(f"{p}b1", c2, 600), "DUPLICATE"),
        ],
    ]
    return Plan(singles, bulks)


def answered_statuses(body: Json) -> list[str]:
    data = body["data"]
    return [result["status"] for result in data.get("results", [data])]


def side_effects(body: Json) -> int:
    data = body["data"]
    return sum(len(result["sideEffects"]) for result in data.get("results", [data]))


# --- in-process, on each database ------------------------------------------------------------


def test_the_counters_move_by_exactly_the_known_traffic(
    client: TestClient, org: OrgCredentials
) -> None:
    created = client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth)
    assert created.status_code == 201, created.text
    plan = the_plan("m-")
    first = client.get("/metrics")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")

    sent: Counter[Labels] = requests(("GET", "/metrics", 200, 1))
    answered: list[str] = []
    effects = 0
    for event, expected in plan.singles:
        response = client.post("/v3/events", json=event, auth=org.auth)
        assert response.status_code == (400 if expected == "REJECTED" else 200), response.text
        sent += requests(("POST", "/v3/events", response.status_code, 1))
        answered += answered_statuses(response.json())
        effects += side_effects(response.json())
    for bulk in plan.bulks:
        response = client.post(
            "/v3/events/bulk", json={"events": [event for event, _ in bulk]}, auth=org.auth
        )
        assert response.status_code == 200, response.text
        sent += requests(("POST", "/v3/events/bulk", 200, 1))
        answered += answered_statuses(response.json())
        effects += side_effects(response.json())
    assert answered == [status for _, status in plan.events]
    # One target, one user target per applied bill: one side effect each.
    assert effects == plan.statuses()["APPLIED"]

    assert client.get("/v3/nowhere", auth=org.auth).status_code == 404
    assert client.get("/v3/nowhere/else").status_code == 404
    assert client.get("/v3/targetGroups/987654", auth=org.auth).status_code == 404
    assert client.get("/v3/targetGroups", auth=(org.client_id, "wrong")).status_code == 401
    assert client.get("/v3/targetGroups", auth=(org.client_id, "wrong")).status_code == 401
    assert client.get("/v3/targetGroups").status_code == 401
    sent += requests(
        ("GET", "unmatched", 404, 2),
        ("GET", "/v3/targetGroups/{groupId}", 404, 1),
        ("GET", "/v3/targetGroups", 401, 3),
    )
    feed = client.get("/v3/notifications", params={"limit": 1000}, auth=org.auth)
    assert feed.status_code == 200
    sent += requests(("GET", "/v3/notifications", 200, 1))

    second = client.get("/metrics")
    assert second.status_code == 200
    before, after = samples(first.text), samples(second.text)

    assert moved(before, after, "milestones_http_requests_total") == sent
    assert moved(before, after, "milestones_http_request_duration_seconds_count") == sent
    infinite = moved(before, after, "milestones_http_request_duration_seconds_bucket")
    assert Counter({k: v for k, v in infinite.items() if ("le", "+Inf") in k}) == Counter(
        {(("le", "+Inf"), *labels): n for labels, n in sent.items()}
    )
    durations = moved(before, after, "milestones_http_request_duration_seconds_sum")
    assert set(durations) == set(sent)
    assert all(seconds > 0 for seconds in durations.values())

    assert moved(before, after, "milestones_events_total") == by("status", plan.statuses())
    assert moved(before, after, "milestones_side_effects_total") == unlabelled(effects)
    calls = len(plan.singles) + len(plan.bulks)
    assert moved(before, after, "milestones_batch_events_count") == unlabelled(calls)
    assert moved(before, after, "milestones_batch_events_sum") == unlabelled(len(plan.events))

    notified = Counter(item["type"] for item in feed.json()["data"])
    assert notified["target.achieved"] == plan.achievers() == 2
    assert moved(before, after, "milestones_notifications_total") == by("type", dict(notified))


def test_metrics_are_behind_the_metrics_token_when_it_is_set(
    database: Database, clock: Clock, org: OrgCredentials
) -> None:
    settings = Settings(database_url=database.url, metrics_token="scrape-me-7Hq")
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        refused = [
            client.get("/metrics"),
            client.get("/metrics", headers={"Authorization": "Bearer scrape-me-7Hx"}),
            client.get("/metrics", headers={"Authorization": "Bearer scrape-me-7Hq "}),
            client.get("/metrics", headers={"Authorization": "scrape-me-7Hq"}),
            client.get("/metrics", auth=org.auth),
        ]
        for response in refused:
            assert response.status_code == 401, response.text
            body = response.json()
            assert body["data"] is None
            assert [error["code"] for error in body["errors"]] == [UNAUTHENTICATED]
            assert "milestones_" not in response.text
        allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-7Hq"})
        assert allowed.status_code == 200
        assert "milestones_http_requests_total" in samples(allowed.text)
        # The other routes do not take the metrics token for credentials.
        other = client.get("/v3/targetGroups", headers={"Authorization": "Bearer scrape-me-7Hq"})
        assert other.status_code == 401


_NAME = re.compile(r"milestones_[a-z][a-z0-9_]*")


def check_names(text: str) -> list[str]:
    """Every ``milestones_`` family of a scrape, checked against Prometheus' conventions."""
    declared = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE))
    names = []
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("milestones_"):
            continue
        exposed = family.name + "_total" if family.type == "counter" else family.name
        assert declared.get(exposed) == family.type, (
            f"{family.type} {family.name} is not declared as {exposed}"
        )
        names.append(exposed)
        assert _NAME.fullmatch(exposed), exposed
        if family.type == "counter":
            assert all(s.name == exposed for s in family.samples), family.samples
        else:
            assert not exposed.endswith("_total"), f"{family.type} {exposed} ends in _total"
        words = exposed.split("_")
        if {"duration", "latency", "time", "age", "lag"} & set(words):
            assert exposed.endswith("_seconds"), f"{exposed} measures time, not in _seconds"
        for unit in ("milliseconds", "ms", "millis", "minutes", "hours"):
            assert unit not in words, f"{exposed}: durations are in seconds"
    return names


def test_every_milestones_metric_name_follows_the_prometheus_conventions(
    client: TestClient, org: OrgCredentials
) -> None:
    assert client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth).status_code == 201
    assert client.post("/v3/events", json=bill("n-1", 101, 1200), auth=org.auth).status_code == 200
    assert client.get("/v3.1/users/101/targetGroups", auth=org.auth).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    names = check_names(response.text)
    # The families of SPEC §19 are all there, by these names.
    assert set(names) >= {
        "milestones_http_requests_total",
        "milestones_http_request_duration_seconds",
        "milestones_events_total",
        "milestones_side_effects_total",
        "milestones_batch_events",
        "milestones_notifications_total",
        "milestones_webhook_deliveries_total",
        "milestones_webhook_delivery_duration_seconds",
        "milestones_webhook_deliveries_pending",
        "milestones_db_pool_connections_in_use",
        "milestones_db_pool_connections",
        "milestones_db_reads_total",
    }


# --- served with two worker processes -----------------------------------------------------------


class Connection:
    """One kept-alive TCP connection to the server: the test knows which process holds it."""

    def __init__(self, port: int) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.http.connect()
        assert self.http.sock is not None
        self.port: int = self.http.sock.getsockname()[1]
        self.owner = 0

    def call(
        self, method: str, path: str, body: object = None, auth: tuple[str, str] | None = CLIENT
    ) -> tuple[int, str]:
        headers = {}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.http.request(method, path, body=content, headers=headers)
        response = self.http.getresponse()
        text = response.read().decode()
        # A connection the server closed would be opened again, maybe on the other process.
        assert self.http.sock is not None and self.http.sock.getsockname()[1] == self.port, (
            "the server closed a kept-alive connection"
        )
        return response.status, text

    def close(self) -> None:
        self.http.close()


def connections_on_every_worker(port: int, leader: int, workers: int) -> list[Connection]:
    """Connections opened until each worker process holds at least two of them."""
    opened: list[Connection] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(opened) < 60:
        connection = Connection(port)
        status, _ = connection.call("GET", "/health", auth=None)
        assert status == 200
        opened.append(connection)
        owners = socket_owners(group_processes(leader), port)
        for each in opened:
            each.owner = owners.get(each.port, 0)
        held = Counter(each.owner for each in opened)
        assert 0 not in held, "a connection whose server end no process of the server holds"
        assert leader not in held, "the supervisor itself holds a connection"
        if len(held) == workers and min(held.values()) >= 2:
            return opened
    pytest.fail(
        f"the connections did not reach {workers} workers: {Counter(c.owner for c in opened)}"
    )


def test_two_worker_processes_are_counted_together_whichever_answers_the_scrape(
    tmp_path: Path,
) -> None:
    with fresh_postgres_database("milestones_metrics") as url:
        prepare_database(url)
        with serving(url, tmp_path, workers=2) as server:
            connections = connections_on_every_worker(server.port, server.pid, workers=2)
            try:
                served_twice(server.health_answers, connections)
            finally:
                for connection in connections:
                    connection.close()


def served_twice(health_answers: int, connections: list[Connection]) -> None:
    """Known traffic, each call on the other process than the last; then a scrape on each."""
    workers = sorted({c.owner for c in connections})
    lanes = [[c for c in connections if c.owner == worker] for worker in workers]
    served_by: Counter[int] = Counter()
    sent = requests(("GET", "/health", 200, health_answers + len(connections)))
    turn = 0

    def call(method: str, path: str, body: object = None, **auth: Any) -> tuple[int, str]:
        nonlocal sent, turn
        lane = lanes[turn % len(lanes)]
        connection = lane[(turn // len(lanes)) % len(lane)]
        turn += 1
        code, text = connection.call(method, path, body, **auth)
        route = "unmatched" if path.startswith("/v3/missing") else path.split("?")[0]
        sent += requests((method, route, code, 1))
        served_by[connection.owner] += 1
        return code, text

    code, text = call("POST", "/v3/targetGroups", monthly_spend())
    assert code == 201, text
    answered: Counter[str] = Counter()
    expected: Counter[str] = Counter()
    batches = events = achievers = 0
    for round_ in range(4):
        plan = the_plan(f"w{round_}-", first_customer=100 * (round_ + 1) + 1)
        for event, status in plan.singles:
            code, text = call("POST", "/v3/events", event)
            assert code == (400 if status == "REJECTED" else 200), text
            answered.update(answered_statuses(json.loads(text)))
        for bulk in plan.bulks:
            code, text = call("POST", "/v3/events/bulk", {"events": [e for e, _ in bulk]})
            assert code == 200, text
            answered.update(answered_statuses(json.loads(text)))
        expected.update(plan.statuses())
        batches += len(plan.singles) + len(plan.bulks)
        events += len(plan.events)
        achievers += plan.achievers()
    assert answered == expected
    for index in range(6):
        assert call("GET", f"/v3/missing/{index}")[0] == 404
    for _ in range(4):
        assert call("GET", "/v3/targetGroups", auth=(CLIENT[0], "not-the-secret"))[0] == 401
    code, text = call("GET", "/v3/notifications?limit=1000")
    assert code == 200, text
    notified = Counter(item["type"] for item in json.loads(text)["data"])
    assert notified["target.achieved"] == achievers == 8
    assert set(served_by) == set(workers)
    assert min(served_by.values()) >= 20, served_by

    # A scrape through each process: each counts what both served, exactly.
    for lane in lanes:
        code, text = lane[0].call("GET", "/metrics", auth=None)
        assert code == 200
        scrape = samples(text)
        assert moved({}, scrape, "milestones_http_requests_total") == sent
        assert moved({}, scrape, "milestones_http_request_duration_seconds_count") == sent
        assert moved({}, scrape, "milestones_events_total") == by("status", dict(expected))
        assert moved({}, scrape, "milestones_side_effects_total") == unlabelled(expected["APPLIED"])
        assert moved({}, scrape, "milestones_batch_events_count") == unlabelled(batches)
        assert moved({}, scrape, "milestones_batch_events_sum") == unlabelled(events)
        assert moved({}, scrape, "milestones_notifications_total") == by("type", dict(notified))
        check_names(text)
        sent += requests(("GET", "/metrics", 200, 1))


def test_a_call_rolled_back_counts_no_event_and_no_notification(
    database: Database, clock: Clock, org: OrgCredentials
) -> None:
    # Chunks of two events: the first chunk achieves a target (its notifications are
    # written), a later one takes a running total past the engine's largest value, and
    # the whole call is refused and rolled back.
    settings = Settings(database_url=database.url, bulk_chunk_events=2)
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert (
            client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth).status_code == 201
        )
        before = samples(client.get("/metrics").text)
        too_big = [bill(f"r-big-{n}", 301, 999_999_999_999_999) for n in range(12)]
        events = [bill("r-1", 300, 1500), bill("r-2", 300, 5), *too_big]
        response = client.post("/v3/events/bulk", json={"events": events}, auth=org.auth)
        assert response.status_code == 400, response.text
        feed = client.get("/v3/notifications", auth=org.auth)
        assert feed.status_code == 200 and feed.json()["data"] == []
        after = samples(client.get("/metrics").text)
    assert moved(before, after, "milestones_notifications_total") == {}
    assert moved(before, after, "milestones_events_total") == {}
    assert moved(before, after, "milestones_side_effects_total") == {}
    assert moved(before, after, "milestones_batch_events_count") == {}
