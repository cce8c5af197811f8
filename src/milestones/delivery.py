"""The webhook delivery worker (SPEC §15): inside ``milestones serve``, or alone as ``deliver``.

Each pass turns new notifications into deliveries (fan-out), claims the due ones of each
subscription and posts them, signed as the Standard Webhooks specification says, with
the ``standardwebhooks`` package. A 2xx is DELIVERED; anything else, or no answer within
the timeout, is tried again after the retry base, doubling, with jitter, up to 8
attempts, then FAILED. Each subscription has at most ``webhook_concurrency`` attempts in
flight, so a dead or slow endpoint holds only its own slots: other subscriptions and
ingestion go on. Sends wait on the network in an event loop of the worker's own thread;
the database is touched in short transactions between them.

Delivery times (attempts, retries, leases) are the wall clock's: they are about the
network, not business time, so ``MILESTONES_NOW`` does not pin them. Retention of
notifications is counted on the app's clock, like their ``createdAt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks.webhooks import Webhook

from milestones import __version__
from milestones.clock import Clock
from milestones.domain.notifications import MAX_ATTEMPTS, retry_delay
from milestones.observability import metrics
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.webhooks import Claimed, DeliveryQueue

log = logging.getLogger("milestones.delivery")
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is too many
_LEASE_MARGIN = timedelta(seconds=5)  # past the attempt's timeout, before another may claim it
_ANSWER_READ = 64 * 1024  # of an answer's body: read (and dropped) so the connection is reused
_CLEAN_EVERY = timedelta(minutes=10)
_FAN_OUT_ROUNDS = 10  # of up to 1,000 notifications per subscription per pass
_MAX_ERROR = 500
_STOP_GRACE_SECONDS = 3.0


def wall_clock() -> datetime:
    return datetime.now(UTC)


class DeliveryWorker:
    """One worker's loop; several (threads or processes) may share a database."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Clock,
        *,
        wall: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.database = database
        self.clock = clock
        self.wall = wall
        self.retry_seconds = settings.webhook_retry_seconds
        self.timeout = settings.webhook_timeout_seconds
        self.concurrency = settings.webhook_concurrency
        self.poll = settings.delivery_poll_seconds
        self.retention = timedelta(days=settings.notification_retention_days)
        self.lease = timedelta(seconds=self.timeout) + _LEASE_MARGIN
        self._in_flight: dict[int, set[asyncio.Task[None]]] = {}
        # Attempts ended since the last pass: (delivery, HTTP status, error); recorded
        # together, in one transaction (SQLite has one writer, and ingestion needs it too).
        self._ended: list[tuple[Claimed, int | None, str | None]] = []
        self._cleaned_at: datetime | None = None
        self.sent = 0  # attempts made by this worker, for logs and tests

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; then give attempts in flight a moment to end.

        One still waiting after that is abandoned: its lease runs out and a worker sends it
        again, under the same ``webhook-id`` (at least once).
        """
        wake = asyncio.Event()
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=20)
        # httpx's own timeouts (5 s by default) would cut an attempt short: the whole
        # attempt is bounded by ``asyncio.timeout`` in :meth:`_post` instead.
        client = httpx.AsyncClient(limits=limits, follow_redirects=False, timeout=None)
        async with client as http:
            while not stop.is_set():
                try:
                    self.step(http, wake)
                except Exception:  # the database is away, say: log, wait, go on
                    log.exception("delivery pass failed; trying again")
                wake.clear()
                await _first_of(stop, wake, self.poll)
            tasks = [task for tasks in self._in_flight.values() for task in tasks]
            if tasks:
                await asyncio.wait(tasks, timeout=min(self.timeout, _STOP_GRACE_SECONDS))
            self.record_ended()

    def step(self, http: httpx.AsyncClient, wake: asyncio.Event) -> None:
        """One pass: record ended attempts, fan out, claim what each subscription has room
        for, start sending."""
        self.record_ended()
        now = self.wall()
        with self.database.transaction(write=False) as connection:
            queue = DeliveryQueue(connection)
            webhooks = queue.active_webhooks()
            latest = queue.latest_sequences()
        for webhook_id, org_id, fanned_out_to in webhooks:
            if latest.get(org_id, 0) > fanned_out_to:
                self._fan_out(webhook_id)
        for webhook_id, _org, _cursor in webhooks:
            in_flight = self._in_flight.setdefault(webhook_id, set())
            room = self.concurrency - len(in_flight)
            if room <= 0:
                continue
            with self.database.transaction(write=False) as connection:
                if not DeliveryQueue(connection).has_due(webhook_id, now):
                    continue
            with self.database.transaction() as connection:
                claimed = DeliveryQueue(connection).claim(webhook_id, now, self.lease, room)
            for item in claimed:
                task = asyncio.get_running_loop().create_task(self._attempt(http, item, wake))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        if self._cleaned_at is None or now - self._cleaned_at >= _CLEAN_EVERY:
            self.clean(now)

    def clean(self, now: datetime) -> int:
        """Drop what retention says is old; how many notifications went."""
        self._cleaned_at = now
        with self.database.transaction() as connection:
            removed = DeliveryQueue(connection).clean(self.clock.now() - self.retention)
        if removed:
            log.info("retention: %d notifications removed", removed)
        return removed

    def _fan_out(self, webhook_id: int) -> None:
        for _ in range(_FAN_OUT_ROUNDS):
            with self.database.transaction() as connection:
                read = DeliveryQueue(connection).fan_out(webhook_id, self.wall())
            if read < 1000:
                return

    async def _attempt(
        self, http: httpx.AsyncClient, claimed: Claimed, wake: asyncio.Event
    ) -> None:
        status: int | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            status = await self._post(http, claimed)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        except Exception as exc:  # refused, reset, a URL httpx cannot use...: a failure
            error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
        self.sent += 1
        metrics.DELIVERY_SECONDS.observe(time.perf_counter() - started)
        self._ended.append((claimed, status, error))
        wake.set()

    async def _post(self, http: httpx.AsyncClient, claimed: Claimed) -> int:
        body = claimed.notification.body()
        message_id = str(claimed.notification.id)
        sent_at = self.wall()
        headers = {
            "content-type": "application/json",
            "user-agent": f"Milestones-Webhooks/{__version__}",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(claimed.secret).sign(message_id, sent_at, body.decode()),
        }
        async with asyncio.timeout(self.timeout):
            # At most 64 KiB of the answer is read, and dropped: enough for the connection to
            # be kept for the next delivery, and an endpoint cannot make the worker hold more.
            async with http.stream("POST", claimed.url, content=body, headers=headers) as answer:
                read = 0
                async for chunk in answer.aiter_raw():
                    read += len(chunk)
                    if read > _ANSWER_READ:
                        break  # the connection is closed rather than kept
                return answer.status_code

    def record_ended(self) -> None:
        """Record every attempt that ended since the last pass, in one transaction.

        If that fails, the deliveries' leases run out and they are attempted again.
        """
        if not self._ended:
            return
        ended, self._ended = self._ended, []
        now = self.wall()
        outcomes: list[str] = []
        with self.database.transaction() as connection:
            queue = DeliveryQueue(connection)
            for claimed, status, error in ended:
                if error is None and status is not None:
                    queue.delivered(claimed, status, now)
                    outcomes.append("delivered")
                    continue
                retry_at = None
                if claimed.attempt < MAX_ATTEMPTS:
                    delay = retry_delay(claimed.attempt, self.retry_seconds)
                    retry_at = now + timedelta(seconds=delay)
                queue.attempt_failed(claimed, status, error or "no answer", now, retry_at)
                outcomes.append("failed" if retry_at is None else "retry")
        for outcome in outcomes:  # counted once recorded: a failed record counts nothing
            metrics.DELIVERIES.labels(outcome).inc()


async def _first_of(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class WorkerThread:
    """A delivery worker in a thread of its own (how ``milestones serve`` runs one)."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="milestones-delivery", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=5)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the worker to stop and wait for it; again, once stopped, does nothing."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            # The loop may close in between: then the worker has stopped already.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self.worker.run(self._stop)

        asyncio.run(main())
