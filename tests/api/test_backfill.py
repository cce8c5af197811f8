"""``POST /v3/targetGroups/{id}/backfill`` (SPEC §16): a group made late, as if it had been there.

For each kind of group, two identical groups: the first exists while a few hundred
purchases and returns arrive live (the clock moved to each batch's time, as in real
life), the second is made after them and backfilled. Their user views must then be the
same, key by key (ids, names, refCodes naming the group and audit times aside), for
every customer and every period; the first group must not move by a thousandth, and a
second backfill must change nothing. Jobs run in a real :class:`JobWorker` called by
the test. The org is on UTC.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import simplejson
from fastapi.testclient import TestClient

from milestones import admin
from milestones.clock import Clock
from milestones.jobs import JobWorker
from milestones.settings import Settings
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.api.test_bad_input import assert_refused
from tests.api.test_streaks import weekly_streaks
from tests.conftest import OrgCredentials, make_org

Json = dict[str, Any]
CUSTOMERS = list(range(8001, 8009))
FIRST = datetime(2024, 8, 5, 0, 0, tzinfo=UTC)
LAST = datetime(2024, 8, 26, 23, 0, tzinfo=UTC)


def spend(value: Any = 1000, **fields: Any) -> Json:
    return {
        "name": "spend",
        "targetEntity": "TRANSACTION",
        "targetType": "SALES",
        "defaultValue": value,
        **fields,
    }


def bills(value: Any = 5) -> Json:
    return {
        "name": "bills",
        "targetEntity": "TRANSACTION",
        "targetType": "COUNT",
        "defaultValue": value,
    }


def visits(value: Any = 3) -> Json:
    return {
        "name": "visits",
        "targetEntity": "TRANSACTION",
        "targetType": "VISIT",
        "defaultValue": value,
    }


HALF = [{"triggerName": "half", "triggerValueType": "PERCENTAGE", "triggerValue": 50}]
KINDS: dict[str, Callable[[str], Json]] = {
    "fixed": lambda name: monthly_spend(
        name, targets=[spend(1500, targetMilestoneTriggers=HALF), bills(6)], leaderboardEnabled=True
    ),
    "capping": lambda name: monthly_spend(name, trackingType="CAPPING", targets=[spend(2500)]),
    "cyclic": lambda name: monthly_spend(
        name,
        targetEvaluationType="CYCLIC_WINDOW",
        frequencyType="WEEKLY",
        totalPeriods=3,
        targetCycleStartDate="2024-08-01T00:00:00.000",
        targetCycleEndDate="2024-10-31T23:59:59.000",
        targets=[spend(600), bills(3)],
    ),
    "agnostic": lambda name: monthly_spend(
        name,
        targetEvaluationType="PERIOD_AGNOSTIC_WINDOW",
        totalPeriods=2,
        targets=[spend(900)],
    ),
    "streak": lambda name: weekly_streaks(name=name),
    "unified": lambda name: monthly_spend(
        name, trackingType="UNIFIED", targets=[spend(1200), visits(4)]
    ),
}


@pytest.fixture(autouse=True)
def leaderboards(database: Database, utc_org: OrgCredentials) -> None:
    """The org's leaderboards on, for the FIXED group's board."""
    admin.set_org(database, utc_org.org_id, leaderboards_enabled=True)


def history(seed: int) -> list[Json]:
    """Purchases of the customers in August, and returns of some of them, in time order."""
    rng = random.Random(seed)
    made: list[Json] = []
    bought: list[tuple[Json, datetime]] = []
    for number in range(220):
        at = FIRST + timedelta(seconds=rng.randint(0, int((LAST - FIRST).total_seconds())))
        user = rng.choice(CUSTOMERS)
        amount = Decimal(rng.randint(1_000, 400_000)).scaleb(-3)
        event = {
            "eventId": f"h-{number}",
            "eventName": "TransactionAdd",
            "userId": user,
            "eventTime": _text(at),
            "transaction": {"billNumber": f"h-{number}", "billAmount": amount},
        }
        made.append(event)
        bought.append((event, at))
    for number, (bill, at) in enumerate(rng.sample(bought, 25)):
        back = at + timedelta(hours=rng.randint(1, 72))
        amount = (bill["transaction"]["billAmount"] / 2).quantize(Decimal("0.001"))
        made.append(
            {
                "eventId": f"r-{number}",
                "eventName": "ReturnBill",
                "userId": bill["userId"],
                "eventTime": _text(min(back, LAST)),
                "return": {"originalEventId": bill["eventId"], "amount": amount},
            }
        )
    return sorted(made, key=lambda event: (event["eventTime"], event["eventName"]))


def _text(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def send_live(client: TestClient, org: OrgCredentials, clock: Clock, events: list[Json]) -> None:
    """One at a time, the clock at each event's time: they arrive as they happen."""
    for event in events:
        clock.set(datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00")))
        response = client.post(
            "/v3/events",
            content=simplejson.dumps(event, use_decimal=True),
            headers={"content-type": "application/json"},
            auth=org.auth,
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] in ("APPLIED", "NO_MATCH"), response.text


def create(client: TestClient, org: OrgCredentials, body: Json) -> Json:
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    group: Json = response.json()["data"]
    return group


def views(client: TestClient, org: OrgCredentials, group: Json) -> dict[int, Json]:
    """Each customer's entry of ``group`` in the user view, every period, normalised."""
    found: dict[int, Json] = {}
    for user in CUSTOMERS:
        response = client.get(
            f"/v3.1/users/{user}/targetGroups", params={"includeInactive": "true"}, auth=org.auth
        )
        assert response.status_code == 200, response.text
        data = json.loads(response.content, parse_float=Decimal)["data"]
        (entry,) = [g for g in data["targetGroups"] if g["id"] == group["id"]]
        found[user] = _normal(entry, str(group["id"]))
    return found


_IGNORED = {"id", "name", "attribution", "createdOn", "lastUpdatedOn"}


def _normal(value: Any, group_id: str) -> Any:
    """Ids, names and audit times dropped; the group's id in refCodes replaced."""
    if isinstance(value, dict):
        return {
            key: _normal(item, group_id)
            for key, item in value.items()
            if key not in _IGNORED and not key.endswith("Id") and not key.endswith("Ids")
        }
    if isinstance(value, list):
        return [_normal(item, group_id) for item in value]
    if isinstance(value, str):
        return value.replace(f"_{group_id}_", "_G_")  # PERIOD_G_<group id>_1, ...
    return value


def _same(got: Any, expected: Any, path: str = "") -> None:
    """Equal, or the first paths that differ (a whole-view diff is unreadable)."""
    differences: list[str] = []

    def walk(a: Any, b: Any, at: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key, "<missing>"), b.get(key, "<missing>"), f"{at}.{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{at}[{index}]")
        elif a != b:
            differences.append(f"{at}: {a!r} != {b!r}")

    walk(got, expected, path)
    assert not differences, "\n".join(differences[:15])


