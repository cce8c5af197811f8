"""``POST /v3/events/import`` and ``/v3/jobs`` (SPEC §16), through the real app.

Each import is spooled by the app and its job run by a real :class:`JobWorker` on the
same database, called by the test (the app's own worker thread is off in these tests),
so every step is seen in order. Groups are monthly from 2024-08-01 in Asia/Kolkata; the
clock is pinned at 2024-08-27T10:00Z.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from milestones import admin
from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.domain.jobs import MAX_LINE_BYTES
from milestones.jobs import JobWorker, spool_folder, wall_clock
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.tables import jobs, user_targets
from tests.api.groups import monthly_spend
from tests.api.test_bad_input import assert_refused
from tests.conftest import OrgCredentials, make_org

Json = dict[str, Any]
USER = 347286146
IMPORT = "/v3/events/import"
NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(database_url=database.url, data_dir=tmp_path / "data", import_chunk_lines=3)


@pytest.fixture
def app_client(database: Database, clock: Clock, settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def bill(
    event_id: str, amount: Any, at: str = "2024-08-20T10:00:00.000Z", user: int = USER
) -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount},
    }


def ndjson(*lines: Json | str) -> bytes:
    return "".join(
        (line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines
    ).encode()


def spend_group(client: TestClient, org: OrgCredentials, **changes: Any) -> int:
    body = monthly_spend(**changes)
    body["targets"][0]["targetMilestoneTriggers"] = [
        {"triggerName": "half", "triggerValueType": "PERCENTAGE", "triggerValue": 50}
    ]
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    return int(response.json()["data"]["id"])


def post_import(client: TestClient, org: OrgCredentials, body: bytes) -> Json:
    response = client.post(IMPORT, content=body, headers=NDJSON, auth=org.auth)
    assert response.status_code == 202, response.text
    job: Json = response.json()["data"]
    assert job["status"] == "QUEUED" and job["type"] == "EVENT_IMPORT"
    return job


def run_jobs(database: Database, settings: Settings, clock: Clock) -> int:
    return JobWorker(database, settings, clock).run_pending()


def get_job(client: TestClient, org: OrgCredentials, job_id: int) -> Json:
    response = client.get(f"/v3/jobs/{job_id}", auth=org.auth)
    assert response.status_code == 200, response.text
    found: Json = response.json()["data"]
    return found


def achieved(database: Database, org_id: int) -> dict[int, Decimal]:
    """Each customer's achieved value in the group's user targets (one period here)."""
    with database.transaction(write=False) as connection:
        rows = connection.execute(
            select(user_targets.c.user_id, user_targets.c.achieved_value).where(
                user_targets.c.org_id == org_id
            )
        ).all()
    found: dict[int, Decimal] = {}
    for user, value in rows:
        found[user] = found.get(user, Decimal(0)) + value
    return found


def test_an_import_applies_the_good_lines_and_reports_each_bad_one_by_number(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    spend_group(app_client, org)
    body = ndjson(
        bill("i-1", 300),
        "{not json",
        bill("i-2", 250.125, user=USER + 1),
        "",
        {**bill("i-3", 10), "eventTime": "yesterday"},
        bill("i-4", 400),
        "[1, 2]",
        bill("i-5", 1, at="2030-01-01T00:00:00.000Z"),
    )
    job = post_import(app_client, org, body)
    assert job["total"] == 8 and job["done"] == 0
    assert run_jobs(database, settings, clock) == 1

    done = get_job(app_client, org, job["id"])
    assert done["status"] == "DONE", done
    assert done["done"] == done["total"] == 8
    assert done["counts"] == {"APPLIED": 3, "REJECTED": 4}
    assert [error["line"] for error in done["errors"]] == [2, 5, 7, 8]
    assert "not valid JSON" in done["errors"][0]["message"]
    assert "eventTime" in done["errors"][1]["message"]
    assert "5 minutes" in done["errors"][3]["message"]
    assert done["errorsTruncated"] is False and done["resumed"] == 0
    assert done["startedAt"] and done["finishedAt"] and done["rate"] >= 0
    assert achieved(database, org.org_id) == {USER: Decimal(700), USER + 1: Decimal("250.125")}
    assert not list(spool_folder(settings).iterdir()), "the spooled body is removed when done"


def test_history_is_applied_as_of_its_own_time_not_out_of_window(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    spend_group(app_client, org)
    clock.set(clock.now() + timedelta(days=60))  # August closed long ago; retro buffer 0
    late = bill("late-bulk", 100)
    answer = app_client.post("/v3/events/bulk", json={"events": [late]}, auth=org.auth)
    assert answer.json()["data"]["results"][0]["status"] == "OUT_OF_WINDOW"

    job = post_import(app_client, org, ndjson(bill("late-1", 600), bill("late-2", 500)))
    run_jobs(database, settings, clock)
    assert get_job(app_client, org, job["id"])["counts"] == {"APPLIED": 2}
    assert achieved(database, org.org_id) == {USER: Decimal(1100)}


def test_importing_the_same_file_twice_counts_nothing_twice(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    spend_group(app_client, org)
    body = ndjson(*(bill(f"twice-{n}", 100, user=USER + n % 3) for n in range(10)))
    first = post_import(app_client, org, body)
    second = post_import(app_client, org, body)
    run_jobs(database, settings, clock)
    assert get_job(app_client, org, first["id"])["counts"] == {"APPLIED": 10}
    assert get_job(app_client, org, second["id"])["counts"] == {"DUPLICATE": 10}
    assert achieved(database, org.org_id) == {
        USER: Decimal(400),
        USER + 1: Decimal(300),
        USER + 2: Decimal(300),
    }
    # An event already sent through the bulk endpoint is a duplicate of the import too.
    resent = app_client.post(
        "/v3/events/bulk", json={"events": [bill("twice-0", 100)]}, auth=org.auth
    )
    assert resent.json()["data"]["results"][0]["status"] == "DUPLICATE"


def test_an_imports_notifications_are_replayed(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    spend_group(app_client, org)
    app_client.post("/v3/events", json=bill("live", 600, user=USER + 9), auth=org.auth)
    post_import(app_client, org, ndjson(bill("old-1", 600), bill("old-2", 500)))
    run_jobs(database, settings, clock)
    feed = app_client.get("/v3/notifications", params={"after": 0}, auth=org.auth).json()["data"]
    told = {(n["userId"], n["type"], n["replayed"]) for n in feed}
    assert told == {
        (USER + 9, "milestone.achieved", False),
        (USER, "milestone.achieved", True),
        (USER, "target.achieved", True),
    }


def test_a_job_stopped_mid_file_resumes_after_its_checkpoint(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    spend_group(app_client, org)
    events = [bill(f"r-{n}", n + 1, user=USER + n % 4) for n in range(20)]
    job = post_import(app_client, org, ndjson(*events))
    stop = threading.Event()
    chunks = 0

    def stop_after_two(_job: object, _progress: object) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 2:
            stop.set()

    first = JobWorker(database, settings, clock)
    assert first.run_one(stop, on_chunk=stop_after_two)
    halfway = get_job(app_client, org, job["id"])
    assert halfway["status"] == "RUNNING" and halfway["done"] == 6
    # The worker died without letting go: its lease runs out, then another resumes.
    with database.transaction() as connection:
        connection.execute(
            update(jobs).values(worker="dead", lease_until=wall_clock() + timedelta(minutes=5))
        )
    assert run_jobs(database, settings, clock) == 0, "a job under a live lease is not claimed"
    with database.transaction() as connection:
        connection.execute(update(jobs).values(lease_until=wall_clock() - timedelta(seconds=1)))
    assert run_jobs(database, settings, clock) == 1

    done = get_job(app_client, org, job["id"])
    assert done["status"] == "DONE" and done["done"] == 20 and done["resumed"] == 1
    assert done["counts"] == {"APPLIED": 20}
    expected: dict[int, Decimal] = {}
    for n in range(20):
        expected[USER + n % 4] = expected.get(USER + n % 4, Decimal(0)) + n + 1
    assert achieved(database, org.org_id) == expected


def test_a_worker_that_lost_its_lease_has_its_chunk_rolled_back(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    spend_group(app_client, org)
    job = post_import(app_client, org, ndjson(*(bill(f"l-{n}", 10) for n in range(6))))
    worker = JobWorker(database, settings, clock)
    claimed = worker.claim()
    assert claimed is not None
    with database.transaction() as connection:  # another worker took the job meanwhile
        connection.execute(update(jobs).values(worker="other"))
    worker.run_claimed(claimed, threading.Event())
    stalled = get_job(app_client, org, job["id"])
    assert stalled["done"] == 0 and stalled["status"] == "RUNNING"
    assert achieved(database, org.org_id) == {}


def test_jobs_are_listed_newest_first_and_another_orgs_job_is_not_found(
    app_client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    other = make_org(database, clock, 777)
    mine = [post_import(app_client, org, ndjson(bill(f"o-{n}", 1)))["id"] for n in range(3)]
    theirs = post_import(app_client, other, ndjson(bill("t-1", 1)))["id"]

    page = app_client.get("/v3/jobs", params={"limit": 2}, auth=org.auth).json()
    assert [job["id"] for job in page["data"]] == mine[::-1][:2]
    assert page["pagination"] == {"limit": 2, "offset": 0, "total": 3}
    assert_refused(app_client.get(f"/v3/jobs/{theirs}", auth=org.auth), 404, "id")
    assert_refused(app_client.get("/v3/jobs/999999", auth=org.auth), 404, "id")
    assert_refused(app_client.get("/v3/jobs/0", auth=org.auth), 400, "jobId")
    assert app_client.get(f"/v3/jobs/{theirs}", auth=other.auth).status_code == 200
    assert app_client.get("/v3/jobs").status_code == 401


@pytest.mark.parametrize(
    ("body", "mention"),
    [
        (b'[{"eventId": "a"}, {"eventId": "b"}]\n', "not NDJSON"),
        (b'{\n  "eventId": "pretty"\n}\n', "not NDJSON"),
        (b"userId,amount\n1,2\n", "not NDJSON"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "not NDJSON"),
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
    ],
)
def test_a_body_that_is_not_ndjson_is_refused_and_makes_no_job(
    app_client: TestClient, org: OrgCredentials, settings: Settings, body: bytes, mention: str
) -> None:
    response = app_client.post(IMPORT, content=body, headers=NDJSON, auth=org.auth)
    assert_refused(response, 400, "body", mention=mention)
    assert app_client.get("/v3/jobs", auth=org.auth).json()["pagination"]["total"] == 0
    assert not list(spool_folder(settings).iterdir())


def test_a_line_over_one_megabyte_is_refused_with_its_number(
    app_client: TestClient, org: OrgCredentials, settings: Settings
) -> None:
    long_line = json.dumps({**bill("big", 1), "pad": "x" * MAX_LINE_BYTES})
    body = ndjson(bill("ok", 1), long_line, bill("after", 1))
    response = app_client.post(IMPORT, content=body, headers=NDJSON, auth=org.auth)
    assert_refused(response, 413, "body", mention="line 2")
    assert app_client.get("/v3/jobs", auth=org.auth).json()["pagination"]["total"] == 0
    assert not list(spool_folder(settings).iterdir())
    # A line of exactly 1 MB is taken.
    exact = json.dumps({**bill("exact", 1), "pad": ""})
    exact = exact[:-1] + ', "more": "' + "y" * (MAX_LINE_BYTES - len(exact) - 12) + '"}'
    assert len(exact.encode()) == MAX_LINE_BYTES
    response = app_client.post(IMPORT, content=ndjson(exact), headers=NDJSON, auth=org.auth)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/csv", "application/x-ndjson; charset=latin-1"]
)
def test_a_body_of_another_type_is_refused_415(
    app_client: TestClient, org: OrgCredentials, content_type: str
) -> None:
    response = app_client.post(
        IMPORT, content=ndjson(bill("x", 1)), headers={"content-type": content_type}, auth=org.auth
    )
    assert_refused(response, 415, "Content-Type")


def test_an_import_needs_credentials(app_client: TestClient) -> None:
    response = app_client.post(IMPORT, content=ndjson(bill("x", 1)), headers=NDJSON)
    assert response.status_code == 401
    assert response.json()["data"] is None


def test_a_lines_numbers_count_from_a_resumed_checkpoint(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    spend_group(app_client, org)
    admin.set_org(database, org.org_id, retro_buffer_days=0)
    lines: list[Json | str] = [bill(f"n-{n}", 1) for n in range(7)]
    lines[5] = "oops"
    job = post_import(app_client, org, ndjson(*lines))
    stop = threading.Event()
    JobWorker(database, settings, clock).run_one(stop, on_chunk=lambda *_: stop.set())
    with database.transaction() as connection:
        connection.execute(update(jobs).values(lease_until=wall_clock() - timedelta(seconds=1)))
    run_jobs(database, settings, clock)
    done = get_job(app_client, org, job["id"])
    assert [error["line"] for error in done["errors"]] == [6]
    assert done["counts"] == {"APPLIED": 6, "REJECTED": 1}


def test_the_servers_own_job_worker_runs_an_import_and_lets_go_when_it_stops(
    database: Database, clock: Clock, org: OrgCredentials, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=database.url,
        data_dir=tmp_path / "data",
        job_worker=True,
        job_poll_seconds=0.05,
        import_chunk_lines=5,
    )
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        spend_group(client, org)
        job = post_import(client, org, ndjson(*(bill(f"w-{n}", 10) for n in range(40))))
        deadline = wall_clock() + timedelta(seconds=20)
        while get_job(client, org, job["id"])["status"] != "DONE":
            assert wall_clock() < deadline, get_job(client, org, job["id"])
            threading.Event().wait(0.05)
    assert achieved(database, org.org_id) == {USER: Decimal(400)}


def test_a_worker_stopped_between_chunks_lets_go_of_its_job_at_once(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    spend_group(app_client, org)
    job = post_import(app_client, org, ndjson(*(bill(f"s-{n}", 1) for n in range(9))))
    stop = threading.Event()
    JobWorker(database, settings, clock).run_one(stop, on_chunk=lambda *_: stop.set())
    with database.transaction(write=False) as connection:
        worker, lease_until = connection.execute(select(jobs.c.worker, jobs.c.lease_until)).one()
    assert worker is None and lease_until <= wall_clock()
    assert run_jobs(database, settings, clock) == 1, "claimed again without waiting for a lease"
    done = get_job(app_client, org, job["id"])
    assert done["status"] == "DONE" and done["resumed"] == 1 and done["counts"] == {"APPLIED": 9}


def test_a_return_in_an_import_is_taken_back_as_of_its_own_time(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    """Live, a return after its bill's period closed is carried into the period open now;
    imported, it is taken back where it would have been on its own day."""
    spend_group(app_client, org)
    clock.set(clock.now() + timedelta(days=40))  # October 6th: August has closed
    returned = {
        "eventId": "back-1",
        "eventName": "ReturnBill",
        "userId": USER,
        "eventTime": "2024-08-25T10:00:00.000Z",
        "return": {"originalEventId": "bill-1", "amount": 600},
    }
    job = post_import(app_client, org, ndjson(bill("bill-1", 600), returned))
    run_jobs(database, settings, clock)
    assert get_job(app_client, org, job["id"])["counts"] == {"APPLIED": 2}
    with database.transaction(write=False) as connection:
        rows = connection.execute(
            select(user_targets.c.starts_at, user_targets.c.achieved_value).order_by(
                user_targets.c.starts_at
            )
        ).all()
    august = datetime(2024, 7, 31, 18, 30, tzinfo=UTC)  # in Asia/Kolkata
    assert rows == [(august, Decimal(0))]


def test_a_line_taking_a_total_past_the_largest_value_kept_is_the_only_one_rejected(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    spend_group(app_client, org)
    most = "999999999999999.999"  # the largest number an event may hold
    lines: list[Json | str] = [
        json.dumps(bill(f"max-{n}", 0)).replace('"billAmount": 0', f'"billAmount": {most}')
        for n in range(10)
    ]
    lines.append(bill("small", 5, user=USER + 1))
    job = post_import(app_client, org, ndjson(*lines))
    run_jobs(database, settings, clock)
    done = get_job(app_client, org, job["id"])
    assert done["status"] == "DONE", done
    assert done["counts"] == {"APPLIED": 10, "REJECTED": 1}
    assert [error["line"] for error in done["errors"]] == [10]
    assert "largest value" in done["errors"][0]["message"]
    assert achieved(database, org.org_id) == {
        USER: Decimal(most) * 9,
        USER + 1: Decimal(5),
    }


def test_a_job_whose_file_is_gone_fails_and_says_why(
    app_client: TestClient,
    org: OrgCredentials,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    job = post_import(app_client, org, ndjson(bill("gone", 1)))
    for spooled in spool_folder(settings).iterdir():
        spooled.unlink()
    run_jobs(database, settings, clock)
    failed = get_job(app_client, org, job["id"])
    assert failed["status"] == "FAILED" and "FileNotFoundError" in failed["failure"]
    assert failed["finishedAt"] is not None
