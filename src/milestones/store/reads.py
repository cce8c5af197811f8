"""Where read-only requests read: a streaming replica when one is set and fresh, else the
primary (SPEC §19, ``MILESTONES_READ_DATABASE_URL``).

The user view and the leaderboards read through :meth:`Reads.run`. The replica is used
while it is reachable and no further behind the primary than ``max_lag_seconds``:

- its lag is checked at most once a second: zero when it has replayed everything the
  primary had written when asked (``pg_last_wal_replay_lsn() >= pg_current_wal_lsn()``),
  else the age of the last transaction it replayed;
- a read that fails on the replica for a connection's sake, or takes longer than
  ``read_timeout_seconds`` (a replica frozen mid-answer), is run again on the primary at
  once, so the caller never sees the replica go down; the replica is then left alone
  for ``retry_seconds`` before it is tried again. Replica work runs in a small pool of
  threads of its own, so that a read stuck there can be given up on.

Writes never come here: they use :class:`milestones.store.database.Database` itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from milestones.observability import metrics
from milestones.store.database import Database

T = TypeVar("T")
log = logging.getLogger("milestones.reads")
_CHECK_EVERY = 1.0  # seconds between lag checks

_REPLICA_STATE = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(),"
    " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
)
_CAUGHT_UP = "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn) >= 0"


class Reads:
    def __init__(
        self,
        primary: Database,
        replica: Database | None = None,
        *,
        max_lag_seconds: float = 5.0,
        retry_seconds: float = 5.0,
        read_timeout_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag_seconds = max_lag_seconds
        self.retry_seconds = retry_seconds
        self.read_timeout_seconds = read_timeout_seconds
        self._replica_threads = ThreadPoolExecutor(8, thread_name_prefix="milestones-replica")
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._usable = False
        self._down_until = float("-inf")

    def run(self, read: Callable[[Connection], T]) -> T:
        """``read`` on the replica if it is fit, else the primary (:meth:`Database.reading`)."""
        replica = self.replica
        if replica is not None and self._replica_fit():
            try:
                result = self._on_replica(lambda: _read_on(replica, read))
            except TimeoutError:
                self._mark_down(f"a read took over {self.read_timeout_seconds:g} s")
            except (OperationalError, DBAPIError) as exc:
                if not _connection_lost(exc):
                    raise
                self._mark_down(f"a read failed: {exc.__class__.__name__}")
            else:
                metrics.READS.labels("replica").inc()
                return result
        with self.primary.reading() as connection:
            result = read(connection)
        metrics.READS.labels("primary").inc()
        return result

    @property
    def has_replica(self) -> bool:
        return self.replica is not None

    def _on_replica(self, work: Callable[[], T]) -> T:
        """``work`` in a replica thread, given up on (TimeoutError) after the read timeout."""
        return self._replica_threads.submit(work).result(timeout=self.read_timeout_seconds)

    def lag_seconds(self) -> float | None:
        """How far the replica is behind the primary now; None when it cannot be asked."""
        if self.replica is None:
            return None
        try:
            return self._on_replica(self._lag)
        except TimeoutError:
            return None

    def _lag(self) -> float | None:
        assert self.replica is not None
        try:
            with self.primary.transaction(write=False) as connection:
                written = connection.exec_driver_sql("SELECT pg_current_wal_lsn()").scalar()
            with self.replica.transaction(write=False) as connection:
                row = connection.exec_driver_sql(_REPLICA_STATE).one()
                in_recovery, replayed, age = row
                if not in_recovery:
                    return None  # promoted, or not a replica at all: not ours to read from
                caught_up = connection.exec_driver_sql(_CAUGHT_UP, (replayed, written)).scalar()
        except (OperationalError, DBAPIError):
            return None
        if caught_up:
            return 0.0
        return float("inf") if age is None else max(0.0, float(age))

    def _replica_fit(self) -> bool:
        now = self._monotonic()
        with self._lock:
            if now < self._down_until:
                return False
            if now - self._checked_at < _CHECK_EVERY:
                return self._usable
            self._checked_at = now
        lag = self.lag_seconds()
        usable = lag is not None and lag <= self.max_lag_seconds
        with self._lock:
            if usable != self._usable:
                log.warning(
                    "reads go to the %s (replica lag: %s)",
                    "replica" if usable else "primary",
                    "unreachable" if lag is None else f"{lag:.1f} s",
                )
            self._usable = usable
            if lag is None:
                # Counted from the check's end: a check that waited out the connect timeout
                # (a replica that accepts but never answers) must not leave the next read
                # to wait it out again.
                self._down_until = self._monotonic() + self.retry_seconds
        return usable

    def _mark_down(self, why: str) -> None:
        with self._lock:
            self._usable = False
            self._down_until = self._monotonic() + self.retry_seconds
        log.warning("replica left alone for %.0f s: %s", self.retry_seconds, why)

    def dispose(self) -> None:
        self._replica_threads.shutdown(wait=False, cancel_futures=True)
        if self.replica is not None:
            self.replica.dispose()


def _read_on(database: Database, read: Callable[[Connection], T]) -> T:
    with database.reading() as connection:
        return read(connection)


def _connection_lost(exc: DBAPIError) -> bool:
    """Whether the error is the replica's connection, not the read's own fault."""
    return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)
