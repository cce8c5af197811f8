"""CYCLIC cycles start at the customer's earliest accepted event, whatever the arrival order.

SPEC §5 (CYCLIC_WINDOW, amended) and §10: an earlier-stamped event that arrives later
re-anchors the customer's cycles and their contributions are re-placed from the ledger.
The org is on UTC and the clock pinned at 2024-08-27T10:00Z, so every time below is the
instant written; each expected value is worked out by hand in the test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials

Json = dict[str, Any]
USER = 7001
IN_ORDER_USER = 7002
# Five rolling 24 h cycles per customer, inside the group's dates.
DAILY_CYCLES: Json = {
    "targetEvaluationType": "CYCLIC_WINDOW",
    "frequencyType": "DAILY",
    "totalPeriods": 5,
    "targetCycleStartDate": "2024-08-20T00:00:00.000",
    "targetCycleEndDate": "2024-09-30T23:59:59.000",
}


def d(text: str) -> Decimal:
    return Decimal(text)


@pytest.fixture
def group(client: TestClient, utc_org: OrgCredentials) -> Json:
    """Five rolling 24 h cycles per customer, a SALES target of 1,000 in each."""
    body = monthly_spend(
        "Daily cycles",
        **DAILY_CYCLES,
    )
    response = client.post("/v3/targetGroups", json=body, auth=utc_org.auth)
    assert response.status_code == 201, response.text
    created: Json = response.json()["data"]
    return created


def bill(event_id: str, amount: int, at: str, user: int = USER) -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount},
    }


def giving_back(event_id: str, original: str, amount: int, at: str, user: int = USER) -> Json:
    return {
        "eventId": event_id,
        "eventName": "ReturnBill",
        "userId": user,
        "eventTime": at,
        "return": {"originalEventId": original, "amount": amount},
    }


def send(client: TestClient, org: OrgCredentials, event: Json) -> Json:
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text
    data: Json = json.loads(response.content, parse_float=Decimal)["data"]
    return data


def bulk(client: TestClient, org: OrgCredentials, events: list[Json]) -> list[Json]:
    response = client.post("/v3/events/bulk", json={"events": events}, auth=org.auth)
    assert response.status_code == 200, response.text
    results: list[Json] = json.loads(response.content, parse_float=Decimal)["data"]["results"]
    return results


def of_kind(data: Json, kind: str) -> list[Json]:
    return [effect for effect in data["sideEffects"] if effect["contributionType"] == kind]


def cycles(client: TestClient, org: OrgCredentials, user: int = USER) -> list[tuple[Any, ...]]:
    """The user view's cycles: (refCode, start, end, value, achieved at, has progress)."""
    response = client.get(
        f"/v3.1/users/{user}/targetGroups", params={"includeInactive": "true"}, auth=org.auth
    )
    assert response.status_code == 200, response.text
    [view] = json.loads(response.content, parse_float=Decimal)["data"]["targetGroups"]
    return [
        (
            row["periodRefCode"],
            row["periodStartDateWithTimeStamp"],
            row["periodEndDateWithTimeStamp"],
            row["targetAchievedValue"],
            row["targetAchievedDateTime"],
            row["targetId"] is not None,
        )
        for row in view["targets"]
    ]


def ref(group: Json, n: int) -> str:
    return f"PERIOD_G_{group['id']}_{n}"


