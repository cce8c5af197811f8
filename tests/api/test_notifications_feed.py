"""The pull feed of notifications, ``GET /v3/notifications`` (SPEC §15), fed by real events.

Every notification here is made by an event sent through ``/v3/events`` or
``/v3/events/bulk``, and read back only through the feed. Groups are monthly from
2024-08-01 in Asia/Kolkata (``tests/api/groups.py``) unless a test walks weeks; the clock
is pinned at 2024-08-27T10:00Z, so every notification's ``createdAt`` is that instant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from milestones import admin
from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.settings import Settings
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.api.test_bad_input import assert_refused
from tests.api.test_streaks import WEDNESDAY, weekly_streaks
from tests.conftest import OrgCredentials, make_org

Json = dict[str, Any]
Params = dict[str, Any] | list[tuple[str, Any]]
FEED = "/v3/notifications"
USER = 347286146
CREATED = "2024-08-27T10:00:00.000Z"  # the pinned clock
INVALID_INPUT = 300004
MAX_BILL = "999999999999999.999"  # the largest number an event may hold
HALF = [{"triggerName": "half", "triggerValueType": "PERCENTAGE", "triggerValue": 50}]
# What every notification of a side effect repeats from it (SPEC §15 "data").
TOLD = (
    "targetGroupId",
    "targetGroupName",
    "targetRuleId",
    "targetName",
    "userTargetId",
    "periodId",
    "periodRefCode",
    "periodStartDate",
    "periodEndDate",
    "periodStartDateWithTimeStamp",
    "periodEndDateWithTimeStamp",
    "targetEvaluationType",
    "trackingType",
    "contributionType",
    "definedTargetValue",
    "currentEventTargetValue",
    "targetAchievedValueBeforeEvent",
    "targetAchievedValueAfterEvent",
)


# --- bodies and calls ---------------------------------------------------------------


def decoded(response: Response) -> Json:
    body: Json = json.loads(response.content, parse_float=Decimal)
    return body


def spend(value: Any = 1000, **fields: Any) -> Json:
    return {
        "name": "spend",
        "targetEntity": "TRANSACTION",
        "targetType": "SALES",
        "defaultValue": value,
        **fields,
    }


def visits(value: Any = 3) -> Json:
    return {
        "name": "visits",
        "targetEntity": "TRANSACTION",
        "targetType": "VISIT",
        "defaultValue": value,
    }


def create_group(client: TestClient, org: OrgCredentials, body: Json) -> Json:
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    group: Json = decoded(response)["data"]
    return group


def half_group(client: TestClient, org: OrgCredentials) -> Json:
    """Spend 1,000 a month, with a 'half' trigger at 50 % besides the target's own."""
    return create_group(
        client, org, monthly_spend("Half and whole", targets=[spend(targetMilestoneTriggers=HALF)])
    )


def bill(event_id: str, amount: Any, at: str, user: int = USER) -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount},
    }


def giving_back(event_id: str, original: str, amount: Any, at: str, user: int = USER) -> Json:
    return {
        "eventId": event_id,
        "eventName": "ReturnBill",
        "userId": user,
        "eventTime": at,
        "return": {"originalEventId": original, "amount": amount},
    }


def send(client: TestClient, org: OrgCredentials, event: Json, status: str = "APPLIED") -> Json:
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == (400 if status == "REJECTED" else 200), response.text
    data: Json = decoded(response)["data"]
    assert data["status"] == status, data
    return data


def bulk(client: TestClient, org: OrgCredentials, events: list[Json]) -> list[Json]:
    response = client.post("/v3/events/bulk", json={"events": events}, auth=org.auth)
    assert response.status_code == 200, response.text
    results: list[Json] = decoded(response)["data"]["results"]
    return results


def read_feed(
    client: TestClient,
    org: OrgCredentials,
    params: Params | None = None,
    headers: dict[str, str] | None = None,
) -> Json:
    response = client.get(FEED, params=params or {}, auth=org.auth, headers=headers or {})
    assert response.status_code == 200, response.text
    page = decoded(response)
    assert page["errors"] == [] and page["warnings"] == [], page
    return page


