"""SIGKILL of a delivering server: every notification arrives, the feed loses none (SPEC §15).

A real ``milestones serve`` (with its delivery worker) has one subscription to a real
receiver on 127.0.0.1, which answers the first attempt of every third notification 500
and holds each request a moment, so deliveries are being retried and are in flight.
Bulk batches of purchases cross milestone triggers of many customers. While a batch is
being ingested and deliveries are in flight, the server's whole process group is
killed; after a restart the rest of the batches are sent and the server runs until no
delivery is PENDING. Then:

- the feed holds exactly the notifications the events imply (worked out here from the
  events alone) and those the event answers showed;
- each of them reached the receiver with a 2xx; every repeat carries the same
  ``webhook-id`` and body, and every signature verifies with ``standardwebhooks``; one
  customer's notifications were first accepted in ``sequence`` order;
- a feed consumer that polled through the whole run, kill and restart included, always
  resuming after its last ``sequence``, saw each notification exactly once, in order.

The other modules of issue 14's process tests import the helpers of this one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.integration.test_concurrency import (
    CLIENT,
    REQUEST_SECONDS,
    Server,
    api,
    post_json,
    prepare_database,
    purchase,
    random_amount,
    random_time,
    read_json,
    stored_event_ids,
)
from tests.integration.test_crash import Sender, check_stored, database_url
from tests.receiver import Received, Receiver, requests_by_id

Json = dict[str, Any]
Batch = list[Json]

# Delivery settings shortened so the run fits in seconds. A delivery claimed when the
# server dies is leased for the attempt's timeout + 20 s (delivery.py), so a crash
# costs about 21 s of waiting whatever these are.
DELIVERY_ENV = {
    "MILESTONES_WEBHOOK_RETRY_SECONDS": "0.2",
    "MILESTONES_WEBHOOK_TIMEOUT_SECONDS": "1.5",
    "MILESTONES_DELIVERY_POLL_SECONDS": "0.05",
    "MILESTONES_WEBHOOK_CONCURRENCY": "16",
}
SPEND_TARGET = Decimal(3000)
TRIGGERS = [
    {"triggerName": "quarter", "triggerValueType": "PERCENTAGE", "triggerValue": 25},
    {"triggerName": "two thousand", "triggerValueType": "ABSOLUTE", "triggerValue": 2000},
]
# Each trigger's threshold, and the one the target itself brings (at 100 %).
THRESHOLDS = {
    "quarter": Decimal(750),
    "two thousand": Decimal(2000),
    "targetAchieved": SPEND_TARGET,
}
QUIET_SECONDS = 90.0

# What one notification is, as the events imply it: (userId, type, trigger name or None).
Implied = tuple[int, str, str | None]


# --- shared by the webhook process tests ----------------------------------------------


def spend_group(client: httpx.Client) -> None:
    """A monthly spend target of 3,000 from 2024-08-01 (UTC) with two milestone triggers."""
    body = {
        "name": "Monthly spend with milestones",
        "trackingType": "DEFAULT",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "MONTHLY",
        "frequency": 1,
        "totalPeriods": 3,
        "recurringCycles": -1,
        "targetCycleStartDate": "2024-08-01T00:00:00.000",
        "targetCycleEndDate": "2024-10-31T23:59:59.000",
        "targets": [
            {
                "name": "spend",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": SPEND_TARGET,
                "targetMilestoneTriggers": TRIGGERS,
            }
        ],
    }
    response = post_json(client, "/v3/targetGroups", body)
    assert response.status_code == 201, response.text


def purchase_batches(
    seed: int, prefix: str, batches: int, size: int, customers: Sequence[int]
) -> list[Batch]:
    """Bulk batches of August purchases (1 to 999.999) by customers drawn from ``customers``."""
    rng = random.Random(seed)
    return [
        [
            purchase(
                f"{prefix}-{number:02d}-{index:03d}",
                rng.choice(customers),
                random_amount(rng),
                random_time(rng),
            )
            for index in range(size)
        ]
        for number in range(batches)
    ]


def implied_by_events(events: Iterable[Json]) -> Counter[Implied]:
    """The notifications purchases imply, worked out from their amounts alone.

    One period (August) and purchases only: each customer's spend is the sum of their
    bills, each threshold at or under it is one ``milestone.achieved``, and reaching the
    target is also one ``target.achieved``.
    """
    spend: dict[int, Decimal] = defaultdict(Decimal)
    for event in events:
        spend[event["userId"]] += event["transaction"]["billAmount"]
    implied: Counter[Implied] = Counter()
    for user, total in spend.items():
        for name, threshold in THRESHOLDS.items():
            if total >= threshold:
                implied[(user, "milestone.achieved", name)] += 1
        if total >= SPEND_TARGET:
            implied[(user, "target.achieved", None)] += 1
    return implied


def implied_of(notification: Json) -> Implied:
    milestone = notification["data"].get("milestone")
    name = milestone["triggerName"] if milestone else None
    return (notification["userId"], notification["type"], name)


def answered(results: Iterable[Json]) -> tuple[set[str], Counter[tuple[str, str, str | None]]]:
    """Of bulk results: the APPLIED eventIds, and the (eventId, type, trigger) they showed."""
    applied: set[str] = set()
    shown: Counter[tuple[str, str, str | None]] = Counter()
    for result in results:
        if result["status"] != "APPLIED":
            continue
        applied.add(result["eventId"])
        for effect in result["sideEffects"]:
            if effect["targetAchieved"]:
                shown[(result["eventId"], "target.achieved", None)] += 1
            for milestone in effect["milestonesAchieved"]:
                shown[(result["eventId"], "milestone.achieved", milestone["triggerName"])] += 1
    return applied, shown


def create_webhook(client: httpx.Client, url: str, **fields: Any) -> tuple[int, str]:
    """Subscribe ``url``; the subscription's id and its signing secret."""
    response = post_json(client, "/v3/webhooks", {"url": url, **fields})
    assert response.status_code == 201, response.text
    data = read_json(response)["data"]
    assert data["secret"].startswith("whsec_")
    return int(data["id"]), str(data["secret"])


