"""An eventId names one event (SPEC §6.1): the same event again is DUPLICATE, another is 310140."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_events_flow import USER, Json, bill, bulk, post, spend_group, target
from tests.conftest import OrgCredentials

REUSED = 310140


def spent(client: TestClient, org: OrgCredentials) -> Any:
    response = client.get(f"/v3.1/users/{USER}/targetGroups", auth=org.auth)
    assert response.status_code == 200, response.text
    [group] = response.json()["data"]["targetGroups"]
    return group["targets"][0]["targetAchievedValue"]


def lifetime(client: TestClient, org: OrgCredentials) -> Any:
    response = client.get(f"/v3/customers/{USER}", auth=org.auth)
    assert response.status_code == 200, response.text
    return response.json()["data"]["loyaltyInfo"]["lifetimePurchases"]


@pytest.mark.parametrize(
    "change",
    [
        {"billAmount": 1300},  # another amount
        {"userId": USER + 1},  # another customer
        {"eventTime": "2024-08-27T09:00:00.000Z"},  # another time
        {"eventName": "Visit"},  # another name
    ],
)
def test_the_same_event_id_with_a_different_event_is_rejected_and_changes_nothing(
    client: TestClient, org: OrgCredentials, change: Json
) -> None:
    spend_group(client, org, target("spend", "SALES", 5000))
    assert post(client, org, bill("B-1", 1200)).json()["data"]["status"] == "APPLIED"
    other = bill("B-1", 1200)
    if "billAmount" in change:
        other["transaction"]["billAmount"] = change["billAmount"]
    else:
        other.update(change)
    response = post(client, org, other)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["data"]["status"] == "REJECTED"
    assert body["errors"] == [
        {
            "code": REUSED,
            "message": body["errors"][0]["message"],
            "field": "eventId",
        }
    ]
    assert "already used by a different event" in body["errors"][0]["message"]
    assert spent(client, org) == 1200
    assert lifetime(client, org) == 1200


def test_the_same_event_sent_again_with_its_numbers_written_otherwise_is_a_duplicate(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("spend", "SALES", 5000))
    post(client, org, bill("B-1", 1200))
    body = bill("B-1", 1200).copy()
    raw = (
        '{"eventId": "B-1", "eventName": "TransactionAdd", "userId": ' + str(USER) + ","
        ' "eventTime": "2024-08-27T15:13:40.000+05:30",'
        ' "transaction": {"billAmount": 1.2E+3, "billNumber": "B-1"}}'
    )
    assert body["transaction"]["billAmount"] == 1200
    response = client.post(
        "/v3/events",
        content=raw,
        headers={"Content-Type": "application/json"},
        auth=org.auth,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "DUPLICATE"
    assert spent(client, org) == 1200


def test_a_reused_event_id_inside_one_bulk_call_rejects_only_the_second_event(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("spend", "SALES", 5000))
    data = bulk(
        client,
        org,
        [bill("B-1", 1200), bill("B-1", 1200), bill("B-1", 99), bill("B-2", 10)],
    )
    statuses = [(r["status"], [e["code"] for e in r["errors"]]) for r in data["results"]]
    assert statuses == [
        ("APPLIED", []),
        ("DUPLICATE", []),
        ("REJECTED", [REUSED]),
        ("APPLIED", []),
    ]
    assert spent(client, org) == 1210


def test_a_resend_that_adds_empty_or_null_fields_is_still_a_duplicate(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("spend", "SALES", 5000))
    post(client, org, bill("B-1", 1200))
    again = bill("B-1", 1200)
    again.update({"attributes": {}, "storeId": None})
    again["transaction"]["lineItems"] = []
    response = post(client, org, again)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "DUPLICATE"
