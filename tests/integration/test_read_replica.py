"""A streaming replica serves the user view and the leaderboards (SPEC §19).

A throwaway primary and a replica made from it by ``pg_basebackup`` (``tests/pg_cluster.py``),
and the app reading with ``MILESTONES_READ_DATABASE_URL`` set to the replica and a lag bound
of 1 s. What an operator sees tells which database served: the
``milestones_db_reads_total{database}`` counter of ``/metrics``. The cases:

- once the replica has caught up, every user view and leaderboard read is served by it,
  and answers exactly what an app reading the primary answers;
- the replica stopped under a reader: not one request fails, the primary serves, and once
  the replica is back (and has replayed what was written meanwhile) it serves again;
- replay paused on the replica: after the bound, reads go to the primary and show what
  was just written; replay resumed, they go back;
- writes never reach the replica: it holds the events only through replication, and its
  server log shows no refused statement (a write on a standby is always refused, logged);
- a replica address that takes connections but never answers costs one read the connect
  timeout, then is left alone: the reads after it are answered by the primary at once.

The last part checks :class:`~milestones.store.reads.Reads` alone, with a fake clock: the
lag is asked at most once a second, and an unreachable replica is left alone 5 s.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
import simplejson
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, event

from milestones import admin
from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.reads import Reads
from tests.api.groups import monthly_spend
from tests.conftest import START, OrgCredentials, make_org
from tests.integration.test_concurrency import free_port, purchase, random_amount, random_time
from tests.pg_cluster import PgServer, primary_server

MAX_LAG = 1.0  # seconds: MILESTONES_READ_MAX_LAG_SECONDS of the app under test
CHECK_EVERY = 1.0  # the replica's lag is asked at most this often
ORG_ID = 71
Json = dict[str, Any]
T = TypeVar("T")


def until(what: str, seconds: float, probe: Callable[[], T | None]) -> T:
    """Poll ``probe`` until it returns something other than None (or False), or fail."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.05)


def post_json(client: TestClient, path: str, body: object) -> Any:
    """Post with decimals written exactly; the answer as the test client gives it."""
    return client.post(
        path,
        content=simplejson.dumps(body, use_decimal=True),
        headers={"content-type": "application/json"},
    )


def decoded(text: str) -> Any:
    """An answer's JSON with its numbers as exact decimals."""
    return simplejson.loads(text, use_decimal=True)


def reads_served(client: TestClient) -> Counter[str]:
    """``milestones_db_reads_total`` by database, from the scraped text."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    served: Counter[str] = Counter()
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "milestones_db_reads_total":
                served[sample.labels["database"]] += int(sample.value)
    return served


def _answers_5xx(client: TestClient) -> dict[str, float]:
    response = client.get("/metrics")
    samples = [
        sample
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "milestones_http_requests_total"
    ]
    assert samples, "no requests counted at all"
    return {str(s.labels): s.value for s in samples if s.labels["status"].startswith("5")}


_5XX_BEFORE: dict[str, float] = {}  # the process's counts when the module began


def server_errors(client: TestClient) -> list[str]:
    """Requests the app answered with a 5xx since the module began, from
    ``milestones_http_requests_total`` (the registry is the test process's: earlier modules
    answered 5xx on purpose)."""
    return [
        f"{labels} {value - _5XX_BEFORE.get(labels, 0.0)}"
        for labels, value in _answers_5xx(client).items()
        if value != _5XX_BEFORE.get(labels, 0.0)
    ]


def refused_on(server: PgServer) -> list[str]:
    """ERROR lines of a PostgreSQL server's log (a write on a standby is one)."""
    return [
        line for line in server.log.read_text(errors="replace").splitlines() if "ERROR:" in line
    ]