def read_feed(client: httpx.Client, limit: int = 1000) -> list[Json]:
    """The whole feed, page after page, each resuming after the last sequence of the one before."""
    found: list[Json] = []
    after = 0
    while True:
        response = client.get("/v3/notifications", params={"after": after, "limit": limit})
        assert response.status_code == 200, response.text
        body = read_json(response)
        page = body["data"]
        if not page:
            return found
        assert body["pagination"]["next"] == page[-1]["sequence"]
        found += page
        after = page[-1]["sequence"]


def deliveries_total(client: httpx.Client, webhook_id: int, status: str) -> int:
    response = client.get(
        f"/v3/webhooks/{webhook_id}/deliveries", params={"status": status, "limit": 1}
    )
    assert response.status_code == 200, response.text
    total: int = read_json(response)["pagination"]["total"]
    return total


def run_until_quiet(client: httpx.Client, webhook_id: int, wanted: int) -> float:
    """Wait until ``wanted`` deliveries exist and none is PENDING; the seconds it took."""
    started = time.monotonic()
    deadline = started + QUIET_SECONDS
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = {
            status: deliveries_total(client, webhook_id, status)
            for status in ("PENDING", "DELIVERED", "FAILED")
        }
        if counts["PENDING"] == 0 and counts["DELIVERED"] + counts["FAILED"] == wanted:
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail(f"not quiet after {QUIET_SECONDS} s: {counts}, {wanted} deliveries wanted")


@dataclass
class FeedConsumer:
    """Polls the feed, resuming after the last sequence it saw, until stopped and caught up.

    It follows the server across restarts (the port changes) and waits out the time it
    is down: a refused connection or a 5xx is only counted.
    """

    server: Server
    limit: int = 200
    pause: float = 0.02
    seen: list[Json] = field(default_factory=list)
    pages: int = 0
    outages: int = 0
    failure: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="feed-consumer", daemon=True)
        self._thread.start()

    def finish(self) -> list[Json]:
        """Stop once it has read to the end of the feed; what it saw, in order."""
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=REQUEST_SECONDS)
        assert not self._thread.is_alive(), "the feed consumer did not catch up"
        assert self.failure is None, self.failure
        return self.seen

    def _run(self) -> None:
        try:
            with httpx.Client(auth=CLIENT, timeout=5.0) as client:
                while True:
                    stopping = self._stop.is_set()
                    page = self._page(client)
                    if page is None:
                        time.sleep(0.1)
                        continue
                    if stopping and not page:
                        return
                    if len(page) < self.limit:
                        time.sleep(self.pause)
        except Exception as error:  # reported by finish(), in the test's thread
            self.failure = f"the feed consumer stopped: {error!r}"

    def _page(self, client: httpx.Client) -> list[Json] | None:
        after = self.seen[-1]["sequence"] if self.seen else 0
        try:
            response = client.get(
                f"{self.server.base}/v3/notifications",
                params={"after": after, "limit": self.limit},
            )
        except httpx.TransportError:
            self.outages += 1
            return None
        if response.status_code >= 500:
            self.outages += 1
            return None
        assert response.status_code == 200, response.text
        page: list[Json] = read_json(response)["data"]
        self.pages += 1
        self.seen += page
        return page


