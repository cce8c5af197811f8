"""UNIFIED groups: several targets judged together per period (SPEC §4, §11).

A monthly group (August, September, October 2024, Asia/Kolkata) with a SALES target of
1,000 ("spend") and a VISIT target of 3 days ("visits"); purchases on successive days of
August, 09:00 UTC, the clock pinned at 2024-08-27 10:00 UTC. The group's state is read
from the side effects: the last side effect of the group for an event carries
``groupAchieved``, ``groupAchievedNow`` and ``groupAchievedDateTime`` (docs/api.md).
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
USER = 347286146


def day(number: int) -> str:
    """09:00 UTC on 2024-08-<number>."""
    return f"2024-08-{number:02d}T09:00:00.000Z"


def spend(value: Any = 1000) -> Json:
    return {
        "name": "spend",
        "targetEntity": "TRANSACTION",
        "targetType": "SALES",
        "defaultValue": value,
    }


def visits(value: Any = 3) -> Json:
    return {
        "name": "visits",
        "targetEntity": "TRANSACTION",
        "targetType": "VISIT",
        "defaultValue": value,
    }


def bills(value: Any = 5) -> Json:
    return {
        "name": "bills",
        "targetEntity": "TRANSACTION",
        "targetType": "COUNT",
        "defaultValue": value,
    }


def unified(client: TestClient, org: OrgCredentials, *targets: Json, **fields: Any) -> Json:
    body = monthly_spend("Spend and visit", trackingType="UNIFIED", **fields)
    body["targets"] = list(targets or (spend(), visits()))
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    group: Json = response.json()["data"]
    return group


def buy(client: TestClient, org: OrgCredentials, event_id: str, amount: Any, at: str) -> Json:
    event = {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": USER,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount},
    }
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text
    data: Json = json.loads(response.content, parse_float=Decimal)["data"]
    assert data["status"] == "APPLIED", data
    return data


def group_state(data: Json) -> tuple[bool, bool, str | None]:
    """(groupAchieved, groupAchievedNow, groupAchievedDateTime), from the last side effect of
    the group for this event (the only one that carries them)."""
    effects = data["sideEffects"]
    carrying = [index for index, effect in enumerate(effects) if "groupAchieved" in effect]
    assert carrying == [len(effects) - 1], effects
    last = effects[-1]
    return (last["groupAchieved"], last["groupAchievedNow"], last["groupAchievedDateTime"])


def achieved(data: Json) -> dict[str, bool]:
    """Each target of the event's side effects: is it achieved (now or before)?"""
    return {
        effect["targetName"]: effect["targetAchievedDateTime"] is not None
        for effect in data["sideEffects"]
    }


# The group as created


@pytest.mark.parametrize(("combination", "operator"), [("ALL", "&"), ("ANY", "|")])
def test_a_unified_group_gets_a_rule_expression_from_its_target_ids(
    client: TestClient, org: OrgCredentials, combination: str, operator: str
) -> None:
    group = unified(client, org, combinationType=combination)
    first, second = (target["id"] for target in group["targets"])
    assert group["trackingType"] == "UNIFIED"
    assert group["combinationType"] == combination
    assert group["unifiedTargetExpression"]["ruleExpression"] == f"({first} {operator} {second})"
    fetched = client.get(f"/v3/targetGroups/{group['id']}", auth=org.auth).json()["data"]
    assert fetched["unifiedTargetExpression"] == group["unifiedTargetExpression"]


def test_a_unified_group_keeps_its_sum_threshold(client: TestClient, org: OrgCredentials) -> None:
    group = unified(
        client, org, unifiedTargetExpression={"aggregation": "SUM", "thresholdValue": 1500}
    )
    expression = group["unifiedTargetExpression"]
    assert (expression["aggregation"], expression["thresholdValue"]) == ("SUM", 1500)
    assert group["combinationType"] == "ALL"  # the default


def test_a_unified_group_needs_two_targets(client: TestClient, org: OrgCredentials) -> None:
    body = monthly_spend("Alone", trackingType="UNIFIED")
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 400, response.text
    assert [error.get("field") for error in response.json()["errors"]] == ["targets"]


# ALL and ANY