def everything(client: TestClient, org: OrgCredentials) -> list[Json]:
    """The org's whole feed, in one page of the largest size."""
    page = read_feed(client, org, {"limit": 1000})
    assert page["pagination"]["total"] == len(page["data"]) < 1000, page["pagination"]
    data: list[Json] = page["data"]
    return data


def kinds(notifications: Sequence[Json]) -> list[tuple[str, str]]:
    """(type, eventId) of each notification, in feed order."""
    return [(n["type"], n["data"]["eventId"]) for n in notifications]


def trigger_ids(group: Json) -> dict[str, int]:
    triggers = group["targets"][0]["targetMilestoneTriggers"]
    return {trigger["triggerName"]: trigger["id"] for trigger in triggers}


def utc(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


# --- what a notification must say ---------------------------------------------------


def assert_envelope(notifications: Sequence[Json], org: OrgCredentials, user: int = USER) -> None:
    """The fields every event-made notification has, and sequences growing in feed order."""
    sequences = [n["sequence"] for n in notifications]
    assert sequences == sorted(set(sequences)), sequences
    assert all(isinstance(s, int) and s >= 1 for s in sequences), sequences
    ids = [n["id"] for n in notifications]
    assert len(set(ids)) == len(ids), ids
    for notification in notifications:
        assert set(notification) == {
            "id",
            "type",
            "orgId",
            "userId",
            "sequence",
            "occurredAt",
            "createdAt",
            "replayed",
            "data",
        }, notification
        assert (notification["orgId"], notification["userId"]) == (org.org_id, user), notification
        assert notification["createdAt"] == CREATED
        assert notification["replayed"] is False


def assert_tells(notification: Json, answer: Json) -> None:
    """The notification repeats the side effect of the event's answer it was made from,
    found by the target and user target the notification names."""
    data = notification["data"]
    assert data["eventId"] == answer["eventId"], (notification, answer)
    [effect] = [
        effect
        for effect in answer["sideEffects"]
        if (effect["targetRuleId"], effect["userTargetId"])
        == (data["targetRuleId"], data["userTargetId"])
    ]
    assert {key: data[key] for key in TOLD} == {key: effect[key] for key in TOLD}


def exact(value: Decimal) -> str:
    """A number as the JSON text wrote it (parsed with ``parse_float=Decimal``)."""
    assert isinstance(value, Decimal), value
    return str(value)


def values(data: Json) -> tuple[str, str, str, str]:
    """(defined, this event, before, after), as written."""
    return (
        exact(data["definedTargetValue"]),
        exact(data["currentEventTargetValue"]),
        exact(data["targetAchievedValueBeforeEvent"]),
        exact(data["targetAchievedValueAfterEvent"]),
    )


# --- every event-made type, from real events ----------------------------------------


def test_a_trigger_crossed_and_then_the_target_achieved_are_notified_with_the_events_fields(
    client: TestClient, org: OrgCredentials
) -> None:
    group = half_group(client, org)
    target_id = group["targets"][0]["id"]
    triggers = trigger_ids(group)
    assert set(triggers) == {"targetAchieved", "half"}

    # An offset in the eventTime is told in UTC, to the millisecond.
    first = send(client, org, bill("B-1", 600, "2024-08-20T14:30:00.123+05:30"))
    second = send(client, org, bill("B-2", 400.5, "2024-08-21T09:15:00.456Z"))

    notes = everything(client, org)
    assert kinds(notes) == [
        ("milestone.achieved", "B-1"),
        ("target.achieved", "B-2"),
        ("milestone.achieved", "B-2"),
    ]
    assert_envelope(notes, org)
    half, whole, system = notes
    assert half["occurredAt"] == "2024-08-20T09:00:00.123Z"
    assert whole["occurredAt"] == system["occurredAt"] == "2024-08-21T09:15:00.456Z"
    for note, answer in ((half, first), (whole, second), (system, second)):
        assert (note["data"]["targetGroupId"], note["data"]["targetRuleId"]) == (
            group["id"],
            target_id,
        )
        assert_tells(note, answer)

    assert values(half["data"]) == ("1000.000", "600.000", "0.000", "600.000")
    assert half["data"]["milestone"] == {
        "id": triggers["half"],
        "triggerName": "half",
        "triggerValueType": "PERCENTAGE",
        "triggerValue": Decimal("50.000"),
    }
    assert exact(half["data"]["milestone"]["triggerValue"]) == "50.000"
    assert "targetAchievedDateTime" not in half["data"]

    assert values(whole["data"]) == ("1000.000", "400.500", "600.000", "1000.500")
    assert whole["data"]["targetAchievedDateTime"] == "2024-08-21T09:15:00.456Z"
    assert "milestone" not in whole["data"]
    assert system["data"]["milestone"]["triggerName"] == "targetAchieved"
    assert system["data"]["milestone"]["id"] == triggers["targetAchieved"]
    assert exact(system["data"]["milestone"]["triggerValue"]) == "100.000"


def test_the_feed_writes_its_values_as_exact_decimals(
    client: TestClient, org: OrgCredentials
) -> None:
    half_group(client, org)
    send(client, org, bill("B-1", 1000, "2024-08-20T09:00:00.000Z"))
    response = client.get(FEED, auth=org.auth)
    assert response.status_code == 200, response.text
    assert '"definedTargetValue":1000.000' in response.text
    assert '"targetAchievedValueAfterEvent":1000.000' in response.text
    parsed = response.json()["data"][0]["data"]
    assert parsed["definedTargetValue"] == 1000.0  # a plain JSON number to any reader


def test_a_return_with_revoke_on_return_notifies_the_target_and_each_trigger_taken_back(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=True)
    group = half_group(client, org)
    send(client, org, bill("B-1", 700, "2024-08-20T09:00:00.000Z"))
    send(client, org, bill("B-2", 400, "2024-08-21T09:00:00.000Z"))
    seen = everything(client, org)
    assert kinds(seen) == [
        ("milestone.achieved", "B-1"),
        ("target.achieved", "B-2"),
        ("milestone.achieved", "B-2"),
    ]

    back = send(client, org, giving_back("R-1", "B-1", 601, "2024-08-22T09:00:00.789Z"))

    notes = everything(client, org)
    assert notes[:3] == seen
    revoked = notes[3:]
    assert [n["type"] for n in revoked] == [
        "target.revoked",
        "milestone.revoked",
        "milestone.revoked",
    ]
    assert sorted(n["data"]["milestone"]["triggerName"] for n in revoked[1:]) == [
        "half",
        "targetAchieved",
    ]
    assert_envelope(notes, org)
    for note in revoked:
        assert note["occurredAt"] == "2024-08-22T09:00:00.789Z"
        assert note["data"]["eventId"] == "R-1"
        assert (note["data"]["targetGroupId"], note["data"]["targetRuleId"]) == (
            group["id"],
            group["targets"][0]["id"],
        )
        assert note["data"]["contributionType"] == "RETURN"
        assert values(note["data"]) == ("1000.000", "-601.000", "1100.000", "499.000")
        assert "targetAchievedDateTime" not in note["data"]
        assert_tells(note, back)
    triggers = trigger_ids(group)
    assert {n["data"]["milestone"]["id"] for n in revoked[1:]} == set(triggers.values())


def test_without_revoke_on_return_a_return_only_moves_the_value_and_notifies_nothing(
    client: TestClient, org: OrgCredentials
) -> None:
    half_group(client, org)
    send(client, org, bill("B-1", 1200, "2024-08-20T09:00:00.000Z"))
    before = everything(client, org)
    assert len(before) == 3  # half, the target, its own trigger

    back = send(client, org, giving_back("R-1", "B-1", 1000, "2024-08-21T09:00:00.000Z"))

    [effect] = back["sideEffects"]
    assert effect["targetAchievedValueAfterEvent"] == 200
    assert everything(client, org) == before


def test_a_streak_level_and_each_achieved_week_are_notified_and_a_return_revokes_them(
    client: TestClient, org: OrgCredentials, clock: Clock, database: Database
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=True)
    clock.set(datetime(2024, 8, 5, 0, 0, tzinfo=UTC))
    group = create_group(client, org, weekly_streaks())
    levels = {level["name"]: level["id"] for level in group["streaks"]}
    answers: dict[str, Json] = {}
    for week, event_id in ((1, "B-1"), (2, "B-2")):
        clock.set(WEDNESDAY[week] + timedelta(hours=1))
        answers[event_id] = send(client, org, bill(event_id, 1000, utc(WEDNESDAY[week])))
    returned_at = WEDNESDAY[2] + timedelta(days=1, milliseconds=250)
    clock.set(returned_at + timedelta(minutes=30))
    answers["R-1"] = send(client, org, giving_back("R-1", "B-2", 500, utc(returned_at)))

    notes = everything(client, org)

    assert kinds(notes) == [
        ("target.achieved", "B-1"),
        ("milestone.achieved", "B-1"),
        ("group.achieved", "B-1"),  # a streak group's week is achieved as the group's period
        ("target.achieved", "B-2"),
        ("milestone.achieved", "B-2"),
        ("streak.achieved", "B-2"),
        ("group.achieved", "B-2"),
        ("target.revoked", "R-1"),
        ("milestone.revoked", "R-1"),
        ("streak.revoked", "R-1"),
        ("group.revoked", "R-1"),
    ]
    sequences = [n["sequence"] for n in notes]
    assert sequences == sorted(set(sequences))
    for note in notes:
        assert (note["orgId"], note["userId"], note["replayed"]) == (org.org_id, USER, False)
        assert note["data"]["targetGroupId"] == group["id"]
        assert note["data"]["targetRuleId"] == group["targets"][0]["id"]
        assert_tells(note, answers[note["data"]["eventId"]])
    by_event = {
        event_id: [n for n in notes if n["data"]["eventId"] == event_id] for event_id in answers
    }
    assert {n["occurredAt"] for n in by_event["B-2"]} == {utc(WEDNESDAY[2])}
    assert {n["occurredAt"] for n in by_event["R-1"]} == {utc(returned_at)}
    # createdAt is when each was written: the clock of the call, here after the event.
    assert {n["createdAt"] for n in by_event["B-2"]} == {utc(WEDNESDAY[2] + timedelta(hours=1))}
    assert {n["createdAt"] for n in by_event["R-1"]} == {utc(returned_at + timedelta(minutes=30))}

    week_two = answers["B-2"]["sideEffects"][0]
    achieved = by_event["B-2"][2]["data"]["streak"]
    assert achieved == {
        "streakId": levels["two weeks"],
        "streakName": "two weeks",
        "targetCountOfSequence": 2,
        "status": "ACHIEVED",
        "currentCount": 2,
        "streakAchievedDateTime": utc(WEDNESDAY[2]),
        "streakAchievedUserTargetId": week_two["userTargetId"],
    }
    assert achieved == week_two["streaksAchieved"][0]
    assert by_event["B-2"][3]["data"]["groupAchievedDateTime"] == utc(WEDNESDAY[2])
    revoked = by_event["R-1"][2]["data"]["streak"]
    assert (revoked["streakId"], revoked["streakName"]) == (levels["two weeks"], "two weeks")
    assert revoked["status"] != "ACHIEVED"
    assert revoked == answers["R-1"]["sideEffects"][0]["streaksRevoked"][0]
    assert values(by_event["R-1"][0]["data"]) == ("1000.000", "-500.000", "1000.000", "500.000")
    assert "groupAchievedDateTime" not in by_event["R-1"][3]["data"]


def test_a_unified_group_achieved_by_its_last_target_is_notified_and_a_return_revokes_it(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=True)
    body = monthly_spend("Spend and visit", trackingType="UNIFIED", combinationType="ALL")
    body["targets"] = [spend(), visits(3)]
    group = create_group(client, org, body)
    target_ids = {target["name"]: target["id"] for target in group["targets"]}
    times = {
        "B-1": "2024-08-20T09:00:00.000Z",
        "B-2": "2024-08-21T09:00:00.000Z",
        "B-3": "2024-08-22T09:00:00.042Z",
        "R-1": "2024-08-23T09:00:00.000Z",
    }
    answers = {
        "B-1": send(client, org, bill("B-1", 1200, times["B-1"])),
        "B-2": send(client, org, bill("B-2", 10, times["B-2"])),
        "B-3": send(client, org, bill("B-3", 10, times["B-3"])),
        "R-1": send(client, org, giving_back("R-1", "B-1", 300, times["R-1"])),
    }

    notes = everything(client, org)

    assert [
        (*kind, n["data"]["targetName"]) for kind, n in zip(kinds(notes), notes, strict=True)
    ] == [
        ("target.achieved", "B-1", "spend"),
        ("milestone.achieved", "B-1", "spend"),
        ("target.achieved", "B-3", "visits"),
        ("milestone.achieved", "B-3", "visits"),
        ("group.achieved", "B-3", "visits"),  # told on the last side effect of the group
        ("target.revoked", "R-1", "spend"),
        ("milestone.revoked", "R-1", "spend"),
        ("group.revoked", "R-1", "spend"),
    ]
    assert_envelope(notes, org)
    for note in notes:
        assert note["data"]["targetGroupId"] == group["id"]
        assert note["data"]["targetRuleId"] == target_ids[note["data"]["targetName"]]
        assert note["occurredAt"] == times[note["data"]["eventId"]]
        assert_tells(note, answers[note["data"]["eventId"]])
    achieved = notes[4]
    assert achieved["occurredAt"] == "2024-08-22T09:00:00.042Z"
    assert achieved["data"]["groupAchievedDateTime"] == "2024-08-22T09:00:00.042Z"
    assert values(achieved["data"]) == ("3.000", "1.000", "2.000", "3.000")
    revoked = notes[7]
    assert revoked["occurredAt"] == "2024-08-23T09:00:00.000Z"
    assert values(revoked["data"]) == ("1000.000", "-300.000", "1220.000", "920.000")
    assert "groupAchievedDateTime" not in revoked["data"]


# --- what makes no notification -----------------------------------------------------


def test_a_side_effect_that_only_moves_a_value_makes_no_notification(
    client: TestClient, org: OrgCredentials
) -> None:
    create_group(client, org, monthly_spend())
    data = send(client, org, bill("B-1", 999, "2024-08-20T09:00:00.000Z"))
    [effect] = data["sideEffects"]
    assert effect["targetAchievedValueAfterEvent"] == 999
    page = read_feed(client, org)
    assert page["data"] == []
    assert page["pagination"] == {"limit": 100, "offset": 0, "total": 0, "next": 0}


def test_a_duplicate_event_and_a_rejected_one_make_no_notification(
    client: TestClient, org: OrgCredentials
) -> None:
    create_group(client, org, monthly_spend())
    first = bill("B-1", 1000, "2024-08-20T09:00:00.000Z")
    send(client, org, first)
    made = everything(client, org)
    assert kinds(made) == [("target.achieved", "B-1"), ("milestone.achieved", "B-1")]

    send(client, org, first, status="DUPLICATE")
    send(client, org, bill("B-2", 5000, "2024-08-28T09:00:00.000Z"), status="REJECTED")  # future
    send(
        client, org, giving_back("R-1", "B-404", 10, "2024-08-21T09:00:00.000Z"), status="REJECTED"
    )

    assert everything(client, org) == made


def test_a_bulk_calls_notifications_all_appear_in_the_order_of_its_events(
    client: TestClient, org: OrgCredentials
) -> None:
    create_group(client, org, monthly_spend())
    events: list[Json] = []
    expected: list[tuple[str, str]] = []
    for n in range(1, 13):  # more than one chunk of the call
        user = 1000 + n
        events.append(bill(f"S-{n}", 10, f"2024-08-{n:02d}T09:00:00.000Z", user=user))
        events.append(bill(f"A-{n}", 990, f"2024-08-{n + 1:02d}T09:00:00.000Z", user=user))
        expected += [("target.achieved", f"A-{n}"), ("milestone.achieved", f"A-{n}")]
    events.append(events[1])  # a DUPLICATE within the call
    events.append(bill("F-1", 5000, "2024-08-30T09:00:00.000Z", user=999))  # REJECTED: future

    results = bulk(client, org, events)

    assert [r["status"] for r in results] == ["APPLIED"] * 24 + ["DUPLICATE", "REJECTED"]
    notes = everything(client, org)
    assert kinds(notes) == expected
    sequences = [n["sequence"] for n in notes]
    assert sequences == sorted(set(sequences))
    assert [n["userId"] for n in notes] == [1000 + n for n in range(1, 13) for _ in range(2)]
    answers = {result["eventId"]: result for result in results[:24]}
    times = {event["eventId"]: event["eventTime"] for event in events}
    for note in notes:
        assert note["occurredAt"] == times[note["data"]["eventId"]]
        assert_tells(note, answers[note["data"]["eventId"]])


# --- paging -------------------------------------------------------------------------


CUSTOMERS = 10


def busy_feed(client: TestClient, org: OrgCredentials) -> list[Json]:
    """Ten customers, each crossing 'half' and then the target: 30 notifications."""
    half_group(client, org)
    events = []
    for n in range(CUSTOMERS):
        user = 2000 + n
        events.append(bill(f"H-{n}", 600, "2024-08-20T09:00:00.000Z", user=user))
        events.append(bill(f"W-{n}", 400, "2024-08-21T09:00:00.000Z", user=user))
    bulk(client, org, events)
    notes = everything(client, org)
    assert len(notes) == 3 * CUSTOMERS
    return notes


def walk(
    client: TestClient, org: OrgCredentials, limit: int, params: Params | None = None
) -> Iterator[Json]:
    """Every page of the feed, each resuming after the last sequence of the one before."""
    after = 0
    while True:
        extra = list(params.items()) if isinstance(params, dict) else list(params or [])
        page = read_feed(client, org, [("after", after), ("limit", limit), *extra])
        yield page
        if not page["data"]:
            return
        assert page["pagination"]["next"] == page["data"][-1]["sequence"]
        after = page["pagination"]["next"]


def test_walking_the_feed_page_by_page_gives_each_notification_once_in_sequence_order(
    client: TestClient, org: OrgCredentials
) -> None:
    notes = busy_feed(client, org)

    pages = list(walk(client, org, limit=7))

    assert [len(page["data"]) for page in pages] == [7, 7, 7, 7, 2, 0]
    walked = [n for page in pages for n in page["data"]]
    assert walked == notes
    remaining = len(notes)
    for page in pages:
        assert page["pagination"]["limit"] == 7
        assert page["pagination"]["offset"] == 0
        assert page["pagination"]["total"] == remaining  # those after `after`
        remaining -= len(page["data"])
    last = notes[-1]["sequence"]
    assert pages[-1]["pagination"] == {"limit": 7, "offset": 0, "total": 0, "next": last}


def test_after_skips_what_was_handled_and_limit_cuts_the_page(
    client: TestClient, org: OrgCredentials
) -> None:
    notes = busy_feed(client, org)
    middle = notes[11]["sequence"]

    page = read_feed(client, org, {"after": middle, "limit": 5})

    assert page["data"] == notes[12:17]
    assert page["pagination"] == {
        "limit": 5,
        "offset": 0,
        "total": len(notes) - 12,
        "next": notes[16]["sequence"],
    }
    one = read_feed(client, org, {"limit": 1})
    assert one["data"] == notes[:1] and one["pagination"]["total"] == len(notes)
    assert read_feed(client, org, {"after": 2**62})["data"] == []


def test_a_type_filter_takes_a_comma_list_or_the_parameter_repeated(
    client: TestClient, org: OrgCredentials
) -> None:
    notes = busy_feed(client, org)
    achieved = [n for n in notes if n["type"] == "target.achieved"]
    assert len(achieved) == CUSTOMERS

    only = read_feed(client, org, {"type": "target.achieved"})
    assert only["data"] == achieved and only["pagination"]["total"] == CUSTOMERS
    comma = read_feed(client, org, {"type": "target.achieved, milestone.achieved", "limit": 1000})
    repeated = read_feed(
        client, org, [("type", "milestone.achieved"), ("type", "target.achieved"), ("limit", 1000)]
    )
    assert comma["data"] == repeated["data"] == notes
    assert comma["pagination"]["total"] == repeated["pagination"]["total"] == len(notes)
    # The time-driven types are accepted; nothing has made one yet.
    later = read_feed(client, org, {"type": "streak.broken,streak.frozen,streak.at_risk"})
    assert later["data"] == [] and later["pagination"]["total"] == 0

    pages = list(walk(client, org, limit=3, params={"type": "target.achieved"}))
    assert [n for page in pages for n in page["data"]] == achieved
    assert [page["pagination"]["total"] for page in pages] == [10, 7, 4, 1, 0]


# --- bad input and scope ------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": -1}, "after"),
        ({"after": 2**62 + 1}, "after"),
        ({"after": "1.5"}, "after"),
        ({"type": "nope"}, "type"),
        ({"type": "target.achieved,nope"}, "type"),
        ({"type": "TARGET.ACHIEVED"}, "type"),
    ],
    ids=[
        "limit 0",
        "limit 1001",
        "limit not a number",
        "after -1",
        "after too large",
        "after not an integer",
        "unknown type",
        "one unknown type in a list",
        "type in capitals",
    ],
)
def test_a_bad_query_is_refused_in_the_envelope_naming_the_parameter(
    client: TestClient, org: OrgCredentials, params: Json, field: str
) -> None:
    response = client.get(FEED, params=params, auth=org.auth)
    assert_refused(response, 400, field, code=INVALID_INPUT)