_request = threading.local()  # the webhook-id and sender of the request a handler thread serves


class HookReceiver(Receiver):
    """The test receiver, answering by ``webhook-id`` and noting which process sent what.

    ``fail_first(webhook_id)`` says whether the first request of a notification is
    answered 500 (later ones 200); each request is held ``hold(webhook_id)`` seconds
    before its answer. When ``senders`` (process ids) is set, each request is put down
    to the one whose socket it came from (``sent_by``), found in /proc while the
    connection is open.
    """

    def __init__(
        self,
        *,
        hold: Callable[[str], float] | None = None,
        fail_first: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__()
        self.hold = hold or (lambda _webhook_id: 0.0)
        self.fail_first = fail_first or (lambda _webhook_id: False)
        self.senders: list[int] = []
        self.sent_by: Counter[int | None] = Counter()
        self._tries: Counter[str] = Counter()
        self._server.RequestHandlerClass = _identifying(self._server.RequestHandlerClass, self)

    def in_flight(self) -> int:
        with self._lock:
            return sum(self._in_flight.values())

    def _answer(self, path: str) -> int:
        planned = super()._answer(path)
        webhook_id: str = _request.webhook_id
        with self._lock:
            self._tries[webhook_id] += 1
            first = self._tries[webhook_id] == 1
        return 500 if first and self.fail_first(webhook_id) else planned

    def _arrived(self, item: Received) -> None:
        super()._arrived(item)
        with self._lock:
            self.sent_by[_request.sender] += 1
        time.sleep(self.hold(item.headers.get("webhook-id", "")))

    def sender_of(self, port: int) -> int | None:
        """The process (of ``senders``) holding the client end of a connection from ``port``."""
        if not self.senders:
            return None
        for _ in range(20):  # /proc/net/tcp is not read atomically: a busy table may skip one
            inode = _socket_inode(port, self._server.server_address[1])
            if inode is not None:
                break
            time.sleep(0.005)
        else:
            return None
        wanted = f"socket:[{inode}]"
        for pid in self.senders:
            with suppress(OSError):
                for descriptor in os.listdir(f"/proc/{pid}/fd"):
                    with suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{descriptor}") == wanted:
                            return pid
        return None


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    """The inode of the established TCP socket 127.0.0.1:local_port → 127.0.0.1:remote_port."""
    # A line of /proc/net/tcp: "sl local_address rem_address st ... uid timeout inode ...",
    # addresses in hex; st 01 is ESTABLISHED (not a closed connection's TIME_WAIT).
    needle = f" 0100007F:{local_port:04X} 0100007F:{remote_port:04X} 01 "
    with open("/proc/net/tcp") as table:
        text = table.read()
    found = text.find(needle)
    if found < 0:
        return None
    line = text[found : text.find("\n", found)]
    return line.split()[8]


def _identifying(
    base: type[BaseHTTPRequestHandler], receiver: HookReceiver
) -> type[BaseHTTPRequestHandler]:
    class Identifying(base):  # type: ignore[valid-type, misc]
        """One connection: its sender found once, then each request's webhook-id noted."""

        def setup(self) -> None:
            super().setup()
            self.sender = receiver.sender_of(self.client_address[1])

        def handle(self) -> None:
            with suppress(ConnectionError):  # a sender killed mid-request: no receiver error
                super().handle()

        def do_POST(self) -> None:  # noqa: N802 (the http.server name)
            _request.webhook_id = self.headers.get("webhook-id", "")
            _request.sender = self.sender
            super().do_POST()

    return Identifying


def check_received(received: list[Received], feed: list[Json], secret: str) -> Counter[int]:
    """What the receiver got is the feed: each notification accepted at least once, signed,
    every repeat the same id and body, each customer's accepted in sequence order.

    Answers how many requests each notification took.
    """
    by_id = requests_by_id(received)
    feed_by_id = {str(item["id"]): item for item in feed}
    unknown = sorted(set(by_id) - set(feed_by_id))
    assert not unknown, f"{len(unknown)} webhook-ids that are not in the feed: {unknown[:10]}"
    never = [
        id_
        for id_, item in feed_by_id.items()
        if not any(200 <= request.answered < 300 for request in by_id.get(id_, []))
    ]
    assert not never, f"{len(never)} notifications never accepted by the receiver: {never[:10]}"
    signer = Webhook(secret)
    for webhook_id, requests in by_id.items():
        # A request the kill cut short (its body not all sent) is not a delivery.
        requests = [r for r in requests if len(r.body) == int(r.headers["content-length"])]
        bodies = {request.body for request in requests}
        assert len(bodies) == 1, f"webhook-id {webhook_id} came with {len(bodies)} bodies"
        assert json.loads(requests[0].body, parse_float=Decimal) == feed_by_id[webhook_id]
        for request in requests:
            signer.verify(request.body, request.headers)  # raises if the signature is wrong

    accepted_order: dict[int, list[int]] = defaultdict(list)
    firsts = {
        webhook_id: min(r.at for r in requests if 200 <= r.answered < 300)
        for webhook_id, requests in by_id.items()
    }
    for webhook_id in sorted(firsts, key=firsts.__getitem__):
        item = feed_by_id[webhook_id]
        accepted_order[item["userId"]].append(item["sequence"])
    disordered = [user for user, order in accepted_order.items() if order != sorted(order)]
    assert not disordered, f"customers whose notifications came out of order: {disordered[:10]}"
    return Counter({int(webhook_id): len(requests) for webhook_id, requests in by_id.items()})


def check_consumer(seen: list[Json], feed: list[Json]) -> None:
    """The consumer saw the final feed exactly: each notification once, in sequence order."""
    sequences = [item["sequence"] for item in seen]
    assert sequences == sorted(set(sequences)), "the consumer saw a sequence twice or out of order"
    seen_ids = [item["id"] for item in seen]
    feed_ids = [item["id"] for item in feed]
    missed = sorted(set(feed_ids) - set(seen_ids))
    assert not missed, f"the consumer missed {len(missed)} notifications: {missed[:10]}"
    extra = sorted(set(seen_ids) - set(feed_ids))
    assert not extra, f"the consumer saw {len(extra)} notifications not in the feed: {extra[:10]}"
    assert seen_ids == feed_ids
    assert seen == feed  # and each as the feed shows it at the end


# --- the crash test ----------------------------------------------------------------------

BATCHES = 16
BATCH_SIZE = 150
CUSTOMERS = range(5000, 5250)


def every_third(webhook_id: str) -> bool:
    return int(webhook_id) % 3 == 0


def staggered(webhook_id: str) -> float:
    """50 to 250 ms, so that attempts end at different times and others start meanwhile."""
    return 0.05 * (1 + int(webhook_id) % 5)


def moment_to_kill(sender: Sender, receiver: HookReceiver, rng: random.Random) -> int:
    """Wait for an instant inside a batch when the receiver also holds some deliveries;
    how many it holds."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(max(0.0, sender.moment_to_kill(rng) - time.monotonic()))
        with sender.lock:
            batch = sender.in_flight
        held = receiver.in_flight()
        if held > 0 and batch is not None and batch[0] not in sender.acked:
            return held
        while sender.in_flight == batch and not sender.failed and time.monotonic() < deadline:
            time.sleep(0.002)  # this batch is missed: try the next
    pytest.fail("no instant with a batch and a delivery both in flight in 60 s")


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_server_killed_while_delivering_loses_no_notification_and_the_feed_none(
    engine: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    rng = random.Random(23)
    batches = purchase_batches(31, "w", BATCHES, BATCH_SIZE, CUSTOMERS)
    with (
        database_url(engine, tmp_path) as url,
        HookReceiver(hold=staggered, fail_first=every_third) as receiver,
    ):
        prepare_database(url)
        server = Server(url, tmp_path / "server.log", workers=1, env=DELIVERY_ENV)
        consumer = FeedConsumer(server)
        try:
            server.start()
            with api(server) as client:
                spend_group(client)
                webhook_id, secret = create_webhook(client, receiver.url("/hook"))
            consumer.start()

            # Stream, and kill the server mid-batch while deliveries are in flight.
            sender = Sender(server, batches)
            thread = threading.Thread(target=sender.run, daemon=True)
            thread.start()
            in_flight = moment_to_kill(sender, receiver, rng)
            code = server.kill()
            thread.join(timeout=REQUEST_SECONDS + 5)
            assert not thread.is_alive(), "the sender still waits on a killed server"
            assert code == -signal.SIGKILL, f"the server ended with {code}, not by SIGKILL"
            assert in_flight > 0, "no delivery was in flight when the server was killed"
            assert len(sender.failed) == 1, f"expected one unacknowledged batch: {sender.failed}"
            (lost,) = sender.failed
            assert sorted(sender.acked) == list(range(lost))
            received_before = len(receiver.received)

            # Restart: the feed is what the committed events imply, the batch in flight
            # with all its notifications or none. Then send that batch again, and the rest.
            server.start()
            stored = set(stored_event_ids(url))
            committed = [batch for batch in batches if batch[0]["eventId"] in stored]
            with api(server) as client:
                assert Counter(implied_of(item) for item in read_feed(client)) == (
                    implied_by_events(event for batch in committed for event in batch)
                )
            rest = Sender(server, batches[lost:])
            rest.run()
            assert not rest.failed, rest.failed
            results = [r for n in sorted(sender.acked) for r in sender.acked[n]]
            results += [r for n in sorted(rest.acked) for r in rest.acked[n]]
            assert all(
                result["status"] == "APPLIED" for n in sender.acked for result in sender.acked[n]
            )
            statuses = Counter(result["status"] for result in results)
            landed = statuses["DUPLICATE"]
            assert set(statuses) <= {"APPLIED", "DUPLICATE"}, statuses
            assert landed == BATCH_SIZE * (len(committed) - lost), statuses
            check_stored(url, {event["eventId"] for batch in batches for event in batch})

            with api(server) as client:
                feed_now = len(read_feed(client))
                quiet_after = run_until_quiet(client, webhook_id, feed_now)
                feed = read_feed(client)
                failed = deliveries_total(client, webhook_id, "FAILED")
            seen = consumer.finish()
        finally:
            server.stop()

    # The feed is what the events imply, and holds what their answers showed.
    assert Counter(implied_of(item) for item in feed) == implied_by_events(
        event for batch in batches for event in batch
    )
    applied, shown = answered(results)
    in_feed = Counter(
        (item["data"]["eventId"], *implied_of(item)[1:])
        for item in feed
        if item["data"]["eventId"] in applied
    )
    assert in_feed == shown
    assert len(feed) == feed_now, "notifications appeared after the last batch was answered"

    # Pushed: all delivered, each at least once, signed, repeats identical, in order.
    assert failed == 0
    tries = check_received(receiver.received, feed, secret)
    assert receiver.received[received_before:], "nothing was delivered after the restart"
    repeated = [id_ for id_, n in tries.items() if n > 1]
    not_retried = [
        item["id"] for item in feed if every_third(str(item["id"])) and tries[item["id"]] < 2
    ]
    assert not not_retried, f"answered 500 but never sent again: {not_retried[:10]}"

    # Pulled: exactly once, through the kill and the restart.
    check_consumer(seen, feed)
    assert consumer.outages > 0, "the consumer never met the server down: it did not poll through"
    print(
        f"{engine}: killed during batch {lost} ({'committed' if landed else 'rolled back'}) "
        f"with {in_flight} deliveries in flight; {len(feed)} notifications, "
        f"{len(receiver.received)} requests ({len(repeated)} notifications sent more than "
        f"once); quiet {quiet_after:.1f} s after the last batch; the consumer read "
        f"{consumer.pages} pages and met {consumer.outages} outages; "
        f"{time.monotonic() - started:.1f} s in all"
    )