def test_an_earlier_purchase_arriving_later_re_anchors_cycle_1_at_its_time(
    client: TestClient, utc_org: OrgCredentials, group: Json
) -> None:
    first = send(client, utc_org, bill("B", 700, "2024-08-27T10:00:00Z"))
    [b_effect] = first["sideEffects"]
    assert b_effect["periodStartDateWithTimeStamp"] == "2024-08-27T10:00:00.000Z"

    data = send(client, utc_org, bill("A", 400, "2024-08-26T12:00:00Z"))

    # A is the earliest: it counts as the first contribution of the new cycle 1 ...
    assert data["status"] == "APPLIED"
    [own] = of_kind(data, "EVENT")
    assert own["periodRefCode"] == ref(group, 1)
    assert own["periodStartDateWithTimeStamp"] == "2024-08-26T12:00:00.000Z"
    assert own["periodEndDateWithTimeStamp"] == "2024-08-27T12:00:00.000Z"
    assert (own["targetAchievedValueBeforeEvent"], own["targetAchievedValueAfterEvent"]) == (0, 400)
    # ... and B (27th 10:00 is within 24 h of 26th 12:00) is re-placed into it: 400 + 700
    # reaches 1,000 with B's contribution, so the cycle is achieved at B's eventTime.
    [replaced] = of_kind(data, "REPLACE")
    assert replaced["userTargetId"] == b_effect["userTargetId"]
    assert replaced["periodRefCode"] == ref(group, 1)
    assert replaced["periodStartDateWithTimeStamp"] == "2024-08-26T12:00:00.000Z"
    assert (
        replaced["targetAchievedValueBeforeEvent"],
        replaced["currentEventTargetValue"],
        replaced["targetAchievedValueAfterEvent"],
    ) == (700, 400, 1100)
    assert replaced["targetAchieved"] is True
    assert replaced["targetAchievedDateTime"] == "2024-08-27T10:00:00.000Z"
    assert [m["triggerName"] for m in replaced["milestonesAchieved"]] == ["targetAchieved"]

    shown = cycles(client, utc_org)
    assert shown[0] == (
        ref(group, 1),
        "2024-08-26T12:00:00.000Z",
        "2024-08-27T12:00:00.000Z",
        1100,
        "2024-08-27T10:00:00.000Z",
        True,
    )
    assert shown[1] == (
        ref(group, 2),
        "2024-08-27T12:00:00.000Z",
        "2024-08-28T12:00:00.000Z",
        0,
        None,
        False,
    )
    assert len(shown) == 5


def test_re_anchoring_ends_in_the_state_the_events_would_have_made_in_order(
    client: TestClient, utc_org: OrgCredentials, group: Json
) -> None:
    send(client, utc_org, bill("B", 700, "2024-08-27T10:00:00Z"))
    send(client, utc_org, bill("A", 400, "2024-08-26T12:00:00Z"))
    send(client, utc_org, bill("A2", 400, "2024-08-26T12:00:00Z", IN_ORDER_USER))
    send(client, utc_org, bill("B2", 700, "2024-08-27T10:00:00Z", IN_ORDER_USER))

    assert cycles(client, utc_org) == cycles(client, utc_org, IN_ORDER_USER)


def test_re_anchoring_can_split_contributions_into_different_cycles(
    client: TestClient, utc_org: OrgCredentials, database: Database, group: Json
) -> None:
    admin.set_org(database, utc_org.org_id, retro_buffer_days=1)
    first = send(client, utc_org, bill("B", 1000, "2024-08-27T10:00:00Z"))
    assert first["sideEffects"][0]["targetAchieved"] is True

    # Cycle 1 now runs 26th 09:00 to 27th 09:00 (ended, but within the 1-day retro buffer):
    # B at 27th 10:00 moves to cycle 2, taking its achievement with it.
    data = send(client, utc_org, bill("A", 400, "2024-08-26T09:00:00Z"))

    assert data["status"] == "APPLIED"
    [own] = of_kind(data, "EVENT")
    assert (own["periodRefCode"], own["targetAchievedValueAfterEvent"]) == (ref(group, 1), 400)
    by_cycle = {effect["periodRefCode"]: effect for effect in of_kind(data, "REPLACE")}
    assert set(by_cycle) == {ref(group, 1), ref(group, 2)}
    one, two = by_cycle[ref(group, 1)], by_cycle[ref(group, 2)]
    assert (one["targetAchievedValueBeforeEvent"], one["targetAchievedValueAfterEvent"]) == (
        1000,
        400,
    )
    assert one["targetAchievementRevoked"] is True
    assert one["periodStartDateWithTimeStamp"] == "2024-08-26T09:00:00.000Z"
    assert (two["targetAchievedValueBeforeEvent"], two["targetAchievedValueAfterEvent"]) == (
        0,
        1000,
    )
    assert two["targetAchieved"] is True
    assert two["targetAchievedDateTime"] == "2024-08-27T10:00:00.000Z"
    assert two["periodStartDateWithTimeStamp"] == "2024-08-27T09:00:00.000Z"

    assert cycles(client, utc_org)[:3] == [
        (ref(group, 1), "2024-08-26T09:00:00.000Z", "2024-08-27T09:00:00.000Z", 400, None, True),
        (
            ref(group, 2),
            "2024-08-27T09:00:00.000Z",
            "2024-08-28T09:00:00.000Z",
            1000,
            "2024-08-27T10:00:00.000Z",
            True,
        ),
        (ref(group, 3), "2024-08-28T09:00:00.000Z", "2024-08-29T09:00:00.000Z", 0, None, False),
    ]


