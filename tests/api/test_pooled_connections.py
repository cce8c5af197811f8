"""PostgreSQL's pooled connections: a connection the server has ended is never handed to
a request, and a busy pool checks its connections without a round trip each time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from milestones.store import database as database_module
from milestones.store.database import Database


@pytest.fixture
def pg(postgres_migrated: str) -> Iterator[Database]:
    db = Database(postgres_migrated)
    yield db
    db.dispose()


def _backend_pid(db: Database) -> int:
    with db.transaction(write=False) as connection:
        return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(url: str, pid: int) -> None:
    """End one server process as ``pg_ctl restart`` ends them all, and wait until it is gone."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, "the server process did not end"
            time.sleep(0.02)


def test_a_pooled_connection_the_server_ended_is_replaced_before_a_request_uses_it(
    pg: Database, postgres_migrated: str
) -> None:
    first = _backend_pid(pg)  # the connection goes back to the pool, idle
    _terminate(postgres_migrated, first)
    # The next transaction gets a live connection: no error reaches the request.
    second = _backend_pid(pg)
    assert second != first
    assert _backend_pid(pg) == second  # and the new one is kept


def test_a_busy_pool_pings_only_connections_idle_past_the_limit(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[Any] = []
    real_ping = pg.engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(pg.engine.dialect, "do_ping", counted)
    _backend_pid(pg)  # a new connection: nothing to check
    for _ in range(5):
        _backend_pid(pg)  # back in use within milliseconds, nothing waiting on it
    assert pings == []
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    _backend_pid(pg)
    assert len(pings) == 1


def test_a_connection_read_without_a_transaction_goes_back_to_the_pool_transactional(
    pg: Database,
) -> None:
    """The user view reads in autocommit; the writer that gets its connection next must
    still have all or nothing."""
    with pg.reading() as connection:
        reader = int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    with pytest.raises(RuntimeError), pg.transaction() as connection:
        assert int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) == reader
        connection.exec_driver_sql(
            "INSERT INTO orgs (id, name, time_zone, retro_buffer_days, revoke_on_return,"
            " leaderboards_enabled, created_at) VALUES (987654, 'half', 'UTC', 0, false, false, now())"
        )
        raise RuntimeError("the request fails after its first write")
    with pg.reading() as connection:
        rows = connection.exec_driver_sql("SELECT count(*) FROM orgs WHERE id = 987654")
        assert rows.scalar_one() == 0