def boards(client: TestClient, org: OrgCredentials, group: Json) -> dict[str, list[Json]]:
    """The running period's leaderboard of each target, by target name."""
    found: dict[str, list[Json]] = {}
    for target in group["targets"]:
        response = client.get(
            f"/v3.1/leaderboards/targetGroups/{group['id']}",
            params={"targetId": target["id"], "pageSize": 100},
            auth=org.auth,
        )
        assert response.status_code == 200, response.text
        entries = json.loads(response.content, parse_float=Decimal)["data"]["entries"]
        assert entries, response.text
        found[target["name"]] = [_normal(entry, str(group["id"])) for entry in entries]
    return found


def backfill(client: TestClient, org: OrgCredentials, group_id: int) -> Json:
    response = client.post(f"/v3/targetGroups/{group_id}/backfill", auth=org.auth)
    assert response.status_code == 202, response.text
    job: Json = response.json()["data"]
    assert job["type"] == "BACKFILL"
    return job


def run_jobs(database: Database, clock: Clock) -> None:
    JobWorker(
        database, Settings(database_url=database.url, import_chunk_lines=50), clock
    ).run_pending()


def get_job(client: TestClient, org: OrgCredentials, job_id: int) -> Json:
    response = client.get(f"/v3/jobs/{job_id}", auth=org.auth)
    assert response.status_code == 200, response.text
    job: Json = response.json()["data"]
    return job


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_backfilled_group_shows_what_the_same_group_made_before_the_events_shows(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock, kind: str
) -> None:
    org = utc_org
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    live = create(client, org, KINDS[kind]("live"))
    events = history(seed=16)
    send_live(client, org, clock, events)
    clock.set(datetime(2024, 8, 27, 10, 0, tzinfo=UTC))
    before = views(client, org, live)
    reached = [t for entry in before.values() for t in entry["targets"] if t["targetAchievedValue"]]
    assert len(reached) >= len(CUSTOMERS), before

    late = create(client, org, KINDS[kind]("late"))
    job = backfill(client, org, late["id"])
    assert job["total"] == len(events)
    run_jobs(database, clock)
    done = get_job(client, org, job["id"])
    assert done["status"] == "DONE" and done["done"] == len(events), done
    assert "REJECTED" not in done["counts"], done

    _same(views(client, org, late), before)
    assert views(client, org, live) == before, "the backfill moved another group"
    if live["leaderboardEnabled"]:
        assert boards(client, org, late) == boards(client, org, live)

    again = backfill(client, org, late["id"])
    assert again["id"] != job["id"] and again["total"] == 0
    run_jobs(database, clock)
    assert get_job(client, org, again["id"])["status"] == "DONE"
    assert views(client, org, late) == before