def test_all_is_achieved_by_the_event_that_achieves_the_last_of_its_targets(
    client: TestClient, org: OrgCredentials
) -> None:
    unified(client, org, combinationType="ALL")

    first = buy(client, org, "B-1", 1200, day(20))
    assert achieved(first) == {"spend": True, "visits": False}
    assert group_state(first) == (False, False, None)

    second = buy(client, org, "B-2", 10, day(21))
    assert group_state(second) == (False, False, None)

    third = buy(client, org, "B-3", 10, day(22))
    assert achieved(third) == {"spend": True, "visits": True}
    assert group_state(third) == (True, True, day(22))

    fourth = buy(client, org, "B-4", 10, day(23))
    assert group_state(fourth) == (True, False, day(22))


def test_any_is_achieved_by_the_event_that_achieves_the_first_of_its_targets(
    client: TestClient, org: OrgCredentials
) -> None:
    unified(client, org, combinationType="ANY")

    first = buy(client, org, "B-1", 400, day(20))
    assert group_state(first) == (False, False, None)

    second = buy(client, org, "B-2", 600, day(21))
    assert achieved(second) == {"spend": True, "visits": False}
    assert group_state(second) == (True, True, day(21))

    third = buy(client, org, "B-3", 10, day(22))
    assert achieved(third) == {"spend": True, "visits": True}
    assert group_state(third) == (True, False, day(21))


def test_any_is_achieved_by_the_visits_alone_when_they_come_first(
    client: TestClient, org: OrgCredentials
) -> None:
    unified(client, org, combinationType="ANY")
    states = [group_state(buy(client, org, f"B-{n}", 10, day(n))) for n in (20, 21, 22, 23)]
    assert states == [
        (False, False, None),
        (False, False, None),
        (True, True, day(22)),
        (True, False, day(22)),
    ]


# With a SUM threshold


def test_all_with_a_sum_threshold_waits_for_the_sum_after_every_target_is_achieved(
    client: TestClient, org: OrgCredentials
) -> None:
    unified(
        client,
        org,
        combinationType="ALL",
        unifiedTargetExpression={"aggregation": "SUM", "thresholdValue": 1500},
    )
    # Σ = spend + visits: 1201, 1212, 1223 (both targets achieved, under 1500), 1524.
    assert group_state(buy(client, org, "B-1", 1200, day(20))) == (False, False, None)
    assert group_state(buy(client, org, "B-2", 10, day(21))) == (False, False, None)
    both = buy(client, org, "B-3", 10, day(22))
    assert achieved(both) == {"spend": True, "visits": True}
    assert group_state(both) == (False, False, None)
    # The group as a whole is achieved when the sum reaches the threshold: by this event.
    assert group_state(buy(client, org, "B-4", 300, day(23))) == (True, True, day(23))
    assert group_state(buy(client, org, "B-5", 1, day(24))) == (True, False, day(23))


def test_all_with_a_sum_threshold_already_reached_is_achieved_with_the_last_target(
    client: TestClient, org: OrgCredentials
) -> None:
    unified(
        client,
        org,
        combinationType="ALL",
        unifiedTargetExpression={"aggregation": "SUM", "thresholdValue": 1500},
    )
    assert group_state(buy(client, org, "B-1", 2000, day(20))) == (False, False, None)
    assert group_state(buy(client, org, "B-2", 10, day(21))) == (False, False, None)
    assert group_state(buy(client, org, "B-3", 10, day(22))) == (True, True, day(22))


def test_any_with_a_sum_threshold_needs_one_target_and_the_sum(
    client: TestClient, org: OrgCredentials
) -> None:
    unified(
        client,
        org,
        combinationType="ANY",
        unifiedTargetExpression={"aggregation": "SUM", "thresholdValue": 1500},
    )
    first = buy(client, org, "B-1", 1200, day(20))
    assert achieved(first) == {"spend": True, "visits": False}
    assert group_state(first) == (False, False, None)  # Σ 1201 < 1500
    assert group_state(buy(client, org, "B-2", 300, day(21))) == (True, True, day(21))
    assert group_state(buy(client, org, "B-3", 10, day(22))) == (True, False, day(21))


# With COUNT aggregation