@dataclass
class Cluster:
    """The primary, its replica, the app reading from the replica, and what was sent."""

    primary: PgServer
    replica: PgServer
    app: TestClient
    direct: TestClient  # the same primary, no replica: the answers to compare with
    org: OrgCredentials
    group: Json
    rng: random.Random = field(default_factory=lambda: random.Random(17))
    sums: dict[int, Decimal] = field(default_factory=dict)
    counts: Counter[int] = field(default_factory=Counter)
    sent: int = 0

    @property
    def spend_id(self) -> int:
        return int(self.group["targets"][0]["id"])

    @property
    def bills_id(self) -> int:
        return int(self.group["targets"][1]["id"])

    def ingest(self, customers: range, per_customer: int) -> None:
        """A bulk call of ``per_customer`` purchases each; every one APPLIED."""
        events = []
        for user in customers:
            for _ in range(per_customer):
                self.sent += 1
                amount = random_amount(self.rng)
                events.append(purchase(f"r-{self.sent}", user, amount, random_time(self.rng)))
                self.sums[user] = self.sums.get(user, Decimal(0)) + amount
                self.counts[user] += 1
        response = post_json(self.app, "/v3/events/bulk", {"events": events})
        assert response.status_code == 200, response.text
        statuses = Counter(result["status"] for result in decoded(response.text)["data"]["results"])
        assert statuses == {"APPLIED": len(events)}

    def expected(self, user: int) -> tuple[Decimal, Decimal]:
        """(spend, bills) this month, summed here from what was sent."""
        return self.sums.get(user, Decimal(0)), Decimal(self.counts[user])

    def view(self, client: TestClient, user: int) -> Json:
        response = client.get(f"/v3.1/users/{user}/targetGroups")
        assert response.status_code == 200, response.text
        data: Json = decoded(response.text)["data"]
        return data

    def totals(self, view: Json) -> tuple[Decimal, Decimal]:
        """(spend, bills) of the running period, as the user view shows them."""
        (group,) = [g for g in view["targetGroups"] if g["id"] == self.group["id"]]
        by_target = {t["targetRuleId"]: t for t in group["targets"] if t["currentPeriod"]}
        return (
            by_target[self.spend_id]["targetAchievedValue"],
            by_target[self.bills_id]["targetAchievedValue"],
        )

    def board(self, client: TestClient) -> Json:
        response = client.get(
            f"/v3.1/leaderboards/targetGroups/{self.group['id']}",
            params={"pageSize": 100},
        )
        assert response.status_code == 200, response.text
        data: Json = decoded(response.text)["data"]
        return data

    def ranks(self, client: TestClient, user: int) -> Json:
        response = client.get(
            f"/v3.1/leaderboards/user/{user}",
            params={"targetGroupId": self.group["id"]},
        )
        assert response.status_code == 200, response.text
        data: Json = decoded(response.text)["data"]
        return data

    def settle_on_replica(self, customers: range) -> None:
        """Poll until the replica serves every customer's view, and shows their totals."""

        def served_right() -> bool:
            before = reads_served(self.app)
            right = all(
                self.totals(self.view(self.app, user)) == self.expected(user) for user in customers
            )
            after = reads_served(self.app)
            return right and after["replica"] - before["replica"] == len(customers)

        until("the replica serving what was written", 40, served_right)

    def events_on(self, server: PgServer, customers: range | None = None) -> int:
        """Events of the org (of these customers) stored on ``server``, asked directly."""
        users = "" if customers is None else f" AND user_id IN ({', '.join(map(str, customers))})"
        ((count,),) = server.sql(f"SELECT count(*) FROM events WHERE org_id = {ORG_ID}{users}")
        assert isinstance(count, int)
        return count


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with primary_server() as primary:
        clock = Clock(START)
        database = Database(primary.url)
        database.migrate()
        org = make_org(database, clock, ORG_ID, "UTC")
        admin.set_org(database, ORG_ID, leaderboards_enabled=True)
        replica = primary.replica()  # after the migrations: the replica follows from here
        settings = Settings(
            database_url=primary.url, read_database_url=replica.url, read_max_lag_seconds=MAX_LAG
        )
        direct_database = Database(primary.url)
        app = create_app(settings, database=database, clock=clock)
        direct = create_app(
            Settings(database_url=primary.url), database=direct_database, clock=clock
        )
        try:
            with (
                TestClient(app, raise_server_exceptions=False) as app_client,
                TestClient(direct, raise_server_exceptions=False) as direct_client,
            ):
                app_client.auth = direct_client.auth = org.auth
                _5XX_BEFORE.clear()
                # One request counted first: run alone, the module's process has counted none.
                assert app_client.get("/health").status_code == 200
                _5XX_BEFORE.update(_answers_5xx(app_client))
                targets = [
                    {"name": "spend", "targetEntity": "TRANSACTION", "targetType": "SALES"},
                    {"name": "bills", "targetEntity": "TRANSACTION", "targetType": "COUNT"},
                ]
                body = monthly_spend(
                    "Replica month",
                    leaderboardEnabled=True,
                    targets=[
                        targets[0] | {"defaultValue": 5000},
                        targets[1] | {"defaultValue": 20},
                    ],
                )
                response = post_json(app_client, "/v3/targetGroups", body)
                assert response.status_code == 201, response.text
                yield Cluster(
                    primary, replica, app_client, direct_client, org, decoded(response.text)["data"]
                )
        finally:
            app.state.reads.dispose()
            database.dispose()
            direct_database.dispose()
            replica.remove()


