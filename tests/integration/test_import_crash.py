"""SIGKILL of a server mid-import: after a restart the job resumes and counts each event once.

A real ``milestones serve`` takes an NDJSON body of 200,000 purchases on SQLite (30,000
on PostgreSQL, where 200,000 take about 75 s: the module is kept under a minute; 400
customers, two groups, three targets) through ``POST /v3/events/import``. Once its job has applied
a part of the file (but not all of it), the server's whole process group is killed.
Restarted on the same database and data directory, the server's job worker claims the
job once its lease has run out and goes on from the last checkpoint. Then:

- the job is DONE, every line done and APPLIED, and it shows one resume (``resumed`` 1),
  not a run from the start;
- every eventId is stored exactly once;
- every customer's totals are exactly what the events imply, worked out here.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import simplejson

from tests.integration.test_concurrency import (
    Server,
    api,
    create_group,
    prepare_database,
    purchase,
    random_amount,
    random_time,
    read_json,
    stored_totals,
    target_ids,
)
from tests.integration.test_crash import (
    check_stored,
    database_url,
    expected_totals,
    with_contributions,
)

# MILESTONES_IMPORT_CRASH_EVENTS sets one size for both databases (to try others).
EVENTS = {"sqlite": 200_000, "postgresql": 30_000}
SIZE = os.environ.get("MILESTONES_IMPORT_CRASH_EVENTS")
CUSTOMERS = range(1000, 1400)
LEASE_SECONDS = 2
JOB_ENV = {
    "MILESTONES_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
    "MILESTONES_JOB_POLL_SECONDS": "0.2",
}
Json = dict[str, Any]


def write_events(path: Path, seed: int, count: int) -> list[Json]:
    """The purchases, one JSON object a line, decimals written exactly."""
    rng = random.Random(seed)
    made = [
        purchase(f"imp-{n:06d}", rng.choice(CUSTOMERS), random_amount(rng), random_time(rng))
        for n in range(count)
    ]
    with path.open("w") as out:
        for event in made:
            out.write(simplejson.dumps(event, use_decimal=True) + "\n")
    return made


def pieces(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while piece := stream.read(size):
            yield piece


def job_of(client: httpx.Client, job_id: int) -> Json:
    response = client.get(f"/v3/jobs/{job_id}")
    assert response.status_code == 200, response.text
    job: Json = read_json(response)["data"]
    return job


def wait_for(client: httpx.Client, job_id: int, done: Any, seconds: float) -> Json:
    deadline = time.monotonic() + seconds
    job = job_of(client, job_id)
    while not done(job):
        if time.monotonic() > deadline:
            pytest.fail(f"the job did not get there in {seconds} s: {job}")
        if job["status"] == "FAILED":
            pytest.fail(f"the job failed: {job}")
        time.sleep(0.05)
        job = job_of(client, job_id)
    return job


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_server_killed_mid_import_resumes_the_job_and_counts_each_event_once(
    engine: str, tmp_path: Path
) -> None:
    count = int(SIZE) if SIZE else EVENTS[engine]
    file = tmp_path / "events.ndjson"
    made = write_events(file, seed=15, count=count)
    env = {**JOB_ENV, "MILESTONES_DATA_DIR": str(tmp_path / "data")}
    with database_url(engine, tmp_path) as url:
        prepare_database(url)
        server = Server(url, tmp_path / "server.log", workers=1, env=env)
        try:
            server.start()
            with api(server) as client:
                spend = [
                    {"name": "spend", "targetEntity": "TRANSACTION", "targetType": "SALES"},
                    {"name": "bills", "targetEntity": "TRANSACTION", "targetType": "COUNT"},
                ]
                big = {
                    "name": "big",
                    "targetEntity": "TRANSACTION",
                    "targetType": "SALES",
                    "expression": "currentTxn.value > 500",
                }
                ids = target_ids(
                    create_group(
                        client,
                        "Monthly spend",
                        [{**spend[0], "defaultValue": 5000}, {**spend[1], "defaultValue": 10}],
                    )
                ) | target_ids(create_group(client, "Big bills", [{**big, "defaultValue": 2000}]))
                started = time.monotonic()
                response = client.post(
                    "/v3/events/import",
                    content=pieces(file),
                    headers={"content-type": "application/x-ndjson"},
                    timeout=120,
                )
                assert response.status_code == 202, response.text
                job_id = read_json(response)["data"]["id"]
                assert read_json(response)["data"]["total"] == count
                # Killed once a part of the file is applied: at least two chunks, not all.
                part = wait_for(client, job_id, lambda job: job["done"] >= count // 5, 120)
                assert part["status"] == "RUNNING" and part["done"] < count, part
            assert server.kill() == -signal.SIGKILL
            killed_at = time.monotonic() - started
            server.start()
            with api(server) as client:
                job = wait_for(client, job_id, lambda job: job["status"] == "DONE", 180)
        finally:
            server.stop()
        print(f"{engine}: {count:,} events, killed after {killed_at:.1f} s, job: {job}")
        assert job["done"] == job["total"] == count
        assert job["counts"] == {"APPLIED": count}, job
        assert job["resumed"] == 1 and job["errors"] == []
        check_stored(url, {event["eventId"] for event in made})
        assert with_contributions(stored_totals(url)) == expected_totals([made], ids)