def test_a_backfilled_groups_notifications_are_replayed_and_others_make_none(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    send_live(client, org, clock, history(seed=3)[:60])
    clock.set(datetime(2024, 8, 27, 10, 0, tzinfo=UTC))
    late = create(client, org, KINDS["fixed"]("late"))
    run_jobs(database, clock)
    backfill(client, org, late["id"])
    run_jobs(database, clock)
    feed = client.get("/v3/notifications", params={"after": 0, "limit": 1000}, auth=org.auth)
    notes = feed.json()["data"]
    assert notes and all(note["replayed"] for note in notes)
    assert {note["data"]["targetGroupId"] for note in notes} == {late["id"]}


def test_events_received_after_the_group_was_made_are_not_applied_twice(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    clock.set(datetime(2024, 8, 10, tzinfo=UTC))
    early = [e for e in history(seed=5) if e["eventTime"] < "2024-08-10"]
    send_live(client, org, clock, early)
    clock.set(datetime(2024, 8, 20, tzinfo=UTC))
    group = create(client, org, KINDS["fixed"]("group"))
    clock.set(datetime(2024, 8, 27, 10, 0, tzinfo=UTC))
    purchase = {
        "eventId": "after",
        "eventName": "TransactionAdd",
        "userId": CUSTOMERS[0],
        "eventTime": "2024-08-26T10:00:00.000Z",
        "transaction": {"billNumber": "after", "billAmount": 100},
    }
    client.post("/v3/events", json=purchase, auth=org.auth)
    job = backfill(client, org, group["id"])
    assert job["total"] == len(early)
    run_jobs(database, clock)
    assert get_job(client, org, job["id"])["done"] == job["total"]
    spent = sum(
        (
            e["transaction"]["billAmount"]
            for e in early
            if e["userId"] == CUSTOMERS[0] and "transaction" in e
        ),
        Decimal(0),
    ) - sum(
        (e["return"]["amount"] for e in early if e["userId"] == CUSTOMERS[0] and "return" in e),
        Decimal(0),
    )
    entry = views(client, org, group)[CUSTOMERS[0]]
    august = next(t for t in entry["targets"] if t["targetName"] == "spend")
    assert august["targetAchievedValue"] == spent + 100


def test_a_backfill_of_another_orgs_group_is_not_found(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    other = make_org(database, clock, 4242)
    theirs = create(client, other, KINDS["capping"]("theirs"))
    response = client.post(f"/v3/targetGroups/{theirs['id']}/backfill", auth=utc_org.auth)
    assert_refused(response, 404, "groupId")
    assert_refused(client.post("/v3/targetGroups/0/backfill", auth=utc_org.auth), 400, "groupId")
    assert client.post(f"/v3/targetGroups/{theirs['id']}/backfill").status_code == 401


def test_a_backfill_asked_for_while_one_is_queued_answers_that_one(
    client: TestClient, utc_org: OrgCredentials
) -> None:
    group = create(client, utc_org, KINDS["fixed"]("group"))
    first = backfill(client, utc_org, group["id"])
    assert backfill(client, utc_org, group["id"])["id"] == first["id"]


def test_a_backfill_stopped_after_a_chunk_resumes_and_counts_nothing_twice(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    live = create(client, org, KINDS["capping"]("live"))
    events = history(seed=21)
    send_live(client, org, clock, events)
    clock.set(datetime(2024, 8, 27, 10, 0, tzinfo=UTC))
    late = create(client, org, KINDS["capping"]("late"))
    job = backfill(client, org, late["id"])
    settings = Settings(database_url=database.url, import_chunk_lines=50, job_lease_seconds=0.01)
    stop = threading.Event()
    JobWorker(database, settings, clock).run_one(stop, on_chunk=lambda *_: stop.set())
    assert get_job(client, org, job["id"])["done"] == 50
    JobWorker(database, settings, clock).run_pending()
    done = get_job(client, org, job["id"])
    assert done["status"] == "DONE" and done["resumed"] == 1 and done["done"] == len(events)
    _same(views(client, org, late), views(client, org, live))


def test_a_backfill_re_anchors_cyclic_customers_as_events_that_came_out_of_order_did(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    """Events sent in shuffled order re-anchor customers' cycles live; replayed in the order
    they were stored, they re-anchor the backfilled group the same way. A 30-day retro
    buffer keeps every late one inside its cycle live too; ``enrolledOn`` is left out: live
    it is when the event was processed, backfilled when it happened."""
    org = utc_org
    admin.set_org(database, org.org_id, retro_buffer_days=30)
    clock.set(datetime(2024, 8, 27, 10, 0, tzinfo=UTC))
    live = create(client, org, KINDS["cyclic"]("live"))
    purchases = [e for e in history(seed=9) if e["eventName"] == "TransactionAdd"]
    random.Random(4).shuffle(purchases)
    replaced = 0
    for start in range(0, len(purchases), 25):
        response = client.post(
            "/v3/events/bulk",
            content=simplejson.dumps({"events": purchases[start : start + 25]}, use_decimal=True),
            headers={"content-type": "application/json"},
            auth=org.auth,
        )
        assert response.status_code == 200, response.text
        results = response.json()["data"]["results"]
        assert {r["status"] for r in results} <= {"APPLIED", "NO_MATCH"}, results
        replaced += sum(
            effect["contributionType"] == "REPLACE" for r in results for effect in r["sideEffects"]
        )
    assert replaced, "no customer was re-anchored: the test shows nothing"
    clock.advance(timedelta(minutes=1))
    late = create(client, org, KINDS["cyclic"]("late"))
    backfill(client, org, late["id"])
    run_jobs(database, clock)

    def without_enrolment(found: dict[int, Json]) -> dict[int, Json]:
        for entry in found.values():
            for target in entry["targets"]:
                target.pop("enrolledOn")
        return found

    _same(without_enrolment(views(client, org, late)), without_enrolment(views(client, org, live)))


def test_backfill_true_on_create_makes_its_job_with_the_group_and_equals_an_explicit_one(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    events = history(seed=11)
    send_live(client, org, clock, events)
    clock.set(datetime(2024, 8, 27, 10, 0, tzinfo=UTC))
    made = create(client, org, {**KINDS["unified"]("made"), "backfill": True})
    queued = get_job(client, org, made["backfillJobId"])
    assert queued["type"] == "BACKFILL" and queued["status"] == "QUEUED", queued
    assert queued["total"] == len(events), queued
    asked = create(client, org, KINDS["unified"]("asked"))
    assert "backfillJobId" not in asked
    backfill(client, org, asked["id"])
    run_jobs(database, clock)
    assert get_job(client, org, made["backfillJobId"])["status"] == "DONE"
    _same(views(client, org, made), views(client, org, asked))

    jobs = client.get("/v3/jobs", auth=org.auth).json()["pagination"]["total"]
    refused = client.post(
        "/v3/targetGroups",
        json={**KINDS["fixed"]("refused"), "backfill": True, "frequency": "monthly"},
        auth=org.auth,
    )
    assert_refused(refused, 400, "frequency")
    refused = client.post(
        "/v3/targetGroups", json={**KINDS["fixed"]("refused"), "backfill": "yes"}, auth=org.auth
    )
    assert_refused(refused, 400, "backfill")
    assert client.get("/v3/jobs", auth=org.auth).json()["pagination"]["total"] == jobs
    names = [g["name"] for g in client.get("/v3/targetGroups", auth=org.auth).json()["data"]]
    assert "refused" not in names