def test_user_views_and_leaderboards_are_read_from_the_replica_as_the_primary_has_them(
    cluster: Cluster,
) -> None:
    customers = range(1001, 1011)
    cluster.ingest(customers, per_customer=8)
    cluster.settle_on_replica(customers)
    assert cluster.events_on(cluster.replica, customers) == 80  # replicated, not written there

    before = reads_served(cluster.app)
    views = {user: cluster.view(cluster.app, user) for user in customers}
    board = cluster.board(cluster.app)
    ranks = {user: cluster.ranks(cluster.app, user) for user in customers[:4]}
    after = reads_served(cluster.app)
    assert (after - before) == {"replica": len(views) + 1 + len(ranks)}, "one count per read"

    for user, view in views.items():
        assert cluster.totals(view) == cluster.expected(user), f"customer {user}"
    ranked = {entry["userId"]: entry["value"] for entry in board["entries"]}
    assert ranked == {user: cluster.expected(user)[0] for user in cluster.sums}
    values = [entry["value"] for entry in board["entries"]]
    assert values == sorted(values, reverse=True)
    for user, answer in ranks.items():
        (mine,) = answer["ranks"]
        (entry,) = [e for e in board["entries"] if e["userId"] == user]
        assert (mine["rank"], mine["value"]) == (entry["rank"], entry["value"])

    # The app without a replica, on the primary, answers the very same.
    for user, view in views.items():
        assert cluster.view(cluster.direct, user) == view
    assert cluster.board(cluster.direct) == board
    for user, answer in ranks.items():
        assert cluster.ranks(cluster.direct, user) == answer
    assert server_errors(cluster.app) == []


@dataclass
class Reader:
    """Reads user views in a loop, as a client would, until told to stop."""

    cluster: Cluster
    customers: range
    reads: int = 0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            for user in self.customers:
                try:
                    response = self.cluster.app.get(f"/v3.1/users/{user}/targetGroups")
                    if response.status_code != 200:
                        self.failures.append(f"{user}: HTTP {response.status_code} {response.text}")
                    else:
                        shown = self.cluster.totals(decoded(response.text)["data"])
                        if shown != self.cluster.expected(user):
                            self.failures.append(
                                f"{user}: {shown}, not {self.cluster.expected(user)}"
                            )
                except Exception as error:  # every failure is a finding, reported below
                    self.failures.append(f"{user}: {error!r}")
                self.reads += 1


