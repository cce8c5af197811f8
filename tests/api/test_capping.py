"""CAPPING groups: contributions count only up to the period's value (SPEC §9).

Each side effect of a positive contribution to a CAPPING group says what counted
(``cappedValue``) and what did not (``excessValue``), so a points engine can cap its own
issuance from the answer. The clock is pinned at 2024-08-27 10:00 UTC (15:30 in Kolkata).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones.clock import Clock
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials

Json = dict[str, Any]
USER = 347286146

COINS = {
    "name": "coins a day",
    "targetEntity": "ALTERNATE_CURRENCIES",
    "targetType": "ALL",
    "alternateCurrencyIdentifier": "coins",
    "programId": 973,
    "defaultValue": 500,
}
POINTS = {
    "name": "points a day",
    "targetEntity": "POINTS",
    "targetType": "ALL_POINTS",
    "defaultValue": 500,
}


def daily_cap(client: TestClient, org: OrgCredentials, target: Json) -> Json:
    """Five daily periods from 2024-08-26 (Cycle_2 is the clock's day), capped at 500."""
    body = monthly_spend(
        "Earn up to 500 a day",
        trackingType="CAPPING",
        frequencyType="DAILY",
        totalPeriods=5,
        targetCycleStartDate="2024-08-26T00:00:00.000",
        targetCycleEndDate="2024-08-30T23:59:59.000",
        targets=[target],
    )
    return create(client, org, body)


def create(client: TestClient, org: OrgCredentials, body: Json) -> Json:
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    group: Json = response.json()["data"]
    return group


def send(client: TestClient, org: OrgCredentials, event: Json) -> Json:
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text
    data: Json = json.loads(response.content, parse_float=Decimal)["data"]
    return data


def only(data: Json) -> Json:
    assert data["status"] == "APPLIED", data
    assert len(data["sideEffects"]) == 1, data
    effect: Json = data["sideEffects"][0]
    return effect


def earn(event_id: str, amount: Any, at: str, target: Json) -> Json:
    currency: Json = {"amount": amount, "earnType": "REGULAR"}
    if target["targetEntity"] == "ALTERNATE_CURRENCIES":
        currency |= {"identifier": "coins", "programId": 973}
    return {
        "eventId": event_id,
        "eventName": "PointsEarned",
        "userId": USER,
        "eventTime": at,
        "currency": currency,
    }


def bill(event_id: str, amount: Any, at: str = "2024-08-27T09:00:00.000Z") -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": USER,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount},
    }


def giving_back(event_id: str, original: str, **back: Any) -> Json:
    return {
        "eventId": event_id,
        "eventName": "ReturnBill",
        "userId": USER,
        "eventTime": "2024-08-27T09:30:00.000Z",
        "return": {"originalEventId": original, **back},
    }


def capped(effect: Json) -> tuple[Any, ...]:
    """(counted by this event, cappedValue, excessValue, value after the event)."""
    return (
        effect["currentEventTargetValue"],
        effect["cappedValue"],
        effect["excessValue"],
        effect["targetAchievedValueAfterEvent"],
    )


@pytest.mark.parametrize("target", [COINS, POINTS], ids=["ALTERNATE_CURRENCIES", "POINTS"])
def test_three_earnings_of_300_against_a_daily_cap_of_500_count_300_then_200_then_nothing(
    client: TestClient, org: OrgCredentials, target: Json
) -> None:
    daily_cap(client, org, target)

    first = only(send(client, org, earn("E-1", 300, "2024-08-27T04:00:00.000Z", target)))
    second = only(send(client, org, earn("E-2", 300, "2024-08-27T05:00:00.000Z", target)))
    third = only(send(client, org, earn("E-3", 300, "2024-08-27T06:00:00.000Z", target)))

    assert [effect["periodRefCode"] for effect in (first, second, third)] == ["Cycle_2"] * 3
    assert capped(first) == (300, 300, 0, 300)
    assert capped(second) == (200, 200, 100, 500)
    assert capped(third) == (0, 0, 300, 500)
    assert [e["targetAchievedValueBeforeEvent"] for e in (first, second, third)] == [0, 300, 500]
    assert [e["definedTargetValue"] for e in (first, second, third)] == [500] * 3
    assert [e["targetAchieved"] for e in (first, second, third)] == [False, True, False]
    assert second["targetAchievedDateTime"] == third["targetAchievedDateTime"]
    assert second["targetAchievedDateTime"] == "2024-08-27T05:00:00.000Z"
    assert [e["trackingType"] for e in (first, second, third)] == ["CAPPING"] * 3


