"""Customers, PUT and GET /v3/customers/{userId}: the profile the user view shows (SPEC §12)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from milestones import admin
from milestones.clock import Clock
from milestones.store.customers import CustomerRepository
from milestones.store.database import Database
from tests.conftest import OrgCredentials, make_org

Json = dict[str, Any]
USER = 347286146
PATH = f"/v3/customers/{USER}"
NOT_FOUND = 300012
INVALID_INPUT = 300004
PROFILE = {
    "firstName": "Asha",
    "lastName": "Rao",
    "commChannels": [{"type": "mobile", "value": "918111255499", "primary": True}],
}


def decoded(response: Response) -> Json:
    assert response.status_code == 200, response.text
    body: Json = json.loads(response.content, parse_float=Decimal)
    return body


def put(client: TestClient, org: OrgCredentials, body: Json, user: int = USER) -> Response:
    return client.put(f"/v3/customers/{user}", json=body, auth=org.auth)


def bill(event_id: str, amount: Any, user: int = USER) -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": "2024-08-27T09:43:40.000Z",
        "transaction": {"billNumber": event_id, "billAmount": amount},
    }


def send(client: TestClient, org: OrgCredentials, event: Json) -> None:
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text


def test_a_new_customer_is_answered_as_the_user_view_shows_them(
    client: TestClient, org: OrgCredentials
) -> None:
    body = {"profiles": [PROFILE], "customFields": {"tier": "gold", "visits": 3}}
    customer = decoded(put(client, org, body))["data"]
    assert customer == {
        "id": USER,
        "profiles": [
            {
                "firstName": "Asha",
                "lastName": "Rao",
                "commChannels": [
                    {
                        "type": "mobile",
                        "accountId": None,
                        "value": "918111255499",
                        "primary": True,
                        "verified": False,
                        "subscribed": None,
                        "attributes": None,
                    }
                ],
                "source": "instore",
                "accountId": "",
                "userId": USER,
                "orgSourceId": -1,
            }
        ],
        "loyaltyInfo": {
            "attribution": {
                "createdOn": "2024-08-27T10:00:00.000+0000",
                "lastUpdatedOn": "2024-08-27T10:00:00.000+0000",
                "lastUpdatedBy": {
                    "id": 1,
                    "code": org.client_id,
                    "description": "",
                    "name": org.client_id,
                    "type": "API_CLIENT",
                },
                "createdBy": {
                    "id": 1,
                    "code": org.client_id,
                    "description": "",
                    "name": org.client_id,
                    "type": "API_CLIENT",
                },
            },
            "loyaltyType": "loyalty",
            "lifetimePurchases": 0,
        },
        "customFields": {"tier": "gold", "visits": 3},
    }
    assert decoded(client.get(PATH, auth=org.auth))["data"] == customer


def test_a_second_put_changes_only_the_fields_it_gives(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    put(client, org, {"profiles": [PROFILE], "source": "ecom", "customFields": {"tier": "gold"}})
    clock.advance(timedelta(hours=1))
    customer = decoded(put(client, org, {"loyaltyType": "non_loyalty"}))["data"]
    assert customer["loyaltyInfo"]["loyaltyType"] == "non_loyalty"
    assert customer["customFields"] == {"tier": "gold"}
    assert customer["profiles"][0]["source"] == "ecom"
    attribution = customer["loyaltyInfo"]["attribution"]
    assert attribution["createdOn"] == "2024-08-27T10:00:00.000+0000"
    assert attribution["lastUpdatedOn"] == "2024-08-27T11:00:00.000+0000"

    cleared = decoded(put(client, org, {"customFields": {}, "profiles": []}))["data"]
    assert (cleared["customFields"], cleared["profiles"]) == ({}, [])


def test_custom_field_numbers_stay_exact(client: TestClient, org: OrgCredentials) -> None:
    response = client.put(
        PATH,
        content=b'{"customFields": {"ratio": 0.1, "big": 123456789012.345, "flag": true}}',
        headers={"Content-Type": "application/json"},
        auth=org.auth,
    )
    fields = decoded(response)["data"]["customFields"]
    assert fields == {"ratio": Decimal("0.1"), "big": Decimal("123456789012.345"), "flag": True}
    assert b'"ratio":0.1' in response.content


def test_lifetime_purchases_are_net_bills_less_returns(
    client: TestClient, org: OrgCredentials
) -> None:
    put(client, org, {"profiles": [PROFILE]})
    send(client, org, bill("B-1", 1200))
    send(client, org, bill("B-2", 300.5))
    send(
        client,
        org,
        {
            "eventId": "R-1",
            "eventName": "ReturnBill",
            "userId": USER,
            "eventTime": "2024-08-27T09:50:00.000Z",
            "return": {"originalEventId": "B-1", "amount": 200},
        },
    )
    send(
        client,
        org,
        {
            "eventId": "G-1",
            "eventName": "GameSpin",
            "userId": USER,
            "eventTime": "2024-08-27T09:55:00.000Z",
            "attributes": {"spins": 3},
        },
    )
    loyalty = decoded(client.get(PATH, auth=org.auth))["data"]["loyaltyInfo"]
    assert loyalty["lifetimePurchases"] == Decimal("1300.500")


def test_a_customer_known_only_from_events_is_shown_without_a_profile(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    send(client, org, bill("B-1", 1200, user=9))
    clock.advance(timedelta(minutes=30))
    send(client, org, bill("B-2", 100, user=9))
    customer = decoded(client.get("/v3/customers/9", auth=org.auth))["data"]
    assert customer == {
        "id": 9,
        "profiles": [],
        "loyaltyInfo": {
            "attribution": {
                "createdOn": "2024-08-27T10:00:00.000+0000",
                "lastUpdatedOn": "2024-08-27T10:30:00.000+0000",
                "lastUpdatedBy": None,
                "createdBy": None,
            },
            "loyaltyType": "loyalty",
            "lifetimePurchases": 1300,
        },
        "customFields": {},
    }


def test_an_unknown_customer_is_not_found(client: TestClient, org: OrgCredentials) -> None:
    response = client.get("/v3/customers/123", auth=org.auth)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == NOT_FOUND
    assert response.json()["errors"][0]["field"] == "userId"


def test_custom_fields_are_looked_up_for_many_customers_at_once(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    for user, tier in ((1, "gold"), (2, "silver")):
        put(client, org, {"customFields": {"tier": tier}}, user=user)
    put(client, org, {"profiles": [PROFILE]}, user=3)
    with database.transaction(write=False) as connection:
        fields = CustomerRepository(connection).custom_fields_of(org.org_id, [1, 2, 3, 4])
    assert fields == {1: {"tier": "gold"}, 2: {"tier": "silver"}, 3: {}}


# --- Data scope ---------------------------------------------------------------------------


@pytest.fixture
def connected(client: TestClient, database: Database, clock: Clock) -> tuple[OrgCredentials, ...]:
    """Org 1 and 2 connected, org 3 alone; org 2 knows the customer."""
    orgs = tuple(make_org(database, clock, org_id, "UTC") for org_id in (1, 2, 3))
    admin.connect_orgs(database, 1, 2)
    assert put(client, orgs[1], {"customFields": {"org": 2}}).status_code == 200
    return orgs


@pytest.mark.parametrize(
    "headers",
    [{"DATA-SCOPE": "ALL"}, {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "2"}],
)
def test_a_connected_orgs_customer_is_readable_in_scope(
    client: TestClient, connected: tuple[OrgCredentials, ...], headers: dict[str, str]
) -> None:
    response = client.get(PATH, headers=headers, auth=connected[0].auth)
    assert decoded(response)["data"]["customFields"] == {"org": 2}


def test_a_connected_orgs_customer_is_not_found_in_scope_self(
    client: TestClient, connected: tuple[OrgCredentials, ...]
) -> None:
    response = client.get(PATH, headers={"DATA-SCOPE": "SELF"}, auth=connected[0].auth)
    assert response.status_code == 404


def test_an_unconnected_org_is_refused(
    client: TestClient, connected: tuple[OrgCredentials, ...]
) -> None:
    headers = {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "2"}
    response = client.get(PATH, headers=headers, auth=connected[2].auth)
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "DATA-SCOPE-ORG"


def test_a_put_acts_on_the_callers_org_whatever_the_scope(
    client: TestClient, connected: tuple[OrgCredentials, ...]
) -> None:
    headers = {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "2"}
    response = client.put(
        PATH, json={"customFields": {"org": 1}}, headers=headers, auth=connected[0].auth
    )
    assert decoded(response)["data"]["customFields"] == {"org": 1}
    theirs = decoded(client.get(PATH, auth=connected[1].auth))["data"]
    assert theirs["customFields"] == {"org": 2}


# --- Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customFields": []}, "customFields"),
        ({"customFields": {f"f{n}": n for n in range(101)}}, "customFields"),
        ({"customFields": {"nested": {"a": 1}}}, "customFields"),
        ({"customFields": {"list": [1]}}, "customFields"),
        ({"customFields": {"": 1}}, "customFields"),
        ({"customFields": {"huge": 10**16}}, "customFields"),
        ({"customFields": {"nul": "a\u0000b"}}, "customFields"),
        ({"loyaltyType": 5}, "loyaltyType"),
        ({"loyaltyType": ""}, "loyaltyType"),
        ({"source": True}, "source"),
        ({"profiles": {"firstName": "x"}}, "profiles"),
        ({"profiles": [{"firstName": 5}]}, "profiles[0].firstName"),
        ({"profiles": [{"orgSourceId": "1"}]}, "profiles[0].orgSourceId"),
        (
            {"profiles": [{"commChannels": [{"type": "mobile"}]}]},
            "profiles[0].commChannels[0].value",
        ),
        (
            {"profiles": [{"commChannels": [{"type": "x", "value": "1", "primary": "yes"}]}]},
            "profiles[0].commChannels[0].primary",
        ),
        ({"profiles": [PROFILE] * 11}, "profiles"),
    ],
)
def test_a_bad_body_is_refused_naming_the_field(
    client: TestClient, org: OrgCredentials, body: Json, field: str
) -> None:
    response = put(client, org, body)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == (INVALID_INPUT, field)
    assert client.get(PATH, auth=org.auth).status_code == 404


@pytest.mark.parametrize("content", [b"", b"[]", b"{not json", b'{"customFields": NaN}'])
def test_a_body_that_is_not_a_json_object_is_refused(
    client: TestClient, org: OrgCredentials, content: bytes
) -> None:
    response = client.put(
        PATH, content=content, headers={"Content-Type": "application/json"}, auth=org.auth
    )
    assert response.status_code == 400
    assert response.json()["data"] is None


@pytest.mark.parametrize("user", ["0", "-1", "x", str(2**63)])
def test_a_bad_user_id_is_refused(client: TestClient, org: OrgCredentials, user: str) -> None:
    assert client.put(f"/v3/customers/{user}", json={}, auth=org.auth).status_code == 400
    assert client.get(f"/v3/customers/{user}", auth=org.auth).status_code == 400


def test_customers_need_credentials(client: TestClient) -> None:
    assert client.put(PATH, json={}).status_code == 401
    assert client.get(PATH).status_code == 401


def test_the_put_time_is_the_servers_clock(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    clock.set(datetime(2024, 8, 27, 9, 35, 24, tzinfo=UTC))
    customer = decoded(put(client, org, {}))["data"]
    assert customer["loyaltyInfo"]["attribution"]["createdOn"] == "2024-08-27T09:35:24.000+0000"
