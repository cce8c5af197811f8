"""``POST /v3/targetGroups/{id}/rebuild`` (SPEC §16): a group recomputed from its stored events.

The org is on UTC; purchases of eight customers arrive live through August (the clock
at each one's time), then on the 27th a PUT changes a target and a rebuild recomputes
the group. What the job counts is checked against what the user views show before and
after, worked out here row by row; other groups must not move by a thousandth, and a
second rebuild must change nothing. Jobs run in a real :class:`JobWorker`.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import simplejson
from fastapi.testclient import TestClient
from sqlalchemy import select

from milestones import admin
from milestones.clock import Clock
from milestones.jobs import JobWorker
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.ledger import ledger_rows
from milestones.store.tables import user_targets
from tests.api.groups import monthly_spend
from tests.api.test_backfill import (
    CUSTOMERS,
    HALF,
    KINDS,
    _same,
    bills,
    boards,
    create,
    get_job,
    history,
    run_jobs,
    send_live,
    spend,
    views,
)
from tests.api.test_bad_input import assert_refused
from tests.api.test_streaks import weekly_streaks
from tests.conftest import OrgCredentials, make_org

Json = dict[str, Any]
Row = tuple[int, int, int]  # (userId, targetRuleId, periodId)
NOW = datetime(2024, 8, 27, 10, 0, tzinfo=UTC)
COUNTS = ("userTargetsChanged", "achievementsAdded", "achievementsUnsupported")


@pytest.fixture(autouse=True)
def leaderboards(database: Database, utc_org: OrgCredentials) -> None:
    admin.set_org(database, utc_org.org_id, leaderboards_enabled=True)


def purchases(seed: int) -> list[Json]:
    """The backfill tests' August history without its returns (so that a value below a
    threshold after the rebuild means the new rules never reached it)."""
    return [event for event in history(seed) if event["eventName"] == "TransactionAdd"]


def rows(client: TestClient, org: OrgCredentials, group_id: int) -> dict[Row, Json]:
    """Every customer's entries of the group in the user view (every period), as answered."""
    found: dict[Row, Json] = {}
    for user in CUSTOMERS:
        response = client.get(
            f"/v3.1/users/{user}/targetGroups", params={"includeInactive": "true"}, auth=org.auth
        )
        assert response.status_code == 200, response.text
        data = json.loads(response.content, parse_float=Decimal)["data"]
        for group in data["targetGroups"]:
            if group["id"] == group_id:
                for entry in group["targets"]:
                    found[(user, entry["targetRuleId"], entry["periodId"])] = entry
                found[(user, 0, 0)] = {"streaks": group.get("streaks")}
    return found


def achievements(entry: Json) -> set[str]:
    """What the entry shows achieved: the target itself, and its triggers by name."""
    shown = {"target"} if entry.get("targetAchievedDateTime") else set()
    return shown | {m["triggerName"] for m in entry.get("milestones") or [] if m["isAchieved"]}


def still_reached(entry: Json) -> set[str]:
    """What the entry's value reaches under its target value (no return in the history: a
    value at or past a threshold was reached by the replay)."""
    value, target = entry["targetAchievedValue"], entry["targetValue"]
    reached = {"target"} if value >= target else set()
    for milestone in entry.get("milestones") or []:
        share = target * milestone["triggerValue"] / 100
        if value >= share:
            reached.add(milestone["triggerName"])
    return reached


def shown(entry: Json) -> object:
    """What a rebuild may change in an entry with progress: value, target value, achievement,
    milestones and their times, window (an entry without progress shows the period's value)."""
    if entry["targetId"] is None:
        return None
    return (
        entry["targetAchievedValue"],
        entry["targetValue"],
        entry["targetAchievedDateTime"],
        sorted(
            (m["triggerName"], m["achievedDateTime"])
            for m in entry.get("milestones") or []
            if m["isAchieved"]
        ),
        entry["periodStartDateWithTimeStamp"],
        entry["periodEndDateWithTimeStamp"],
    )


def levels(entry: Json) -> set[str]:
    """The streak levels a customer's group entry shows achieved."""
    return {s["streakName"] for s in entry.get("streaks") or [] if s["status"] == "ACHIEVED"}