def test_the_largest_page_is_accepted(client: TestClient, org: OrgCredentials) -> None:
    page = read_feed(client, org, {"limit": 1000})
    assert page["pagination"]["limit"] == 1000


def test_the_feed_needs_credentials(client: TestClient, org: OrgCredentials) -> None:
    response = client.get(FEED)
    assert_refused(response, 401, None)


@pytest.fixture
def three_orgs(client: TestClient, database: Database, clock: Clock) -> tuple[OrgCredentials, ...]:
    """Orgs 1 and 2 connected, org 3 alone; customer USER achieves in each, B-<org>."""
    orgs = tuple(make_org(database, clock, org_id, "UTC") for org_id in (1, 2, 3))
    admin.connect_orgs(database, 1, 2)
    for org in orgs:
        create_group(client, org, monthly_spend(f"group of org {org.org_id}"))
        send(client, org, bill(f"B-{org.org_id}", 1000, "2024-08-20T09:00:00.000Z"))
    return orgs


def test_each_org_reads_only_its_own_notifications(
    client: TestClient, three_orgs: tuple[OrgCredentials, ...]
) -> None:
    for org in three_orgs:
        notes = everything(client, org)
        assert kinds(notes) == [
            ("target.achieved", f"B-{org.org_id}"),
            ("milestone.achieved", f"B-{org.org_id}"),
        ]
        assert {n["orgId"] for n in notes} == {org.org_id}
        self_scoped = read_feed(client, org, {"limit": 1000}, {"DATA-SCOPE": "SELF"})
        assert self_scoped["data"] == notes


