"""A one-event call on SQLite runs in the event loop, and never waits there for a lock.

``POST /v3/events`` applies its event in the event loop when no other connection holds a
SQLite lock (no hop to a worker thread). Such a transaction may not wait: while another
connection holds the write lock it gives up at once, having done nothing, and the call
goes to a worker thread, which waits for the lock as any writer does. Meanwhile the
event loop keeps answering other requests. Only a call known to be short is applied in
the loop (a built catalogue, few targets and lines, no return).
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones.api.app import create_app
from milestones.api.events.router import INLINE_LINES, INLINE_TARGETS, short
from milestones.clock import Clock
from milestones.settings import Settings
from milestones.store.database import BUSY_TIMEOUT_MS, Busy, Database
from tests.api.groups import monthly_spend
from tests.api.test_event_answers import purchase
from tests.conftest import START, OrgCredentials, make_org


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    path = tmp_path / "milestones.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def writer_lock(sqlite_database: Database) -> Iterator[sqlite3.Connection]:
    """Another connection to the same file, holding nothing until a test begins on it."""
    path = sqlite_database.engine.url.database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    yield other
    other.close()


def _busy_timeout(database: Database) -> int:
    with database.transaction(write=False) as connection:
        return int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one())


def test_a_transaction_that_may_not_wait_gives_up_at_once_and_keeps_the_connection_patient(
    sqlite_database: Database, writer_lock: sqlite3.Connection
) -> None:
    with sqlite_database.transaction(wait=False) as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 0
    writer_lock.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Busy), sqlite_database.transaction(wait=False) as connection:
            raise AssertionError("the write lock is held: this block must not run")
    finally:
        writer_lock.execute("ROLLBACK")
    # Whatever pooled connection served the refused transaction waits again as usual.
    assert _busy_timeout(sqlite_database) == BUSY_TIMEOUT_MS


def test_a_call_that_finds_the_write_lock_held_waits_for_it_off_the_loop_and_applies_once(
    sqlite_database: Database, writer_lock: sqlite3.Connection
) -> None:
    clock = Clock(START)
    org = make_org(sqlite_database, clock, 50363)
    app = create_app(
        Settings(database_url=sqlite_database.url), database=sqlite_database, clock=clock
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        created = client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth)
        assert created.status_code == 201, created.text
        assert _post(client, org, purchase("B-1", 7001, 300, "2024-08-25T06:00:00.000Z")) == 300

        writer_lock.execute("BEGIN IMMEDIATE")
        answers: list[Any] = []
        call = threading.Thread(
            target=lambda: answers.append(
                _post(client, org, purchase("B-2", 7001, 450, "2024-08-26T06:00:00.000Z"))
            )
        )
        try:
            call.start()
            call.join(timeout=1.0)
            assert call.is_alive(), "the call must wait for the write lock, not fail"
            # The call waits in a worker thread: the event loop answers meanwhile.
            assert client.get("/health").status_code == 200
            assert (
                client.get("/v3.1/users/7001/targetGroups", auth=org.auth).json()["data"][
                    "targetGroups"
                ][0]["targets"][0]["targetAchievedValue"]
                == 300
            )
        finally:
            writer_lock.execute("ROLLBACK")
        call.join(timeout=30)
        assert answers == [750], "applied once, after the lock was let go"
        # The same event again is a duplicate: nothing was applied twice.
        again = client.post(
            "/v3/events", json=purchase("B-2", 7001, 450, "2024-08-26T06:00:00.000Z"), auth=org.auth
        )
        assert again.json()["data"]["status"] == "DUPLICATE"
        view = client.get("/v3.1/users/7001/targetGroups", auth=org.auth).json()["data"]
        assert view["targetGroups"][0]["targets"][0]["targetAchievedValue"] == 750


def _post(client: TestClient, org: OrgCredentials, event: dict[str, Any]) -> Any:
    """The customer's value after the event, from the call's one side effect."""
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["status"] == "APPLIED", data
    (effect,) = data["sideEffects"]
    return effect["targetAchievedValueAfterEvent"]


def test_only_a_call_known_to_be_short_is_applied_in_the_loop(sqlite_database: Database) -> None:
    clock = Clock(START)
    org = make_org(sqlite_database, clock, 50363)
    app = create_app(
        Settings(database_url=sqlite_database.url), database=sqlite_database, clock=clock
    )
    engine = app.state.engine_context
    small = purchase("B-1", 7001, 300, "2024-08-25T06:00:00.000Z")
    many_lines = purchase("B-2", 7001, 300, "2024-08-25T06:00:00.000Z")
    many_lines["transaction"]["lineItems"] = [
        {"itemCode": f"SKU{n}", "qty": 1, "rate": 1, "amount": 1} for n in range(INLINE_LINES + 1)
    ]
    a_return = {**small, "eventId": "R-1", "eventName": "ReturnBill", "return": {}}
    targets = [
        {
            "name": f"spend {n}",
            "targetEntity": "TRANSACTION",
            "targetType": "SALES",
            "defaultValue": 1000,
        }
        for n in range(INLINE_TARGETS // 2 + 1)
    ]
    with TestClient(app, raise_server_exceptions=False) as client:
        created = client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth)
        assert created.status_code == 201, created.text
        # The org's catalogue is not built yet: building it may take long, off the loop.
        assert not short(engine, org.org_id, small)
        assert _post(client, org, small) == 300
        assert short(engine, org.org_id, small)
        assert short(engine, org.org_id, {"eventName": ["not", "a", "name"]})
        assert not short(engine, org.org_id, many_lines)
        assert not short(engine, org.org_id, a_return)
        for name in ("Half", "Other half"):
            body = monthly_spend(name, targets=targets)
            assert client.post("/v3/targetGroups", json=body, auth=org.auth).status_code == 201
        second = purchase("B-3", 7002, 300, "2024-08-25T06:00:00.000Z")
        assert client.post("/v3/events", json=second, auth=org.auth).status_code == 200
        # Now 1 + 2 * 26 targets listen to a purchase: more than the loop takes.
        assert not short(engine, org.org_id, small)