def expected_counts(before: dict[Row, Json], after: dict[Row, Json], revoke: bool) -> Json:
    """Worked out from the views alone (streak levels kept without ``revoke`` cannot be
    told supported or not from them: the groups of these tests revoke, or have none)."""
    targets = [key for key in before if key[1]]
    groups = [key for key in before if not key[1]]
    added = sum(len(achievements(after[k]) - achievements(before[k])) for k in targets)
    taken = sum(len(achievements(before[k]) - achievements(after[k])) for k in targets)
    unsupported = sum(len(achievements(before[k]) - still_reached(after[k])) for k in targets)
    added += sum(len(levels(after[k]) - levels(before[k])) for k in groups)
    taken += sum(len(levels(before[k]) - levels(after[k])) for k in groups)
    return {
        "userTargetsChanged": sum(shown(before[k]) != shown(after[k]) for k in targets),
        "achievementsAdded": added,
        "achievementsUnsupported": taken if revoke else unsupported,
        "achievementsRevoked": taken,
    }


def group_rows(database: Database, group_id: int) -> set[int]:
    """The ids of the group's user targets."""
    query = select(user_targets.c.id).where(user_targets.c.target_group_id == group_id)
    with database.engine.connect() as connection:
        return {int(row[0]) for row in connection.execute(query)}


def ledger_of_others(database: Database, org_id: int, ours: set[int]) -> list[object]:
    """Every ledger entry of the org but those of ``ours``: id, user target, amount, kind."""
    with database.engine.connect() as connection:
        return [
            (row.id, row.user_target_id, row.amount, row.kind)
            for row in ledger_rows(connection, org_id)
            if row.user_target_id not in ours
        ]


def put(client: TestClient, org: OrgCredentials, group: Json, target: Json) -> None:
    response = client.put(
        f"/v3/targetGroups/{group['id']}", json={"targets": [target]}, auth=org.auth
    )
    assert response.status_code == 200, response.text


def rebuild(client: TestClient, org: OrgCredentials, group_id: int, body: Any = None) -> Json:
    kwargs: Json = {} if body is None else {"json": body}
    response = client.post(f"/v3/targetGroups/{group_id}/rebuild", auth=org.auth, **kwargs)
    assert response.status_code == 202, response.text
    job: Json = response.json()["data"]
    assert job["type"] == "REBUILD", job
    return job


def rebuilt(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    clock: Clock,
    group_id: int,
    revoke: bool,
) -> Json:
    job = rebuild(client, org, group_id, {"revoke": revoke})
    run_jobs(database, clock)
    done = get_job(client, org, job["id"])
    assert done["status"] == "DONE", done
    assert done["options"] == {"revoke": revoke} and done["done"] == done["total"], done
    return done


def feed(client: TestClient, org: OrgCredentials, after: int = 0) -> list[Json]:
    response = client.get(
        "/v3/notifications", params={"after": after, "limit": 1000}, auth=org.auth
    )
    assert response.status_code == 200, response.text
    notes: list[Json] = response.json()["data"]
    return notes


CHANGES: dict[str, Json] = {
    "a narrower expression": {"expression": "currentTxn.value > 150"},
    "a lower value": {"defaultValue": 4500},
}


