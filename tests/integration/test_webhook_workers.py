"""Several processes on one PostgreSQL database: the feed and the deliveries stay exact (SPEC §15).

- Concurrent writers: ``milestones serve --workers 2`` takes bulk batches from four
  senders at once (disjoint customers) while a feed consumer polls, always resuming
  after the last ``sequence`` it saw. Transactions commit in another order than they
  drew their rows' ids, the outbox trap; the consumer must still see every
  notification exactly once.
- Two ``milestones deliver`` processes beside a server that does not deliver
  (``--no-deliver``) share 2,000 deliveries to one receiver: each is DELIVERED, each
  notification arrives, none is ever sent by both at once, and both did some of the work
  (the receiver tells the senders apart by the process owning each connection).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from itertools import pairwise
from pathlib import Path

from tests.integration.test_concurrency import (
    EXECUTABLE,
    NOW,
    REQUEST_SECONDS,
    ROOT,
    Server,
    api,
    fresh_postgres_database,
    prepare_database,
    purchase,
    random_time,
)
from tests.integration.test_crash import Sender
from tests.integration.test_webhook_crash import (
    DELIVERY_ENV,
    FeedConsumer,
    HookReceiver,
    Json,
    answered,
    check_consumer,
    check_received,
    create_webhook,
    deliveries_total,
    implied_by_events,
    implied_of,
    purchase_batches,
    read_feed,
    run_until_quiet,
    spend_group,
)

# --- concurrent writers ---------------------------------------------------------------

WRITERS = 4
WRITER_BATCHES = 12
WRITER_BATCH_SIZE = 25  # small batches: many transactions to interleave
WRITER_CUSTOMERS = 40


def late_commits(feed: list[Json]) -> int:
    """Notifications whose row was made before the one listed ahead of them (ids rise as
    rows are written, sequences as transactions commit): each is a commit that came late.
    """
    ids = [item["id"] for item in feed]
    return sum(1 for before, after in pairwise(ids) if after < before)


def test_a_feed_consumer_sees_every_notification_of_concurrent_writers_exactly_once(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    per_writer = [
        purchase_batches(
            41 + writer,
            f"cw{writer}",
            WRITER_BATCHES,
            WRITER_BATCH_SIZE,
            range(7000 + writer * 1000, 7000 + writer * 1000 + WRITER_CUSTOMERS),
        )
        for writer in range(WRITERS)
    ]
    with fresh_postgres_database("milestones_feed") as url:
        prepare_database(url)
        server = Server(url, tmp_path / "server.log", workers=2, env=DELIVERY_ENV)
        consumer = FeedConsumer(server, limit=50, pause=0.0)
        try:
            server.start()
            with api(server) as client:
                spend_group(client)
            consumer.start()
            senders = [Sender(server, batches) for batches in per_writer]
            threads = [threading.Thread(target=sender.run, daemon=True) for sender in senders]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
                assert not thread.is_alive(), "a sender did not finish"
            with api(server) as client:
                feed = read_feed(client)
            seen = consumer.finish()
            log = server.tail()
        finally:
            server.stop()

    failed = {n: sender.failed for n, sender in enumerate(senders) if sender.failed}
    assert not failed, f"{failed}\n--- server log\n{log}"
    events = [event for batches in per_writer for batch in batches for event in batch]
    results = [
        result
        for sender in senders
        for number in sorted(sender.acked)
        for result in sender.acked[number]
    ]
    assert {result["status"] for result in results} == {"APPLIED"}
    assert len(results) == len(events)
    # The feed is what the events imply, each event's notifications as its answer showed.
    assert Counter(implied_of(item) for item in feed) == implied_by_events(events)
    _, shown = answered(results)
    assert Counter((item["data"]["eventId"], *implied_of(item)[1:]) for item in feed) == shown

    check_consumer(seen, feed)
    late = late_commits(feed)
    print(
        f"{len(events)} events from {WRITERS} writers: {len(feed)} notifications, {late} "
        f"listed after a later-made one (a late commit); the consumer read {consumer.pages} "
        f"pages; {time.monotonic() - started:.1f} s"
    )
    assert late > 0, "no transaction committed late: the writers did not overlap"


# --- two deliver processes ------------------------------------------------------------

DELIVER_CUSTOMERS = range(20_000, 21_000)
DELIVER_BATCH_SIZE = 200


# Nothing is killed here, so a long attempt timeout costs nothing, and on a busy machine
# it keeps a slow answer from being abandoned and sent again.
DELIVER_ENV = {**DELIVERY_ENV, "MILESTONES_WEBHOOK_TIMEOUT_SECONDS": "10"}


@contextmanager
def delivering(url: str, logs: Path, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` ``milestones deliver`` processes on ``url``; stopped (SIGTERM) afterwards."""
    env = {
        **os.environ,
        **DELIVER_ENV,
        "MILESTONES_DATABASE_URL": url,
        # The app clock the server runs on: retention counts on it (delivery times do not).
        "MILESTONES_NOW": NOW.isoformat(),
        "MILESTONES_LOG_LEVEL": "warning",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for number in range(count):
            with (logs / f"deliver-{number}.log").open("ab") as log:
                processes.append(
                    subprocess.Popen(
                        [str(EXECUTABLE), "deliver"],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def stop_gracefully(processes: list[subprocess.Popen[bytes]]) -> list[int]:
    """SIGTERM each; their exit codes."""
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    return [process.wait(timeout=REQUEST_SECONDS) for process in processes]


def crossing_one_trigger_each(seed: int) -> list[list[Json]]:
    """Two purchases per customer, 750 then 1,250 (or the other way round as they are
    applied): each crosses exactly one milestone trigger (750, then 2,000), none the target.
    """
    rng = random.Random(seed)
    firsts = [purchase(f"d1-{user}", user, 750, random_time(rng)) for user in DELIVER_CUSTOMERS]
    seconds = [purchase(f"d2-{user}", user, 1250, random_time(rng)) for user in DELIVER_CUSTOMERS]
    events = firsts + seconds
    return [
        events[start : start + DELIVER_BATCH_SIZE]
        for start in range(0, len(events), DELIVER_BATCH_SIZE)
    ]


def test_two_deliver_processes_share_two_thousand_deliveries_and_never_send_one_twice_at_once(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    batches = crossing_one_trigger_each(seed=53)
    events = [event for batch in batches for event in batch]
    assert len(events) == 2000
    with (
        fresh_postgres_database("milestones_deliver") as url,
        HookReceiver(hold=lambda _webhook_id: 0.01) as receiver,
    ):
        prepare_database(url)
        server = Server(url, tmp_path / "server.log", workers=1, options=["--no-deliver"])
        try:
            server.start()
            with api(server) as client:
                spend_group(client)
                webhook_id, secret = create_webhook(
                    client, receiver.url("/hook"), types=["milestone.achieved"]
                )
            with delivering(url, tmp_path, 2) as processes:
                receiver.senders = [process.pid for process in processes]
                sender = Sender(server, batches)
                sender.run()
                assert not sender.failed, sender.failed
                with api(server) as client:
                    quiet_after = run_until_quiet(client, webhook_id, len(events))
                    delivered = deliveries_total(client, webhook_id, "DELIVERED")
                    feed = read_feed(client)
                codes = stop_gracefully(processes)
        finally:
            server.stop()

    assert codes == [0, 0], f"the deliver processes ended with {codes}"
    assert {r["status"] for n in sender.acked for r in sender.acked[n]} == {"APPLIED"}
    assert [implied_of(item)[1] for item in feed] == ["milestone.achieved"] * len(events)
    assert Counter(implied_of(item) for item in feed) == implied_by_events(events)
    assert delivered == len(feed) == 2000
    tries = check_received(receiver.received, feed, secret)
    assert receiver.overlaps == [], f"sent twice at once: {receiver.overlaps[:10]}"
    by_process = {pid: receiver.sent_by[pid] for pid in receiver.senders}
    assert receiver.sent_by[None] == 0, f"requests from no deliver process: {receiver.sent_by}"
    assert all(by_process.values()), f"a deliver process sent nothing: {by_process}"
    print(
        f"2,000 events: {len(feed)} deliveries by two processes {list(by_process.values())} "
        f"({sum(tries.values())} requests), quiet {quiet_after:.1f} s after the last batch; "
        f"{time.monotonic() - started:.1f} s in all"
    )
