"""SIGKILL in the middle of bulk ingestion: nothing acknowledged is lost, nothing counts twice.

A sender thread posts bulk batches of 200 purchases (many customers, two groups) one
after another; once a few are acknowledged the server's whole process group is killed
while the next batch is in flight. After a restart on the same database every
acknowledged event is stored exactly once, the in-flight batch is all there or not at
all, and the totals are what the stored events imply, computed here independently.
Resending every batch then answers DUPLICATE for what is stored and APPLIED for the
rest, and the totals become those of every batch exactly once.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_concurrency import (
    REQUEST_SECONDS,
    Server,
    api,
    create_group,
    fresh_postgres_database,
    post_json,
    prepare_database,
    purchase,
    random_amount,
    random_time,
    read_json,
    stored_event_ids,
    stored_totals,
    target_ids,
)

BATCHES = 20
BATCH_SIZE = 200
CUSTOMERS = range(1000, 1400)
ACKED_BEFORE_KILL = 3
BIG_BILL = Decimal(500)

Batch = list[dict[str, Any]]
Totals = dict[tuple[int, int], tuple[Decimal, int]]


@contextmanager
def database_url(engine: str, tmp_path: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'milestones.db'}"
    else:
        with fresh_postgres_database("milestones_crash") as url:
            yield url


def make_batches(seed: int) -> list[Batch]:
    rng = random.Random(seed)
    return [
        [
            purchase(
                f"k-{number:02d}-{index:03d}",
                rng.choice(CUSTOMERS),
                random_amount(rng),
                random_time(rng),
            )
            for index in range(BATCH_SIZE)
        ]
        for number in range(BATCHES)
    ]


def expected_totals(batches: list[Batch], ids: dict[str, int]) -> Totals:
    """What the events imply, worked out here: spend = Σ bills, bills = count, big = Σ > 500."""
    sums: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    counts: Counter[tuple[int, int]] = Counter()
    for batch in batches:
        for event in batch:
            user, amount = event["userId"], event["transaction"]["billAmount"]
            sums[(ids["spend"], user)] += amount
            counts[(ids["spend"], user)] += 1
            sums[(ids["bills"], user)] += 1
            counts[(ids["bills"], user)] += 1
            if amount > BIG_BILL:
                sums[(ids["big"], user)] += amount
                counts[(ids["big"], user)] += 1
    return {key: (sums[key], counts[key]) for key in counts}


def with_contributions(totals: Totals) -> Totals:
    """User targets some event moved (a row with no ledger entry must hold zero)."""
    for key, (value, count) in totals.items():
        assert count or value == 0, f"user target {key} holds {value} with no contribution"
    return {key: entry for key, entry in totals.items() if entry[1]}


@dataclass
class Sender:
    """Posts every batch in turn until one is not acknowledged."""

    server: Server
    batches: list[Batch]
    acked: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    in_flight: tuple[int, float] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        with api(self.server) as client:
            for number, batch in enumerate(self.batches):
                started = time.monotonic()
                with self.lock:
                    self.in_flight = (number, started)
                try:
                    response = post_json(client, "/v3/events/bulk", {"events": batch})
                except httpx.HTTPError as error:
                    self.failed[number] = repr(error)
                    return
                if response.status_code != 200:
                    self.failed[number] = f"HTTP {response.status_code}: {response.text[:500]}"
                    return
                with self.lock:
                    self.acked[number] = read_json(response)["data"]["results"]
                    self.seconds.append(time.monotonic() - started)

    def moment_to_kill(self, rng: random.Random) -> float:
        """Once enough batches are acknowledged: a random instant inside the next batch."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.lock:
                if self.failed:
                    pytest.fail(f"a batch failed before the kill: {self.failed}")
                if len(self.acked) >= ACKED_BEFORE_KILL and self.in_flight is not None:
                    number, started = self.in_flight
                    if number not in self.acked:
                        typical = sorted(self.seconds)[len(self.seconds) // 2]
                        return started + rng.uniform(0.2, 0.9) * typical
            time.sleep(0.005)
        pytest.fail(f"only {len(self.acked)} batches were acknowledged in 60 s")


def check_stored(url: str, expected_ids: set[str]) -> None:
    stored = stored_event_ids(url)
    repeated = [event_id for event_id, n in Counter(stored).items() if n > 1]
    assert not repeated, f"events stored more than once: {repeated[:10]}"
    missing = sorted(expected_ids - set(stored))
    extra = sorted(set(stored) - expected_ids)
    assert not missing, f"{len(missing)} acknowledged events were lost: {missing[:10]}"
    assert not extra, f"{len(extra)} events stored that should not be: {extra[:10]}"


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_server_killed_during_bulk_ingestion_keeps_every_acknowledged_event_exactly_once(
    engine: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    batches = make_batches(seed=11)
    with database_url(engine, tmp_path) as url:
        prepare_database(url)
        server = Server(url, tmp_path / "server.log", workers=1)
        try:
            server.start()
            with api(server) as client:
                ids = target_ids(
                    create_group(
                        client,
                        "Monthly spend",
                        [
                            {
                                "name": "spend",
                                "targetEntity": "TRANSACTION",
                                "targetType": "SALES",
                                "defaultValue": 5000,
                            },
                            {
                                "name": "bills",
                                "targetEntity": "TRANSACTION",
                                "targetType": "COUNT",
                                "defaultValue": 10,
                            },
                        ],
                    )
                ) | target_ids(
                    create_group(
                        client,
                        "Big bills",
                        [
                            {
                                "name": "big",
                                "targetEntity": "TRANSACTION",
                                "targetType": "SALES",
                                "expression": "currentTxn.value > 500",
                                "defaultValue": 2000,
                            }
                        ],
                    )
                )

            # Send, and kill the server while a batch is being ingested.
            sender = Sender(server, batches)
            thread = threading.Thread(target=sender.run, daemon=True)
            thread.start()
            time.sleep(max(0.0, sender.moment_to_kill(rng) - time.monotonic()))
            code = server.kill()
            thread.join(timeout=REQUEST_SECONDS + 5)
            assert not thread.is_alive(), "the sender still waits on a killed server"
            assert code == -signal.SIGKILL, f"the server ended with {code}, not by SIGKILL"
            assert len(sender.failed) == 1, f"expected one unacknowledged batch: {sender.failed}"
            (lost_number,) = sender.failed
            assert sorted(sender.acked) == list(range(lost_number))
            for number, results in sender.acked.items():
                statuses = Counter(result["status"] for result in results)
                assert statuses == {"APPLIED": BATCH_SIZE}, f"batch {number}: {statuses}"

            # After a restart: the acknowledged batches, and the in-flight one all or nothing.
            server.start()
            stored = set(stored_event_ids(url))
            in_flight = {event["eventId"] for event in batches[lost_number]}
            landed = len(in_flight & stored)
            assert landed in (0, BATCH_SIZE), (
                f"the batch in flight was half stored: {landed} of {BATCH_SIZE} events"
            )
            print(
                f"{engine}: killed during batch {lost_number} (batches took "
                f"{min(sender.seconds):.2f}-{max(sender.seconds):.2f} s); "
                f"it was {'committed' if landed else 'rolled back'}"
            )
            committed = sorted(sender.acked) + ([lost_number] if landed else [])
            committed_ids = {event["eventId"] for n in committed for event in batches[n]}
            check_stored(url, committed_ids)
            assert with_contributions(stored_totals(url)) == expected_totals(
                [batches[n] for n in committed], ids
            )

            # Resend everything: what is stored is a duplicate, the rest applies once.
            with api(server) as client:
                for number, batch in enumerate(batches):
                    response = post_json(client, "/v3/events/bulk", {"events": batch})
                    assert response.status_code == 200, f"batch {number}: {response.text[:500]}"
                    results = read_json(response)["data"]["results"]
                    wrong = [
                        (result["eventId"], result["status"])
                        for result in results
                        if result["status"]
                        != ("DUPLICATE" if result["eventId"] in committed_ids else "APPLIED")
                    ]
                    assert not wrong, f"batch {number} resent: {wrong[:10]}"
            check_stored(url, {event["eventId"] for batch in batches for event in batch})
            assert with_contributions(stored_totals(url)) == expected_totals(batches, ids)
        finally:
            server.stop()