def test_the_out_of_order_pair_in_one_bulk_call_ends_as_in_order(
    client: TestClient, utc_org: OrgCredentials, group: Json
) -> None:
    results = bulk(
        client,
        utc_org,
        [bill("B", 700, "2024-08-27T10:00:00Z"), bill("A", 400, "2024-08-26T12:00:00Z")],
    )
    assert [result["status"] for result in results] == ["APPLIED", "APPLIED"]
    [replaced] = of_kind(results[1], "REPLACE")
    assert (replaced["targetAchievedValueAfterEvent"], replaced["targetAchieved"]) == (1100, True)

    bulk(
        client,
        utc_org,
        [
            bill("A2", 400, "2024-08-26T12:00:00Z", IN_ORDER_USER),
            bill("B2", 700, "2024-08-27T10:00:00Z", IN_ORDER_USER),
        ],
    )
    shown = cycles(client, utc_org)
    assert shown == cycles(client, utc_org, IN_ORDER_USER)
    assert shown[0][1:5] == (
        "2024-08-26T12:00:00.000Z",
        "2024-08-27T12:00:00.000Z",
        1100,
        "2024-08-27T10:00:00.000Z",
    )


def test_three_events_in_reverse_order_in_one_bulk_call_end_as_in_order(
    client: TestClient, utc_org: OrgCredentials, group: Json
) -> None:
    # Each arrival is earlier than the last: the cycles are re-anchored twice in the call.
    results = bulk(
        client,
        utc_org,
        [
            bill("C", 500, "2024-08-27T10:00:00Z"),
            bill("B", 300, "2024-08-27T09:00:00Z"),
            bill("A", 400, "2024-08-26T12:00:00Z"),
        ],
    )
    assert [result["status"] for result in results] == ["APPLIED"] * 3
    send(client, utc_org, bill("A2", 400, "2024-08-26T12:00:00Z", IN_ORDER_USER))
    send(client, utc_org, bill("B2", 300, "2024-08-27T09:00:00Z", IN_ORDER_USER))
    send(client, utc_org, bill("C2", 500, "2024-08-27T10:00:00Z", IN_ORDER_USER))

    shown = cycles(client, utc_org)
    assert shown == cycles(client, utc_org, IN_ORDER_USER)
    # 400 + 300 = 700, then C's 500 crosses 1,000: achieved at C's time.
    assert shown[0][1:5] == (
        "2024-08-26T12:00:00.000Z",
        "2024-08-27T12:00:00.000Z",
        1200,
        "2024-08-27T10:00:00.000Z",
    )


@pytest.mark.parametrize("one_call", [False, True], ids=["separate calls", "one bulk call"])
def test_a_return_after_re_anchoring_takes_back_from_the_cycle_the_bill_moved_to(
    client: TestClient,
    utc_org: OrgCredentials,
    database: Database,
    clock: Clock,
    group: Json,
    one_call: bool,
) -> None:
    admin.set_org(database, utc_org.org_id, retro_buffer_days=1)
    clock.set(datetime(2024, 8, 27, 11, 0, tzinfo=UTC))
    events = [
        bill("B", 1000, "2024-08-27T10:00:00Z"),
        bill("A", 400, "2024-08-26T09:00:00Z"),  # B moves to cycle 2 (27th 09:00..28th 09:00)
        giving_back("R", "B", 300, "2024-08-27T10:30:00Z"),
    ]
    if one_call:
        returned = bulk(client, utc_org, events)[2]
    else:
        returned = [send(client, utc_org, event) for event in events][2]

    [effect] = returned["sideEffects"]
    assert (effect["contributionType"], effect["periodRefCode"]) == ("RETURN", ref(group, 2))
    assert (
        effect["targetAchievedValueBeforeEvent"],
        effect["currentEventTargetValue"],
        effect["targetAchievedValueAfterEvent"],
    ) == (1000, -300, 700)
    values = [(row[0], row[3]) for row in cycles(client, utc_org)[:2]]
    assert values == [(ref(group, 1), 400), (ref(group, 2), 700)]