def test_a_stopped_replica_hands_reads_to_the_primary_without_a_failed_request(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="milestones.reads")
    customers = range(2001, 2006)
    cluster.ingest(customers, per_customer=6)
    cluster.settle_on_replica(customers)

    reader = Reader(cluster, customers)
    thread = threading.Thread(target=reader.run, daemon=True)
    thread.start()
    stopped = False
    try:
        until("the reader under way", 20, lambda: reader.reads >= 10)
        before = reads_served(cluster.app)
        stopped = True
        cluster.replica.stop()
        read_at_stop = reader.reads
        until(
            "reads served by the primary while the replica is down",
            20,
            lambda: reads_served(cluster.app)["primary"] - before["primary"] >= 20,
        )
        # Those may all have been answered while the replica was shutting down, and the
        # read under way when it stopped may take its time limit: the reader goes on after.
        until(
            "reads answered after the replica stopped",
            20,
            lambda: reader.reads >= read_at_stop + 5,
        )

        # Writes do not need the replica: ingestion goes on, and the primary shows it.
        others = range(2101, 2104)
        cluster.ingest(others, per_customer=4)
        for user in others:
            assert cluster.totals(cluster.view(cluster.app, user)) == cluster.expected(user)

        down = reads_served(cluster.app)
        stopped = False
        cluster.replica.start()
        until(
            "reads back on the restarted replica",
            40,
            lambda: reads_served(cluster.app)["replica"] > down["replica"],
        )
    finally:
        reader.stop.set()
        thread.join(timeout=30)
        if stopped:  # failed while it was down: the module's other tests need it back
            cluster.replica.start()
    assert not thread.is_alive(), "the reader is stuck"
    assert reader.failures == [], f"{len(reader.failures)} of {reader.reads} reads failed"
    # The log says where reads went: away from the replica when it went, back when it came.
    messages = [record.getMessage() for record in caplog.records]
    assert any(
        message.startswith(("replica left alone for 5 s", "reads go to the primary"))
        for message in messages
    ), messages
    assert any(message.startswith("reads go to the replica") for message in messages), messages

    # The restarted replica replays what was written while it was down, and serves it.
    cluster.settle_on_replica(others)
    assert cluster.events_on(cluster.replica, others) == 12
    assert server_errors(cluster.app) == []


def test_a_lagging_replica_is_not_read_once_it_is_further_behind_than_the_bound(
    cluster: Cluster,
) -> None:
    customers = range(3001, 3004)
    cluster.ingest(customers, per_customer=5)
    cluster.settle_on_replica(customers)
    cluster.replica.sql("SELECT pg_wal_replay_pause()")
    try:
        until(
            "replay paused",
            20,
            lambda: cluster.replica.sql("SELECT pg_get_wal_replay_pause_state()") == [("paused",)],
        )
        cluster.ingest(customers, per_customer=5)
        written_at = time.monotonic()
        assert cluster.events_on(cluster.primary, customers) == 30
        assert cluster.events_on(cluster.replica, customers) == 15, "the replica is not behind"

        # Past the bound (and the next lag check), every read shows what was just written.
        bound = MAX_LAG + CHECK_EVERY + 3.0  # + slack for this loaded machine
        until(
            "the new totals in the user view",
            bound - (time.monotonic() - written_at),
            lambda: all(
                cluster.totals(cluster.view(cluster.app, user)) == cluster.expected(user)
                for user in customers
            ),
        )
        before = reads_served(cluster.app)
        for user in customers:
            assert cluster.totals(cluster.view(cluster.app, user)) == cluster.expected(user)
        assert cluster.board(cluster.app)["entries"]  # the leaderboard too
        assert (reads_served(cluster.app) - before) == {"primary": len(customers) + 1}
        assert cluster.events_on(cluster.replica, customers) == 15, "replay did not stay paused"
    finally:
        cluster.replica.sql("SELECT pg_wal_replay_resume()")

    # Replay resumed: once it has caught up, the replica serves again.
    cluster.settle_on_replica(customers)
    assert cluster.events_on(cluster.replica, customers) == 30
    assert server_errors(cluster.app) == []


def test_writes_never_go_to_the_replica(cluster: Cluster) -> None:
    customers = range(4001, 4004)
    cluster.ingest(customers, per_customer=3)
    cluster.settle_on_replica(customers)
    assert cluster.events_on(cluster.replica) == cluster.events_on(cluster.primary) == cluster.sent
    # Through this module the replica was read, stopped, restarted, paused: it never
    # refused a statement, so the app never tried to write there.
    assert refused_on(cluster.replica) == []
    assert server_errors(cluster.app) == []

    # What a write on the replica would have left: refused, and in its log.
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        cluster.replica.sql(f"DELETE FROM events WHERE org_id = {ORG_ID}")
    assert any("read-only transaction" in line for line in refused_on(cluster.replica))