@pytest.mark.parametrize("revoke", [False, True], ids=["keep", "revoke"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_rebuild_after_a_put_counts_what_the_user_views_show_changed(
    client: TestClient,
    utc_org: OrgCredentials,
    database: Database,
    clock: Clock,
    change: str,
    revoke: bool,
) -> None:
    org = utc_org
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    group = create(
        client,
        org,
        monthly_spend("changed", targets=[spend(6000, targetMilestoneTriggers=HALF), bills(6)]),
    )
    others = [create(client, org, KINDS[kind](kind)) for kind in ("capping", "cyclic", "unified")]
    send_live(client, org, clock, purchases(seed=16))
    clock.set(NOW)
    before = rows(client, org, group["id"])
    untouched = {other["id"]: rows(client, org, other["id"]) for other in others}
    heard = feed(client, org)
    last = max((note["sequence"] for note in heard), default=0)
    ours = group_rows(database, group["id"])
    entries = ledger_of_others(database, org.org_id, ours)

    put(client, org, group, {"id": group["targets"][0]["id"], **CHANGES[change]})
    done = rebuilt(client, org, database, clock, group["id"], revoke)
    after = rows(client, org, group["id"])
    ours |= group_rows(database, group["id"])
    assert ledger_of_others(database, org.org_id, ours) == entries, "other groups' ledger moved"

    expected = expected_counts(before, after, revoke)
    counts = {name: done["counts"][name] for name in expected}
    assert counts == expected
    assert done["counts"]["userTargetsChanged"] > 0, done
    if change == "a lower value":
        assert done["counts"]["achievementsAdded"] > 0, done
    else:
        assert done["counts"]["achievementsUnsupported"] > 0, done
    assert done["counts"]["eventsReplayed"] == len(purchases(seed=16)), done
    for other in others:
        assert rows(client, org, other["id"]) == untouched[other["id"]], other["name"]

    notes = feed(client, org, last)
    assert all(note["replayed"] for note in notes)
    assert {note["data"]["targetGroupId"] for note in notes} <= {group["id"]}
    by_type = Counter(
        note["type"]
        for note in notes
        if note["data"].get("milestone", {}).get("triggerName") != "targetAchieved"
    )
    assert (
        by_type["target.achieved"] + by_type["milestone.achieved"] == expected["achievementsAdded"]
    )
    assert (
        by_type["target.revoked"] + by_type["milestone.revoked"] == expected["achievementsRevoked"]
    )

    again = rebuilt(client, org, database, clock, group["id"], revoke)
    assert rows(client, org, group["id"]) == after, "a second rebuild changed the views"
    assert {name: again["counts"][name] for name in expected} == {
        **expected,
        "userTargetsChanged": 0,
        "achievementsAdded": 0,
        "achievementsRevoked": 0,
        "achievementsUnsupported": 0 if revoke else expected["achievementsUnsupported"],
    }
    assert feed(client, org, max((note["sequence"] for note in notes), default=last)) == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_rebuild_of_a_group_whose_rules_did_not_change_changes_nothing(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock, kind: str
) -> None:
    """Purchases and returns sent live: replayed under the same rules they give the same
    views, key by key and id by id, and the same leaderboards."""
    org = utc_org
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    group = create(client, org, KINDS[kind]("group"))
    send_live(client, org, clock, history(seed=16))
    clock.set(NOW)
    before = rows(client, org, group["id"])
    board = boards(client, org, group) if group["leaderboardEnabled"] else None
    heard = feed(client, org)

    done = rebuilt(client, org, database, clock, group["id"], revoke=False)
    assert {name: done["counts"][name] for name in COUNTS} == dict.fromkeys(COUNTS, 0), done
    assert done["counts"]["achievementsRevoked"] == 0
    assert rows(client, org, group["id"]) == before
    if board is not None:
        assert boards(client, org, group) == board
    assert feed(client, org) == heard


def test_returns_after_a_rebuild_take_back_what_their_bill_brings_under_the_new_rules(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    user = CUSTOMERS[0]
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    group = create(client, org, monthly_spend("rebuilt", targets=[spend(5000), bills(9)]))
    capped = create(client, org, KINDS["capping"]("capped"))
    other = create(client, org, monthly_spend("other", targets=[spend(5000)]))
    clock.set(datetime(2024, 8, 20, tzinfo=UTC))
    for number, amount in enumerate((300, 100, 300)):
        send_live(
            client, org, clock, [_bill(f"b{number}", user, amount, "2024-08-10T10:00:00.000Z")]
        )
    put(
        client,
        org,
        group,
        {"id": group["targets"][0]["id"], "expression": "currentTxn.value > 150"},
    )
    rebuilt(client, org, database, clock, group["id"], revoke=False)
    put(client, org, capped, {"id": capped["targets"][0]["id"], "defaultValue": 400})
    rebuilt(client, org, database, clock, capped["id"], revoke=False)
    assert _august(client, org, group, user) == {"spend": 600, "bills": 3}
    assert _august(client, org, capped, user) == {"spend": 400}

    clock.set(datetime(2024, 8, 21, tzinfo=UTC))
    send_live(client, org, clock, [_return("r0", user, "b0", 150), _return("r1", user, "b1", 100)])
    # b0 brought 300 and one bill; half of it back takes 150 (and the bill stays); b1 brought
    # no spend under the new expression and its one bill goes back whole.
    assert _august(client, org, group, user) == {"spend": 450, "bills": 2}
    # Capped at 400 of 700 bought: 150 and 100 back take the 300 of excess first, then 0.
    assert _august(client, org, capped, user) == {"spend": 400}
    send_live(client, org, clock, [_return("r2", user, "b2", 300)])
    assert _august(client, org, capped, user) == {"spend": 150}
    assert _august(client, org, group, user) == {"spend": 150, "bills": 1}
    assert _august(client, org, other, user) == {"spend": 150}


def _bill(event_id: str, user: int, amount: int, at: str) -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount},
    }


def _return(event_id: str, user: int, bill: str, amount: int) -> Json:
    return {
        "eventId": event_id,
        "eventName": "ReturnBill",
        "userId": user,
        "eventTime": "2024-08-20T12:00:00.000Z",
        "return": {"originalEventId": bill, "amount": amount},
    }


def _august(client: TestClient, org: OrgCredentials, group: Json, user: int) -> dict[str, int]:
    found = rows(client, org, group["id"])
    august = group["periods"][0]["id"]
    return {
        entry["targetName"]: entry["targetAchievedValue"]
        for (u, _, period), entry in found.items()
        if u == user and period == august
    }


def test_a_rebuild_of_another_orgs_group_is_not_found_and_bad_bodies_are_refused(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    other = make_org(database, clock, 4242)
    theirs = create(client, other, KINDS["capping"]("theirs"))
    path = f"/v3/targetGroups/{theirs['id']}/rebuild"
    assert_refused(client.post(path, auth=org.auth), 404, "groupId")
    assert_refused(client.post("/v3/targetGroups/0/rebuild", auth=org.auth), 400, "groupId")
    assert client.post(path).status_code == 401

    ours = create(client, org, KINDS["fixed"]("ours"))
    path = f"/v3/targetGroups/{ours['id']}/rebuild"
    for body, field in (
        ({"revoke": "yes"}, "revoke"),
        ({"revoke": 1}, "revoke"),
        ({"revok": True}, "revok"),
        ([True], None),
        ("true", None),
    ):
        response = client.post(path, content=simplejson.dumps(body), headers=_JSON, auth=org.auth)
        assert_refused(response, 400, field)
    assert_refused(client.post(path, content=b"{revoke", headers=_JSON, auth=org.auth), 400, None)
    response = client.post(
        path, content=b"revoke=true", headers={"content-type": "text/plain"}, auth=org.auth
    )
    assert_refused(response, 415, "Content-Type")
    assert get_jobs(client, org) == [], "a refused body made a job"

    first = rebuild(client, org, ours["id"])
    assert first["options"] == {"revoke": False} and first["status"] == "QUEUED"
    assert rebuild(client, org, ours["id"], {})["id"] == first["id"]
    response = client.post(path, json={"revoke": True}, auth=org.auth)
    assert_refused(response, 409, "revoke", code=310170)
    response = client.post(f"/v3/targetGroups/{ours['id']}/backfill", auth=org.auth)
    assert_refused(response, 409, "groupId", code=310170)


def test_a_rebuild_of_an_inactive_group_or_while_a_backfill_is_open_is_refused(
    client: TestClient, utc_org: OrgCredentials
) -> None:
    org = utc_org
    group = create(client, org, KINDS["fixed"]("group"))
    response = client.post(f"/v3/targetGroups/{group['id']}/backfill", auth=org.auth)
    assert response.status_code == 202, response.text
    path = f"/v3/targetGroups/{group['id']}/rebuild"
    assert_refused(client.post(path, auth=org.auth), 409, "groupId", code=310170)

    idle = create(client, org, KINDS["fixed"]("idle"))
    response = client.put(f"/v3/targetGroups/{idle['id']}", json={"active": False}, auth=org.auth)
    assert response.status_code == 200, response.text
    response = client.post(f"/v3/targetGroups/{idle['id']}/rebuild", auth=org.auth)
    assert_refused(response, 409, "groupId", code=310170, mention="inactive")


def test_a_rebuild_counts_the_events_received_before_the_group_and_a_backfill_then_adds_none(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    """A rebuild reads every stored event of the group's dates: a group made late and
    rebuilt shows what the same group made early shows; a backfill after it applies none."""
    org = utc_org
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    live = create(client, org, KINDS["fixed"]("live"))
    send_live(client, org, clock, history(seed=7))
    clock.set(NOW)
    late = create(client, org, KINDS["fixed"]("late"))
    done = rebuilt(client, org, database, clock, late["id"], revoke=False)
    assert done["counts"]["achievementsAdded"] > 0, done
    _same(views(client, org, late), views(client, org, live))
    assert boards(client, org, late) == boards(client, org, live)
    response = client.post(f"/v3/targetGroups/{late['id']}/backfill", auth=org.auth)
    assert response.status_code == 202, response.text
    assert response.json()["data"]["total"] == 0


_JSON = {"content-type": "application/json"}


def get_jobs(client: TestClient, org: OrgCredentials) -> list[Json]:
    response = client.get("/v3/jobs", auth=org.auth)
    assert response.status_code == 200, response.text
    jobs: list[Json] = response.json()["data"]
    return jobs


def test_a_rebuild_stopped_after_a_chunk_resumes_and_counts_each_customer_once(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    """Chunks of at most 50 events hold one customer each here (some 27 purchases each)."""
    org = utc_org
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    group = create(client, org, monthly_spend("changed", targets=[spend(6000)]))
    send_live(client, org, clock, purchases(seed=16))
    clock.set(NOW)
    before = rows(client, org, group["id"])
    put(
        client,
        org,
        group,
        {"id": group["targets"][0]["id"], "expression": "currentTxn.value > 150"},
    )
    job = rebuild(client, org, group["id"], {"revoke": True})
    settings = Settings(database_url=database.url, import_chunk_lines=50, job_lease_seconds=0.01)
    stop = threading.Event()
    JobWorker(database, settings, clock).run_one(stop, on_chunk=lambda *_: stop.set())
    assert get_job(client, org, job["id"])["done"] == 1
    JobWorker(database, settings, clock).run_pending()
    done = get_job(client, org, job["id"])
    assert done["status"] == "DONE" and done["resumed"] == 1, done
    assert done["done"] == done["total"] == len(CUSTOMERS), done
    after = rows(client, org, group["id"])
    expected = expected_counts(before, after, revoke=True)
    assert {name: done["counts"][name] for name in expected} == expected
    assert done["counts"]["eventsReplayed"] == len(purchases(seed=16))


def test_a_rebuild_that_revokes_counts_the_streak_levels_the_views_lose(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    """Weeks of August whose spend the new expression brings under the value lose their
    achievement, and the levels they made; their periods' group achievements are notified
    (``group.revoked``) but counted as the targets' own."""
    org = utc_org
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    group = create(client, org, weekly_streaks(name="weeks"))
    send_live(client, org, clock, purchases(seed=16))
    clock.set(NOW)
    before = rows(client, org, group["id"])
    assert any(levels(before[(user, 0, 0)]) for user in CUSTOMERS), before
    last = max((note["sequence"] for note in feed(client, org)), default=0)
    put(
        client,
        org,
        group,
        {"id": group["targets"][0]["id"], "expression": "currentTxn.value > 250"},
    )
    done = rebuilt(client, org, database, clock, group["id"], revoke=True)
    after = rows(client, org, group["id"])
    expected = expected_counts(before, after, revoke=True)
    assert {name: done["counts"][name] for name in expected} == expected
    lost = sum(len(levels(before[(u, 0, 0)]) - levels(after[(u, 0, 0)])) for u in CUSTOMERS)
    assert lost > 0, "no level was lost: the test shows nothing"
    kinds = Counter(note["type"] for note in feed(client, org, last))
    assert kinds["streak.revoked"] == lost
    assert kinds["group.revoked"] == kinds["target.revoked"] > 0, kinds