def test_an_earlier_event_too_late_for_its_own_cycle_does_not_re_anchor(
    client: TestClient, utc_org: OrgCredentials, group: Json
) -> None:
    send(client, utc_org, bill("B", 700, "2024-08-27T10:00:00Z"))
    # Its cycle 1 would end at 27th 09:00, before now (10:00), and the retro buffer is 0.
    data = send(client, utc_org, bill("A", 400, "2024-08-26T09:00:00Z"))

    assert (data["status"], data["sideEffects"]) == ("OUT_OF_WINDOW", [])
    assert cycles(client, utc_org)[0] == (
        ref(group, 1),
        "2024-08-27T10:00:00.000Z",
        "2024-08-28T10:00:00.000Z",
        700,
        None,
        True,
    )


def test_an_earlier_event_before_the_groups_start_does_not_re_anchor(
    client: TestClient, utc_org: OrgCredentials, database: Database, group: Json
) -> None:
    admin.set_org(database, utc_org.org_id, retro_buffer_days=30)
    send(client, utc_org, bill("B", 700, "2024-08-27T10:00:00Z"))
    data = send(client, utc_org, bill("A", 400, "2024-08-19T23:00:00Z"))

    assert (data["status"], data["sideEffects"]) == ("NO_MATCH", [])
    assert cycles(client, utc_org)[0][1:4] == (
        "2024-08-27T10:00:00.000Z",
        "2024-08-28T10:00:00.000Z",
        700,
    )


def test_a_first_event_too_late_for_its_own_cycle_anchors_nothing(
    client: TestClient, utc_org: OrgCredentials, group: Json
) -> None:
    late = send(client, utc_org, bill("A", 400, "2024-08-26T09:00:00Z"))
    on_time = send(client, utc_org, bill("B", 700, "2024-08-27T10:00:00Z"))

    assert late["status"] == "OUT_OF_WINDOW"
    assert on_time["sideEffects"][0]["periodStartDateWithTimeStamp"] == "2024-08-27T10:00:00.000Z"


def test_visits_re_placed_into_one_cycle_count_once_per_day(
    client: TestClient, utc_org: OrgCredentials, database: Database
) -> None:
    admin.set_org(database, utc_org.org_id, retro_buffer_days=1)
    body = monthly_spend(
        "Daily visits",
        **DAILY_CYCLES,
        targets=[
            {
                "name": "visits",
                "targetEntity": "TRANSACTION",
                "targetType": "VISIT",
                "defaultValue": 2,
            }
        ],
    )
    assert client.post("/v3/targetGroups", json=body, auth=utc_org.auth).status_code == 201
    # Anchored at 26th 09:00: cycle 1 holds the visits of the 26th and of the 27th at 08:00
    # (2, achieved), cycle 2 (from 27th 09:00) the visit of the 27th at 10:00 (1).
    later = [
        bill("V1", 10, "2024-08-26T09:00:00Z"),
        bill("V2", 10, "2024-08-27T08:00:00Z"),
        bill("V3", 10, "2024-08-27T10:00:00Z"),
    ]
    for event in later:
        send(client, utc_org, event)
    assert [row[3] for row in cycles(client, utc_org)[:2]] == [2, 1]

    # From 26th 07:00, cycle 1 holds two purchases of the 26th (one visit) and cycle 2 two
    # of the 27th (one visit): the achievement of cycle 1 is lost.
    data = send(client, utc_org, bill("V0", 10, "2024-08-26T07:00:00Z"))

    one = next(e for e in of_kind(data, "REPLACE") if e["periodRefCode"].endswith("_1"))
    assert (one["targetAchievedValueBeforeEvent"], one["targetAchievedValueAfterEvent"]) == (2, 1)
    assert one["targetAchievementRevoked"] is True
    shown = cycles(client, utc_org)
    assert [(row[1], row[3]) for row in shown[:2]] == [
        ("2024-08-26T07:00:00.000Z", 1),
        ("2024-08-27T07:00:00.000Z", 1),
    ]
    for event in [bill("V0", 10, "2024-08-26T07:00:00Z"), *later]:
        send(
            client,
            utc_org,
            {**event, "eventId": event["eventId"] + "-in-order", "userId": IN_ORDER_USER},
        )
    assert shown == cycles(client, utc_org, IN_ORDER_USER)