def test_a_replica_that_never_answers_costs_one_read_its_connect_timeout_not_every_read(
    cluster: Cluster,
) -> None:
    customers = range(6001, 6003)
    cluster.ingest(customers, per_customer=2)
    database = Database(cluster.primary.url)
    with socket.socket() as silent:  # takes connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        settings = Settings(
            database_url=cluster.primary.url,
            read_database_url=f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/x",
            read_max_lag_seconds=MAX_LAG,
        )
        app = create_app(settings, database=database, clock=Clock(START))
        try:
            with TestClient(app, raise_server_exceptions=False) as client:
                client.auth = cluster.org.auth
                took = []
                before = reads_served(client)
                for n in range(8):
                    user = customers[n % len(customers)]
                    started = time.monotonic()
                    assert cluster.totals(cluster.view(client, user)) == cluster.expected(user)
                    took.append(time.monotonic() - started)
                assert (reads_served(client) - before) == {"primary": 8}
        finally:
            app.state.reads.dispose()
            database.dispose()
    assert took[0] > 4.0, f"the first read did not wait for the replica: {took}"
    assert sum(took[1:]) < 2.5, f"later reads waited for the replica again: {took}"


def _replica_processes(server: PgServer) -> list[int]:
    """The replica's postmaster and every process it started."""
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [postmaster]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def test_a_frozen_replica_costs_one_read_its_time_limit_and_never_the_event_loop(
    cluster: Cluster,
) -> None:
    """SIGSTOP on the replica: a read on it hangs with no error. It is given up on after the
    read time limit and answered by the primary; meanwhile /health still answers at once
    (the wait is off the event loop), and the reads after it go to the primary."""
    customers = range(7001, 7003)
    cluster.ingest(customers, per_customer=2)
    cluster.settle_on_replica(customers)
    frozen = _replica_processes(cluster.replica)

    def thaw() -> None:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)

    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    # Should a read wait on the frozen replica after all, it ends (late, and fails the test)
    # rather than hang the run.
    watchdog = threading.Timer(20.0, thaw)
    watchdog.start()
    try:
        health: list[float] = []
        stop = threading.Event()

        def probe_health() -> None:
            while not stop.is_set():
                started = time.monotonic()
                assert cluster.app.get("/health").status_code == 200
                health.append(time.monotonic() - started)
                time.sleep(0.05)

        prober = threading.Thread(target=probe_health)
        prober.start()
        took = []
        before = reads_served(cluster.app)
        for n in range(4):
            user = customers[n % len(customers)]
            started = time.monotonic()
            assert cluster.totals(cluster.view(cluster.app, user)) == cluster.expected(user)
            took.append(time.monotonic() - started)
        stop.set()
        prober.join()
    finally:
        watchdog.cancel()
        thaw()
    assert (reads_served(cluster.app) - before) == {"primary": 4}
    assert took[0] < 8.0, f"the first read waited past the time limit: {took}"
    assert sum(took[1:]) < 2.5, f"later reads waited for the frozen replica: {took}"
    assert health and max(health) < 1.0, f"/health waited on the replica: {max(health):.1f} s"
    cluster.settle_on_replica(customers)  # thawed, the replica serves again


# --- Reads alone, with a fake clock ---------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedReads(Reads):
    """Reads whose replica lag is what the test says, each time it is asked."""

    def __init__(self, primary: Database, replica: Database, clock: FakeClock) -> None:
        super().__init__(primary, replica, max_lag_seconds=5.0, monotonic=clock)
        self.clock = clock
        self.lags: list[float | None] = []
        self.asked = 0
        self.takes = 0.0  # seconds each check takes on the fake clock

    def lag_seconds(self) -> float | None:
        self.asked += 1
        self.clock.now += self.takes
        return self.lags.pop(0)