def test_the_next_day_counts_again_from_zero(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    daily_cap(client, org, COINS)
    for number, hour in enumerate((4, 5, 6), start=1):
        send(client, org, earn(f"E-{number}", 300, f"2024-08-27T0{hour}:00:00.000Z", COINS))

    clock.set(datetime(2024, 8, 28, 10, 0, tzinfo=UTC))
    next_day = only(send(client, org, earn("E-4", 300, "2024-08-28T09:00:00.000Z", COINS)))
    assert (next_day["periodRefCode"], next_day["periodStartDate"]) == ("Cycle_3", "2024-08-28")
    assert next_day["targetAchievedValueBeforeEvent"] == 0
    assert capped(next_day) == (300, 300, 0, 300)
    more = only(send(client, org, earn("E-5", 250, "2024-08-28T09:30:00.000Z", COINS)))
    assert capped(more) == (200, 200, 50, 500)


def test_the_user_view_shows_the_capped_value_of_the_day(
    client: TestClient, org: OrgCredentials
) -> None:
    group = daily_cap(client, org, COINS)
    for number, hour in enumerate((4, 5, 6), start=1):
        send(client, org, earn(f"E-{number}", 300, f"2024-08-27T0{hour}:00:00.000Z", COINS))
    response = client.get(f"/v3.1/users/{USER}/targetGroups", auth=org.auth)
    assert response.status_code == 200, response.text
    data = json.loads(response.content, parse_float=Decimal)["data"]
    [entry] = [g for g in data["targetGroups"] if g["id"] == group["id"]]
    assert entry["trackingType"] == "CAPPING"
    [today] = entry["targets"]
    assert (today["periodRefCode"], today["currentPeriod"]) == ("Cycle_2", True)
    assert (today["targetValue"], today["targetAchievedValue"]) == (500, 500)
    assert today["targetAchievedDateTime"] == "2024-08-27T05:00:00.000Z"


def test_an_earning_exactly_filling_the_cap_counts_whole_and_the_next_counts_nothing(
    client: TestClient, org: OrgCredentials
) -> None:
    daily_cap(client, org, COINS)
    filling = only(send(client, org, earn("E-1", 500, "2024-08-27T04:00:00.000Z", COINS)))
    assert capped(filling) == (500, 500, 0, 500)
    assert filling["targetAchieved"] is True
    tiny = only(send(client, org, earn("E-2", 0.001, "2024-08-27T05:00:00.000Z", COINS)))
    assert capped(tiny) == (0, 0, Decimal("0.001"), 500)


def test_a_bill_over_the_cap_on_a_sales_target_counts_up_to_the_target(
    client: TestClient, org: OrgCredentials
) -> None:
    create(client, org, monthly_spend("Capped spend", trackingType="CAPPING"))

    over = only(send(client, org, bill("B-1", 1500)))

    assert over["periodRefCode"] == "Cycle_1"
    assert capped(over) == (1000, 1000, 500, 1000)
    assert over["targetAchieved"] is True
    after = only(send(client, org, bill("B-2", 50)))
    assert capped(after) == (0, 0, 50, 1000)


def test_bills_under_the_cap_count_whole_until_one_crosses_it(
    client: TestClient, org: OrgCredentials
) -> None:
    create(client, org, monthly_spend("Capped spend", trackingType="CAPPING"))
    first = only(send(client, org, bill("B-1", 700)))
    second = only(send(client, org, bill("B-2", 700)))
    assert capped(first) == (700, 700, 0, 700)
    assert capped(second) == (300, 300, 400, 1000)


def test_a_return_of_a_capped_bill_takes_back_the_excess_first(
    client: TestClient, org: OrgCredentials
) -> None:
    create(client, org, monthly_spend("Capped spend", trackingType="CAPPING"))
    send(client, org, bill("B-1", 1500))  # counts 1000 of 1500: 500 excess
    half = only(send(client, org, giving_back("R-1", "B-1", amount=750)))
    assert half["contributionType"] == "RETURN"
    # Net 750 is below the cap: the 500 excess goes first, then 250 of what counted.
    assert (
        half["targetAchievedValueBeforeEvent"],
        half["currentEventTargetValue"],
        half["targetAchievedValueAfterEvent"],
    ) == (1000, -250, 750)
    assert (half["cappedValue"], half["excessValue"]) == (-250, -500)
    rest = only(send(client, org, giving_back("R-2", "B-1")))
    assert rest["currentEventTargetValue"] == -750
    assert (rest["cappedValue"], rest["excessValue"]) == (-750, 0)
    assert rest["targetAchievedValueAfterEvent"] == 0
    again = only(send(client, org, bill("B-3", 1200)))
    assert capped(again) == (1000, 1000, 200, 1000)


def test_a_default_group_does_not_cap_and_says_nothing_of_capping(
    client: TestClient, org: OrgCredentials
) -> None:
    create(client, org, monthly_spend("Uncapped spend"))
    effect = only(send(client, org, bill("B-1", 1500)))
    assert effect["currentEventTargetValue"] == 1500
    assert effect["targetAchievedValueAfterEvent"] == 1500
    assert "cappedValue" not in effect
    assert "excessValue" not in effect


def test_each_target_of_a_capping_group_is_capped_on_its_own(
    client: TestClient, org: OrgCredentials
) -> None:
    targets = [
        {
            "name": "spend",
            "targetEntity": "TRANSACTION",
            "targetType": "SALES",
            "defaultValue": 1000,
        },
        {
            "name": "gross",
            "targetEntity": "TRANSACTION",
            "targetType": "GROSS_SALES",
            "defaultValue": 2000,
        },
    ]
    create(client, org, monthly_spend("Two caps", trackingType="CAPPING", targets=targets))
    event = bill("B-1", 1500)
    event["transaction"]["grossAmount"] = 1600
    data = send(client, org, event)
    effects = {effect["targetName"]: effect for effect in data["sideEffects"]}
    assert capped(effects["spend"]) == (1000, 1000, 500, 1000)
    assert capped(effects["gross"]) == (1600, 1600, 0, 1600)