def test_a_contribution_past_the_last_re_anchored_cycle_no_longer_counts(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    admin.set_org(database, utc_org.org_id, retro_buffer_days=3)
    body = monthly_spend(
        "Two cycles",
        **(DAILY_CYCLES | {"totalPeriods": 2}),
    )
    response = client.post("/v3/targetGroups", json=body, auth=utc_org.auth)
    assert response.status_code == 201, response.text
    two_cycles: Json = response.json()["data"]
    send(client, utc_org, bill("B", 100, "2024-08-27T10:00:00Z"))
    clock.set(datetime(2024, 8, 29, 9, 45, tzinfo=UTC))
    kept = send(client, utc_org, bill("C", 200, "2024-08-29T09:30:00Z"))
    assert kept["sideEffects"][0]["periodRefCode"] == ref(two_cycles, 2)

    # From 27th 09:00 the two cycles end at 29th 09:00: C, at 09:30, is after them.
    data = send(client, utc_org, bill("A", 50, "2024-08-27T09:00:00Z"))

    by_cycle = {e["periodRefCode"]: e for e in of_kind(data, "REPLACE")}
    gone = by_cycle[ref(two_cycles, 2)]
    assert (gone["targetAchievedValueBeforeEvent"], gone["targetAchievedValueAfterEvent"]) == (
        200,
        0,
    )
    assert [(row[1], row[3]) for row in cycles(client, utc_org)] == [
        ("2024-08-27T09:00:00.000Z", 150),
        ("2024-08-28T09:00:00.000Z", 0),
    ]
    # C counts nowhere now, so there is nothing for its return to take back.
    returned = send(client, utc_org, giving_back("R", "C", 200, "2024-08-29T09:40:00Z"))
    assert (returned["status"], returned["sideEffects"]) == ("NO_MATCH", [])


def test_a_unified_cyclic_group_is_achieved_at_the_moment_it_would_have_been_in_order(
    client: TestClient, utc_org: OrgCredentials
) -> None:
    body = monthly_spend(
        "Unified cycles",
        trackingType="UNIFIED",
        **DAILY_CYCLES,
        targets=[
            {
                "name": "spend",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": 1000,
            },
            {
                "name": "bills",
                "targetEntity": "TRANSACTION",
                "targetType": "COUNT",
                "defaultValue": 2,
            },
        ],
    )
    assert client.post("/v3/targetGroups", json=body, auth=utc_org.auth).status_code == 201
    send(client, utc_org, bill("B", 700, "2024-08-27T10:00:00Z"))
    send(client, utc_org, bill("A", 400, "2024-08-26T12:00:00Z"))
    send(client, utc_org, bill("A2", 400, "2024-08-26T12:00:00Z", IN_ORDER_USER))
    send(client, utc_org, bill("B2", 700, "2024-08-27T10:00:00Z", IN_ORDER_USER))

    def group_periods(user: int) -> list[Json]:
        response = client.get(
            f"/v3.1/users/{user}/targetGroups",
            params={"includeInactive": "true"},
            auth=utc_org.auth,
        )
        [view] = response.json()["data"]["targetGroups"]
        periods: list[Json] = view["groupPeriods"]
        return periods

    # In order, A (400, 1 bill) then B (1,100, 2 bills): both targets, and so the group,
    # are achieved by B, at B's time.
    first = group_periods(USER)[0]
    assert (first["groupAchieved"], first["groupAchievedDateTime"]) == (
        True,
        "2024-08-27T10:00:00.000Z",
    )
    assert group_periods(USER) == group_periods(IN_ORDER_USER)
    assert cycles(client, utc_org) == cycles(client, utc_org, IN_ORDER_USER)


def spin(event_id: str, score: int, at: str, user: int = USER) -> Json:
    return {
        "eventId": event_id,
        "eventName": "GameSpin",
        "userId": user,
        "eventTime": at,
        "attributes": {"score": score},
    }


def test_a_day_maximum_split_between_new_cycles_counts_in_each_as_in_order(
    client: TestClient, utc_org: OrgCredentials, database: Database
) -> None:
    admin.set_org(database, utc_org.org_id, retro_buffer_days=1)
    best = {
        "name": "best score",
        "targetEntity": "EVENT",
        "targetType": "EVENT_ATTRIBUTE",
        "eventName": "GameSpin",
        "extendedFieldInfo": {"name": "score", "aggregateFunction": "MAX"},
        "defaultValue": 1000,
    }
    body = monthly_spend(
        "Daily best",
        **DAILY_CYCLES,
        targets=[best],
    )
    assert client.post("/v3/targetGroups", json=body, auth=utc_org.auth).status_code == 201
    later = [spin("S1", 30, "2024-08-27T09:00:00Z"), spin("S2", 50, "2024-08-27T09:30:00Z")]
    for event in later:
        send(client, utc_org, event)
    # One cycle from 27th 09:00: the 27th's maximum, 50 (30, then 20 more).
    assert cycles(client, utc_org)[0][3] == 50

    # From 26th 09:15: cycle 1 holds the 26th's 40 and S1's 30 (the 27th up to 09:15),
    # cycle 2 S2's 50 (the 27th from 09:15).
    send(client, utc_org, spin("S0", 40, "2024-08-26T09:15:00Z"))

    shown = cycles(client, utc_org)
    assert [(row[1], row[3]) for row in shown[:2]] == [
        ("2024-08-26T09:15:00.000Z", 70),
        ("2024-08-27T09:15:00.000Z", 50),
    ]
    for event in [spin("S0", 40, "2024-08-26T09:15:00Z"), *later]:
        in_order = {**event, "eventId": event["eventId"] + "-in-order", "userId": IN_ORDER_USER}
        send(client, utc_org, in_order)
    assert shown == cycles(client, utc_org, IN_ORDER_USER)


@pytest.mark.parametrize("one_call", [False, True], ids=["separate calls", "one bulk call"])
def test_a_return_made_before_re_anchoring_moves_with_its_bill(
    client: TestClient,
    utc_org: OrgCredentials,
    database: Database,
    clock: Clock,
    group: Json,
    one_call: bool,
) -> None:
    admin.set_org(database, utc_org.org_id, retro_buffer_days=1)
    clock.set(datetime(2024, 8, 27, 11, 0, tzinfo=UTC))
    events = [
        bill("B", 1000, "2024-08-27T10:00:00Z"),
        giving_back("R", "B", 300, "2024-08-27T10:30:00Z"),
        bill("A", 400, "2024-08-26T09:00:00Z"),  # B, and its return, move to cycle 2
    ]
    if one_call:
        bulk(client, utc_org, events)
    else:
        for event in events:
            send(client, utc_org, event)

    values = [(row[0], row[3], row[4]) for row in cycles(client, utc_org)[:2]]
    # B achieved cycle 2 when it came (1,000); the return does not revoke (revokeOnReturn off).
    assert values == [
        (ref(group, 1), 400, None),
        (ref(group, 2), 700, "2024-08-27T10:00:00.000Z"),
    ]


def test_a_capped_cyclic_bill_re_placed_and_then_returned_gives_back_what_it_counted(
    client: TestClient, utc_org: OrgCredentials
) -> None:
    """Cap 500 a cycle. B (600, 10:00 on the 27th) counts 500, 100 excess. A (100, 12:00 on
    the 26th) arrives later and re-anchors: A 100, then B up to the cap, 400. B's whole
    return then takes back its excess first and what it counted: A's 100 is left."""
    body = monthly_spend(
        "Capped cycles",
        trackingType="CAPPING",
        **DAILY_CYCLES,
        targets=[
            {
                "name": "coins",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": 500,
            }
        ],
    )
    response = client.post("/v3/targetGroups", json=body, auth=utc_org.auth)
    assert response.status_code == 201, response.text
    created: Json = response.json()["data"]
    first = send(client, utc_org, bill("B", 600, "2024-08-27T10:00:00.000Z"))
    assert first["sideEffects"][0]["cappedValue"] == 500
    send(client, utc_org, bill("A", 100, "2024-08-26T12:00:00.000Z"))
    assert cycles(client, utc_org)[0][::3] == (ref(created, 1), 500)
    send(client, utc_org, giving_back("R", "B", 600, "2024-08-27T10:02:00.000Z"))
    assert cycles(client, utc_org)[0][::3] == (ref(created, 1), 100)


def test_two_re_anchorings_in_one_bulk_call_count_each_day_once_as_in_order(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    """A (5 Sep 08:00) alone, then one call with B (4 Sep 12:00) and C (4 Sep 11:00): each
    moves the anchor earlier. Cycle 1 (from C) holds all three: two days, two visits."""
    clock.set(datetime(2024, 9, 5, 10, 0, tzinfo=UTC))
    body = monthly_spend(
        "Daily visits",
        **DAILY_CYCLES,
        targets=[
            {
                "name": "visits",
                "targetEntity": "TRANSACTION",
                "targetType": "VISIT",
                "defaultValue": 3,
            }
        ],
    )
    assert client.post("/v3/targetGroups", json=body, auth=utc_org.auth).status_code == 201
    send(client, utc_org, bill("A", 10, "2024-09-05T08:00:00Z"))
    results = bulk(
        client,
        utc_org,
        [bill("B", 10, "2024-09-04T12:00:00Z"), bill("C", 10, "2024-09-04T11:00:00Z")],
    )
    assert [result["status"] for result in results] == ["APPLIED", "APPLIED"]
    shown = cycles(client, utc_org)
    assert (shown[0][1], shown[0][3], shown[0][4]) == ("2024-09-04T11:00:00.000Z", 2, None)
    for event in [
        bill("C", 10, "2024-09-04T11:00:00Z"),
        bill("B", 10, "2024-09-04T12:00:00Z"),
        bill("A", 10, "2024-09-05T08:00:00Z"),
    ]:
        send(
            client,
            utc_org,
            {**event, "eventId": event["eventId"] + "-in-order", "userId": IN_ORDER_USER},
        )
    assert shown == cycles(client, utc_org, IN_ORDER_USER)


def test_a_capped_cyclic_group_counts_min_of_cap_and_net_through_re_anchorings_and_returns(
    client: TestClient, utc_org: OrgCredentials, clock: Clock
) -> None:
    """Cap 250 a cycle; every event below lands in cycle 1 of the latest anchor."""
    clock.set(datetime(2024, 9, 5, 10, 0, tzinfo=UTC))
    body = monthly_spend(
        "Capped cycles",
        trackingType="CAPPING",
        **DAILY_CYCLES,
        targets=[
            {
                "name": "coins",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": 250,
            }
        ],
    )
    assert client.post("/v3/targetGroups", json=body, auth=utc_org.auth).status_code == 201
    steps = [
        (bill("A", 300, "2024-09-05T08:00:00Z"), 250),  # net 300
        (giving_back("RA", "A", 100, "2024-09-05T09:00:00Z"), 200),  # net 200
        (bill("B", 100, "2024-09-04T12:00:00Z"), 250),  # re-anchors; net 300
        (bill("C", 200, "2024-09-04T11:00:00Z"), 250),  # re-anchors; net 500
        (giving_back("RB", "B", 100, "2024-09-05T09:30:00Z"), 250),  # net 400
        (bill("D", 50, "2024-09-04T10:30:00Z"), 250),  # re-anchors; net 450
        (giving_back("RC", "C", 200, "2024-09-05T09:40:00Z"), 250),  # net 250
        (giving_back("RD", "D", 50, "2024-09-05T09:50:00Z"), 200),  # net 200
    ]
    for event, counted in steps:
        send(client, utc_org, event)
        assert cycles(client, utc_org)[0][3] == counted, event["eventId"]