def named(path: Path, name: str) -> Database:
    database = Database(f"sqlite:///{path / name}.db")
    with database.transaction() as connection:
        connection.exec_driver_sql("CREATE TABLE whoami (name TEXT)")
        connection.exec_driver_sql(f"INSERT INTO whoami VALUES ('{name}')")
    return database


def whoami(connection: Connection) -> str:
    return str(connection.exec_driver_sql("SELECT name FROM whoami").scalar())


def counted() -> dict[str, float]:
    return {
        where: REGISTRY.get_sample_value("milestones_db_reads_total", {"database": where}) or 0.0
        for where in ("replica", "primary")
    }


@pytest.fixture
def sqlite_pair(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    primary, replica = named(tmp_path, "primary"), named(tmp_path, "replica")
    yield primary, replica
    primary.dispose()
    replica.dispose()


def test_the_replica_lag_is_asked_at_most_once_a_second(
    sqlite_pair: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    reads = ScriptedReads(*sqlite_pair, clock)
    reads.lags = [0.0, 9.0, 5.0]
    served = []
    before = counted()
    for step in (0.0, 0.5, 0.25, 0.25, 0.75, 0.25):
        clock.now += step
        served.append(reads.run(whoami))
    # asked at +0 (0 s behind), +1.0 (9 s: over the bound), +2.0 (5 s: at it, fit)
    assert served == ["replica", "replica", "replica", "primary", "primary", "replica"]
    assert reads.asked == 3
    after = counted()
    assert (after["replica"] - before["replica"], after["primary"] - before["primary"]) == (4, 2)


def test_an_unreachable_replica_is_left_alone_for_five_seconds(
    sqlite_pair: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    reads = ScriptedReads(*sqlite_pair, clock)
    reads.lags = [None, 0.0]
    served = []
    for step in (0.0, 1.0, 2.0, 1.75, 0.25):
        clock.now += step
        served.append(reads.run(whoami))
    assert served == ["primary"] * 4 + ["replica"]
    assert reads.asked == 2  # at +0 and at +5.0, not between


def test_a_lag_check_that_waits_out_its_timeout_still_leaves_the_replica_alone_five_seconds(
    sqlite_pair: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    reads = ScriptedReads(*sqlite_pair, clock)
    reads.lags = [None, 0.0]
    reads.takes = 5.0  # a replica that accepts connections but never answers: the timeout
    assert reads.run(whoami) == "primary"
    reads.takes = 0.0
    served = []
    for step in (0.0, 1.0, 3.75, 0.25):  # 0, 1, 4.75 and 5 s after the check ended
        clock.now += step
        served.append(reads.run(whoami))
    assert served == ["primary"] * 3 + ["replica"]
    assert reads.asked == 2


def test_a_read_that_loses_the_replica_is_answered_by_the_primary_at_once(
    tmp_path: Path,
) -> None:
    primary = named(tmp_path, "primary")
    gone = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    attempts: list[float] = []
    clock = FakeClock()
    event.listen(gone.engine, "do_connect", lambda *_: attempts.append(clock.now))
    try:
        reads = ScriptedReads(primary, gone, clock)
        reads.lags = [0.0, 0.0]  # the lag check says fine; the read itself cannot connect
        served = []
        for step in (0.0, 1.0, 3.75, 0.25):
            clock.now += step
            served.append(reads.run(whoami))
        assert served == ["primary"] * 4
        assert attempts == [1000.0, 1005.0], "tried again only after 5 s"
        assert reads.asked == 2
    finally:
        primary.dispose()
        gone.dispose()


def test_a_reads_own_error_on_the_replica_is_raised_and_the_replica_kept(
    sqlite_pair: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    reads = ScriptedReads(*sqlite_pair, clock)
    reads.lags = [0.0]

    def broken(connection: Connection) -> str:
        raise LookupError(whoami(connection))

    with pytest.raises(LookupError, match="replica"):
        reads.run(broken)
    clock.now += 0.5
    assert reads.run(whoami) == "replica"
    assert reads.asked == 1