def test_data_scope_other_with_one_connected_org_reads_that_orgs_feed(
    client: TestClient, three_orgs: tuple[OrgCredentials, ...]
) -> None:
    first, second, third = three_orgs
    theirs = read_feed(client, first, headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "2"})
    assert theirs["data"] == everything(client, second)
    assert {n["orgId"] for n in theirs["data"]} == {second.org_id}

    unconnected = client.get(
        FEED, auth=first.auth, headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "3"}
    )
    assert_refused(unconnected, 403, "DATA-SCOPE-ORG")
    from_third = client.get(
        FEED, auth=third.auth, headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "1"}
    )
    assert_refused(from_third, 403, "DATA-SCOPE-ORG")


@pytest.mark.parametrize(
    "headers",
    [{"DATA-SCOPE": "ALL"}, {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "1,2"}],
    ids=["ALL", "OTHER with two orgs"],
)
def test_a_scope_of_several_orgs_is_refused_as_the_feed_is_per_org(
    client: TestClient, three_orgs: tuple[OrgCredentials, ...], headers: dict[str, str]
) -> None:
    response = client.get(FEED, auth=three_orgs[0].auth, headers=headers)
    assert_refused(response, 400, "DATA-SCOPE", code=INVALID_INPUT, mention="one org")


def test_data_scope_all_of_an_org_with_no_connections_is_its_own_feed(
    client: TestClient, three_orgs: tuple[OrgCredentials, ...]
) -> None:
    third = three_orgs[2]
    page = read_feed(client, third, {"limit": 1000}, {"DATA-SCOPE": "ALL"})
    assert page["data"] == everything(client, third)