def test_count_aggregation_needs_that_many_targets_achieved(
    client: TestClient, org: OrgCredentials
) -> None:
    group = unified(
        client,
        org,
        spend(),
        visits(),
        bills(5),
        unifiedTargetExpression={"aggregation": "COUNT", "thresholdValue": 2},
    )
    assert group["unifiedTargetExpression"]["aggregation"] == "COUNT"
    first = buy(client, org, "B-1", 1200, day(20))
    assert achieved(first) == {"spend": True, "visits": False, "bills": False}
    assert group_state(first) == (False, False, None)
    assert group_state(buy(client, org, "B-2", 10, day(21))) == (False, False, None)
    third = buy(client, org, "B-3", 10, day(22))
    assert achieved(third) == {"spend": True, "visits": True, "bills": False}
    assert group_state(third) == (True, True, day(22))
    fourth = buy(client, org, "B-4", 10, day(23))
    assert group_state(fourth) == (True, False, day(22))


# Periods, other groups, returns


def test_each_period_of_a_unified_group_is_judged_on_its_own(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    unified(client, org, combinationType="ANY")
    august = buy(client, org, "B-1", 1000, day(20))
    assert august["sideEffects"][-1]["periodRefCode"] == "Cycle_1"
    assert group_state(august) == (True, True, day(20))
    clock.set(datetime(2024, 9, 5, 10, 0, tzinfo=UTC))
    september = buy(client, org, "B-2", 10, "2024-09-05T09:00:00.000Z")
    assert {effect["periodRefCode"] for effect in september["sideEffects"]} == {"Cycle_2"}
    assert group_state(september) == (False, False, None)


def test_a_default_group_with_two_targets_reports_no_group_achievement(
    client: TestClient, org: OrgCredentials
) -> None:
    body = monthly_spend("Two on their own", targets=[spend(), visits(1)])
    assert client.post("/v3/targetGroups", json=body, auth=org.auth).status_code == 201
    data = buy(client, org, "B-1", 1200, day(20))
    assert achieved(data) == {"spend": True, "visits": True}
    for effect in data["sideEffects"]:
        assert "groupAchieved" not in effect
        assert effect["streaksAchieved"] == []


def test_with_revoke_on_return_a_return_that_unachieves_a_target_revokes_the_group(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=True)
    unified(client, org, combinationType="ALL")
    buy(client, org, "B-1", 1200, day(20))
    buy(client, org, "B-2", 10, day(21))
    assert group_state(buy(client, org, "B-3", 10, day(22)))[:2] == (True, True)

    back = {
        "eventId": "R-1",
        "eventName": "ReturnBill",
        "userId": USER,
        "eventTime": day(23),
        "return": {"originalEventId": "B-1", "amount": 300},
    }
    response = client.post("/v3/events", json=back, auth=org.auth)
    assert response.status_code == 200, response.text
    data = json.loads(response.content, parse_float=Decimal)["data"]
    [effect] = data["sideEffects"]  # the visit is kept
    assert (effect["targetName"], effect["targetAchievedValueAfterEvent"]) == ("spend", 920)
    assert effect["targetAchievementRevoked"] is True
    assert (effect["groupAchieved"], effect["groupAchievedNow"]) == (False, False)
    assert effect["groupAchievementRevoked"] is True

    again = buy(client, org, "B-4", 100, day(24))
    assert group_state(again) == (True, True, day(24))


def test_without_revoke_on_return_the_group_stays_achieved_after_a_return(
    client: TestClient, org: OrgCredentials
) -> None:
    unified(client, org, combinationType="ALL")
    buy(client, org, "B-1", 1200, day(20))
    buy(client, org, "B-2", 10, day(21))
    buy(client, org, "B-3", 10, day(22))
    back = {
        "eventId": "R-1",
        "eventName": "ReturnBill",
        "userId": USER,
        "eventTime": day(23),
        "return": {"originalEventId": "B-1", "amount": 300},
    }
    response = client.post("/v3/events", json=back, auth=org.auth)
    assert response.status_code == 200, response.text
    [effect] = response.json()["data"]["sideEffects"]
    assert effect["groupAchieved"] is True
    assert effect["groupAchievedNow"] is False
    assert "groupAchievementRevoked" not in effect
