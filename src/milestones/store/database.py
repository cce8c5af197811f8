"""Engines, transactions and migrations for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import select
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any

import simplejson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError

from milestones.store import outbox

MIGRATIONS = Path(__file__).parent / "migrations"
# Set by whoever runs a unit of work that may be given up on (the API, per request): once
# the event is set, no transaction of that work commits (see ``Database.transaction``).
ABANDONED: ContextVar[threading.Event | None] = ContextVar("milestones_abandoned", default=None)


# How long a SQLite statement waits for another connection's lock before it fails.
BUSY_TIMEOUT_MS = 30_000


class Busy(Exception):
    """A transaction that may not wait found a lock held (``transaction(wait=False)``)."""


def is_busy(exc: OperationalError) -> bool:
    """Whether SQLite refused for a lock another connection holds (SQLITE_BUSY)."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def _busy_timeout(connection: Connection, milliseconds: int) -> None:
    """Set SQLite's busy timeout on the connection's driver connection."""
    driver = connection.connection.driver_connection
    driver.execute(f"PRAGMA busy_timeout={int(milliseconds)}")  # type: ignore[union-attr]


class Abandoned(Exception):
    """The request a transaction belongs to was given up on (a shutdown's deadline passed):
    it is rolled back rather than committed for an answer nobody will read."""


# JSON columns keep decimals exact both ways.
json_text = partial(simplejson.dumps, use_decimal=True)
json_value = partial(simplejson.loads, use_decimal=True)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs and make SQLite folders exist."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return url


class Database:
    """One engine and the way every request or batch opens its single transaction."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = _create_engine(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self, *, write: bool = True, wait: bool = True) -> Iterator[Connection]:
        """Open a transaction: commit when the block ends, roll back if it raises.

        Notifications the block wrote get their sequences last, just before the commit
        (:func:`milestones.store.outbox.seal`), and are counted once it has committed. A
        transaction of a request given up on (:data:`ABANDONED`) is rolled back instead.

        ``wait=False`` (SQLite): the transaction does not wait for the write lock or any
        other lock; while another connection holds one it raises :class:`Busy` at once,
        having done nothing. For work run in the event loop, which must never block.
        """
        with self.engine.connect() as connection:
            nowait = not wait and self.is_sqlite
            if nowait:
                _busy_timeout(connection, 0)
            try:
                if write and self.is_sqlite:
                    connection = connection.execution_options(sqlite_immediate=True)
                with connection.begin():
                    outbox.forget(connection)
                    yield connection
                    outbox.seal(connection)
                    abandoned = ABANDONED.get()
                    if abandoned is not None and abandoned.is_set():
                        raise Abandoned("the request was given up on before its commit")
                outbox.committed(connection)
            except OperationalError as exc:
                if nowait and is_busy(exc):
                    raise Busy("another connection holds a lock") from exc
                raise
            finally:
                if nowait and not connection.invalidated:
                    _busy_timeout(connection, BUSY_TIMEOUT_MS)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for a request that only reads (the user view, the leaderboards).

        SQLite: a read transaction, so every statement sees the same snapshot. PostgreSQL:
        no transaction at all (autocommit). Under PostgreSQL's READ COMMITTED each
        statement sees its own snapshot inside a transaction too, so a read of several
        statements is no less consistent without one; it saves BEGIN and COMMIT, measured
        at about 200 µs of a 1.9 ms user view. The connection goes back to the pool in its
        usual mode (SQLAlchemy resets the isolation level on check-in). Nothing written
        through it would be atomic: write through :meth:`transaction`.
        """
        if self.is_sqlite:
            with self.transaction(write=False) as connection:
                yield connection
            return
        with self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")

    def schema_revisions(self) -> set[str]:
        """The Alembic revisions the database is at (empty before the first migration)."""
        with self.transaction(write=False) as connection:
            if not inspect(connection).has_table("alembic_version"):
                return set()
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            return {str(row[0]) for row in rows}

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        with self.engine.begin() as connection:
            config = alembic_config(connection)
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# A pooled PostgreSQL connection idle longer than this is pinged (one round trip) before use.
PING_AFTER_IDLE_SECONDS = 10.0
_CHECKED_IN_AT = "milestones.checked_in_at"


def _check_on_checkout(engine: Engine) -> None:
    """Hand out only live PostgreSQL connections, without a round trip per request.

    SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` on every checkout: about 140 µs of a
    2 ms user view on the benchmark's loopback server, more over a network. A server that
    stops or restarts (fast, smart or immediate shutdown, or a crash) closes its end of
    every connection, often with a last FATAL message, so a dead idle connection has input
    waiting on its socket: that, or an idle spell long enough for a firewall to have
    dropped it silently, is when the connection is pinged, exactly as ``pool_pre_ping``
    would; a failed ping discards every connection pooled before it (SQLAlchemy's
    ``InvalidatePoolError``), and the pool hands out a new one.
    """
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN_AT)
        if checked_in is None:  # a new connection: just made, nothing to check
            return
        idle = time.monotonic() - checked_in
        if idle < PING_AFTER_IDLE_SECONDS and not _has_input(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except dbapi_error as exc:
            raise InvalidatePoolError(f"a pooled connection failed its ping: {exc}") from exc


def _has_input(dbapi_connection: Any) -> bool:
    """Whether an idle connection's socket has something to read (a closed server end
    included), or the driver already knows the connection is broken."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    try:
        descriptor = dbapi_connection.fileno()
    except Exception:  # the driver no longer has a socket: treat as dead
        return True
    poller = select.poll()
    poller.register(descriptor, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _create_engine(url: str) -> Engine:
    json_options: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": json_value}
    if not url.startswith("sqlite"):
        engine = create_engine(
            url,
            pool_size=10,
            max_overflow=20,
            # A server that is down answers at once; an unreachable host within 5 s.
            connect_args={"connect_timeout": 5},
            **json_options,
        )
        _check_on_checkout(engine)
        return engine
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, **json_options
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that
        # later upgrades to a writer can fail with SQLITE_BUSY without waiting.
        # Issued on the driver's connection: SQLAlchemy's statement machinery costs more
        # than the BEGIN itself, and a one-event call opens one transaction. A driver error
        # (a database still locked after busy_timeout) is raised as SQLAlchemy's, as
        # before, so the API still answers it 503.
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"
        try:
            connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc

    return engine