# --- a call rolled back -------------------------------------------------------------


def test_a_bulk_call_refused_whole_leaves_no_notification_and_the_feed_resumes_unbroken(
    database: Database, clock: Clock, org: OrgCredentials
) -> None:
    # One event a chunk: the first event's notifications are written before a later
    # chunk takes a running total past what is stored and the whole call rolls back.
    settings = Settings(database_url=database.url, bulk_chunk_events=1)
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        create_group(client, org, monthly_spend())
        send(client, org, bill("B-0", 1000, "2024-08-19T09:00:00.000Z", user=1))
        handled = everything(client, org)
        assert kinds(handled) == [("target.achieved", "B-0"), ("milestone.achieved", "B-0")]
        last = handled[-1]["sequence"]

        achieving = bill("B-1", 1000, "2024-08-20T09:00:00.000Z", user=2)
        overflowing = [bill(f"M-{n}", 0, "2024-08-20T10:00:00.000Z", user=3) for n in range(12)]
        # The largest bill there is, written as JSON text: a float would not keep it.
        body = json.dumps({"events": [achieving, *overflowing]}).replace(
            '"billAmount": 0}', f'"billAmount": {MAX_BILL}}}'
        )
        assert body.count(MAX_BILL) == 12
        response = client.post(
            "/v3/events/bulk",
            content=body,
            headers={"Content-Type": "application/json"},
            auth=org.auth,
        )
        assert_refused(response, 400, "events", code=INVALID_INPUT, mention="running total")

        assert everything(client, org) == handled
        resumed = read_feed(client, org, {"after": last})
        assert resumed["data"] == [] and resumed["pagination"]["total"] == 0

        # The same achievement, sent alone, is notified once, after what was handled.
        send(client, org, achieving)
        page = read_feed(client, org, {"after": last})
        assert kinds(page["data"]) == [("target.achieved", "B-1"), ("milestone.achieved", "B-1")]
        assert all(n["sequence"] > last for n in page["data"])
        assert everything(client, org) == handled + page["data"]


def test_a_capping_targets_notification_says_what_counted_and_what_was_left_out(
    client: TestClient, org: OrgCredentials
) -> None:
    create_group(client, org, monthly_spend("Capped", trackingType="CAPPING", targets=[spend()]))
    answer = send(client, org, bill("B-1", 1200, "2024-08-27T09:00:00.000Z"))
    [notification] = [n for n in everything(client, org) if n["type"] == "target.achieved"]
    data = notification["data"]
    [effect] = answer["sideEffects"]
    assert (exact(data["cappedValue"]), exact(data["excessValue"])) == ("1000.000", "200.000")
    assert (data["cappedValue"], data["excessValue"]) == (
        effect["cappedValue"],
        effect["excessValue"],
    )
    assert exact(data["targetAchievedValueAfterEvent"]) == "1000.000"
