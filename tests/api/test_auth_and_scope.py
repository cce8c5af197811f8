"""Credentials (Basic and bearer) and data scopes across connected orgs."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials, make_org


def _token(client: TestClient, org: OrgCredentials, **kwargs: object) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": org.client_id,
        "client_secret": org.client_secret,
    }
    response = client.post("/v3/oauth/token", data=form, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_basic_credentials_open_the_api(client: TestClient, org: OrgCredentials) -> None:
    assert client.get("/v3/targetGroups", auth=org.auth).status_code == 200


def test_a_bearer_token_from_the_token_endpoint_opens_the_api(
    client: TestClient, org: OrgCredentials
) -> None:
    token = _token(client, org)
    response = client.get("/v3/targetGroups", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_the_token_endpoint_answers_like_an_oauth2_server(
    client: TestClient, org: OrgCredentials
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": org.client_id,
        "client_secret": org.client_secret,
    }
    body = client.post("/v3/oauth/token", data=form).json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["data"]["access_token"] == body["access_token"]
    assert body["errors"] == []


def test_the_token_endpoint_takes_json_and_basic_credentials(
    client: TestClient, org: OrgCredentials
) -> None:
    as_json = client.post(
        "/v3/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": org.client_id,
            "client_secret": org.client_secret,
        },
    )
    assert as_json.status_code == 200
    as_basic = client.post(
        "/v3/oauth/token", data={"grant_type": "client_credentials"}, auth=org.auth
    )
    assert as_basic.status_code == 200


def test_a_token_stops_working_when_it_expires(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    token = _token(client, org)
    clock.advance(timedelta(seconds=3601))
    response = client.get("/v3/targetGroups", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(b"client-50363:wrong").decode(),
        "Basic " + base64.b64encode(b"nobody:secret-50363").decode(),
        "Basic not-base64!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer made-up-token",
        "Digest abc",
        "",
    ],
    ids=[
        "wrong secret",
        "unknown client",
        "bad base64",
        "no colon",
        "unknown token",
        "other scheme",
        "empty",
    ],
)
def test_bad_credentials_are_refused_in_the_envelope(
    client: TestClient, org: OrgCredentials, header: str
) -> None:
    response = client.get("/v3/targetGroups", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None and body["errors"][0]["code"] == 300010
    assert "WWW-Authenticate" in response.headers


def test_secrets_are_stored_hashed(database: Database, org: OrgCredentials) -> None:
    from milestones.store.orgs import OrgRepository

    with database.transaction(write=False) as connection:
        found = OrgRepository(connection).client_with_secret(org.client_id)
    assert found is not None
    assert org.client_secret not in found[1]
    assert found[1].startswith("pbkdf2_sha256$")


@pytest.fixture
def three_orgs(client: TestClient, database: Database, clock: Clock) -> tuple[OrgCredentials, ...]:
    """Org 1 connected to org 2; org 3 on its own. Each has one group named after it."""
    orgs = tuple(make_org(database, clock, org_id, "UTC") for org_id in (1, 2, 3))
    admin.connect_orgs(database, 1, 2)
    for org in orgs:
        response = client.post(
            "/v3/targetGroups", json=monthly_spend(f"group of org {org.org_id}"), auth=org.auth
        )
        assert response.status_code == 201, response.text
    return orgs


def _names(client: TestClient, org: OrgCredentials, headers: dict[str, str]) -> list[str]:
    response = client.get("/v3/targetGroups", auth=org.auth, headers=headers)
    assert response.status_code == 200, response.text
    return sorted(group["name"] for group in response.json()["data"])


def test_data_scope_self_is_the_callers_org(
    client: TestClient, three_orgs: tuple[OrgCredentials, ...]
) -> None:
    first = three_orgs[0]
    assert _names(client, first, {}) == ["group of org 1"]
    assert _names(client, first, {"DATA-SCOPE": "SELF"}) == ["group of org 1"]


def test_data_scope_all_adds_every_connected_org(
    client: TestClient, three_orgs: tuple[OrgCredentials, ...]
) -> None:
    assert _names(client, three_orgs[0], {"DATA-SCOPE": "ALL"}) == [
        "group of org 1",
        "group of org 2",
    ]
    assert _names(client, three_orgs[1], {"DATA-SCOPE": "ALL"}) == [
        "group of org 1",
        "group of org 2",
    ]
    assert _names(client, three_orgs[2], {"DATA-SCOPE": "ALL"}) == ["group of org 3"]


def test_data_scope_other_reads_the_named_connected_orgs(
    client: TestClient, three_orgs: tuple[OrgCredentials, ...]
) -> None:
    headers = {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "2"}
    assert _names(client, three_orgs[0], headers) == ["group of org 2"]


def test_data_scope_other_refuses_an_unconnected_org(
    client: TestClient, three_orgs: tuple[OrgCredentials, ...]
) -> None:
    response = client.get(
        "/v3/targetGroups",
        auth=three_orgs[0].auth,
        headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "2,3"},
    )
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["field"] == "DATA-SCOPE-ORG" and "3" in error["message"]


def test_a_connected_orgs_group_is_readable_in_scope_but_not_writable(
    client: TestClient, three_orgs: tuple[OrgCredentials, ...]
) -> None:
    first, second, _ = three_orgs
    group_id = client.get("/v3/targetGroups", auth=second.auth).json()["data"][0]["id"]
    assert client.get(f"/v3/targetGroups/{group_id}", auth=first.auth).status_code == 404
    scoped = client.get(
        f"/v3/targetGroups/{group_id}", auth=first.auth, headers={"DATA-SCOPE": "ALL"}
    )
    assert scoped.status_code == 200
    assert scoped.json()["data"]["orgId"] == 2
    update = client.put(
        f"/v3/targetGroups/{group_id}",
        json={"description": "taken over"},
        auth=first.auth,
        headers={"DATA-SCOPE": "ALL"},
    )
    assert update.status_code == 404
    unchanged = client.get(f"/v3/targetGroups/{group_id}", auth=second.auth).json()["data"]
    assert "description" not in unchanged


def test_writes_act_on_the_callers_org_whatever_the_scope(
    client: TestClient, three_orgs: tuple[OrgCredentials, ...]
) -> None:
    response = client.post(
        "/v3/targetGroups",
        json=monthly_spend("made with scope OTHER"),
        auth=three_orgs[0].auth,
        headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "2"},
    )
    assert response.status_code == 201
    assert response.json()["data"]["orgId"] == 1
