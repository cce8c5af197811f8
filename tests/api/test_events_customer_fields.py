"""Expressions on ``customer.customFields`` read the profile stored with PUT /v3/customers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials


def _bill(event_id: str, user_id: int) -> dict[str, object]:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user_id,
        "eventTime": "2024-08-27T09:00:00Z",
        "transaction": {"billAmount": 10},
    }


def test_only_customers_whose_custom_field_matches_count(
    client: TestClient, utc_org: OrgCredentials
) -> None:
    body = monthly_spend("Gold members")
    body["targets"][0]["expression"] = "customer.customFields.tier == 'gold'"
    assert client.post("/v3/targetGroups", json=body, auth=utc_org.auth).status_code == 201
    assert (
        client.put(
            "/v3/customers/7", json={"customFields": {"tier": "gold"}}, auth=utc_org.auth
        ).status_code
        == 200
    )
    assert (
        client.put(
            "/v3/customers/8", json={"customFields": {"tier": "silver"}}, auth=utc_org.auth
        ).status_code
        == 200
    )

    statuses = {
        user_id: client.post(
            "/v3/events", json=_bill(f"B-{user_id}", user_id), auth=utc_org.auth
        ).json()["data"]["status"]
        for user_id in (7, 8, 9)
    }

    assert statuses == {7: "APPLIED", 8: "NO_MATCH", 9: "NO_MATCH"}


def test_a_changed_custom_field_counts_from_the_next_event(
    client: TestClient, utc_org: OrgCredentials
) -> None:
    body = monthly_spend("Gold members")
    body["targets"][0]["expression"] = "customer.customFields.tier == 'gold'"
    client.post("/v3/targetGroups", json=body, auth=utc_org.auth)
    client.put("/v3/customers/7", json={"customFields": {"tier": "silver"}}, auth=utc_org.auth)
    assert (
        client.post("/v3/events", json=_bill("B-1", 7), auth=utc_org.auth).json()["data"]["status"]
        == "NO_MATCH"
    )

    client.put("/v3/customers/7", json={"customFields": {"tier": "gold"}}, auth=utc_org.auth)

    assert (
        client.post("/v3/events", json=_bill("B-2", 7), auth=utc_org.auth).json()["data"]["status"]
        == "APPLIED"
    )
