"""Audience groups: the customers an AUDIENCE_FILTER target counts (SPEC §8)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from milestones.store.enrolments import AudienceRepository
from tests.conftest import OrgCredentials, make_org

AUDIENCES = "/v3/audienceGroups"
NOT_FOUND = 300012


def _create(client: TestClient, org: OrgCredentials, **body: Any) -> dict[str, Any]:
    response = client.post(AUDIENCES, json={"name": "VIP", **body}, auth=org.auth)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _members(database: Database, group_id: int, user_ids: range) -> set[int]:
    with database.transaction(write=False) as connection:
        pairs = AudienceRepository(connection).members_among([group_id], user_ids)
    return {user_id for _, user_id in pairs}


def _set_members(
    client: TestClient, org: OrgCredentials, group_id: int, user_ids: list[int], mode: str | None
) -> Any:
    body: dict[str, Any] = {"userIds": user_ids}
    if mode is not None:
        body["mode"] = mode
    return client.put(f"{AUDIENCES}/{group_id}/members", json=body, auth=org.auth)


def test_creating_an_audience_group_answers_its_summary(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    response = client.post(
        AUDIENCES,
        json={"name": " Gold tier ", "description": "top spenders", "userIds": [3, 1, 2, 3]},
        auth=org.auth,
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data == {
        "id": data["id"],
        "name": "Gold tier",
        "description": "top spenders",
        "memberCount": 3,
        "createdOn": "2024-08-27T10:00:00.000Z",
        "lastUpdatedOn": "2024-08-27T10:00:00.000Z",
    }
    assert _members(database, data["id"], range(1, 10)) == {1, 2, 3}


def test_an_audience_group_may_start_empty(client: TestClient, org: OrgCredentials) -> None:
    assert _create(client, org)["memberCount"] == 0


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (None, {4, 5}),
        ("REPLACE", {4, 5}),
        ("ADD", {1, 2, 3, 4, 5}),
        ("REMOVE", {1, 2}),
    ],
)
def test_members_are_replaced_added_or_removed(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    clock: Clock,
    mode: str | None,
    expected: set[int],
) -> None:
    group = _create(client, org, userIds=[1, 2, 3])
    clock.advance(timedelta(minutes=5))
    user_ids = [3, 4, 5] if mode == "REMOVE" else [4, 5]
    response = _set_members(client, org, group["id"], user_ids, mode)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["memberCount"] == len(expected)
    assert data["lastUpdatedOn"] == "2024-08-27T10:05:00.000Z"
    assert data["createdOn"] == "2024-08-27T10:00:00.000Z"
    assert _members(database, group["id"], range(1, 10)) == expected


def test_replacing_with_no_user_ids_empties_the_group(
    client: TestClient, org: OrgCredentials
) -> None:
    group = _create(client, org, userIds=[1, 2])
    response = _set_members(client, org, group["id"], [], "REPLACE")
    assert response.json()["data"]["memberCount"] == 0


def test_reading_a_group_shows_its_member_count(client: TestClient, org: OrgCredentials) -> None:
    group = _create(client, org, userIds=list(range(1, 101)))
    response = client.get(f"{AUDIENCES}/{group['id']}", auth=org.auth)
    assert response.status_code == 200
    assert response.json()["data"] == group | {"memberCount": 100}


def test_a_large_member_list_is_stored_in_one_request(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    group = _create(client, org, userIds=list(range(1, 100_001)))
    assert group["memberCount"] == 100_000
    assert _members(database, group["id"], range(99_990, 100_010)) == set(range(99_990, 100_001))


def test_membership_is_looked_up_for_many_groups_and_users_at_once(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    first = _create(client, org, userIds=[1, 2])["id"]
    second = _create(client, org, name="Other", userIds=[2, 3])["id"]
    with database.transaction(write=False) as connection:
        pairs = AudienceRepository(connection).members_among([first, second], [2, 3, 4])
    assert pairs == {(first, 2), (second, 2), (second, 3)}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "description": "d" * 256}, "description"),
        ({"name": "ok", "userIds": [0]}, "userIds[0]"),
        ({"name": "ok", "userIds": ["7"]}, "userIds[0]"),
        ({"name": "ok", "userIds": 7}, "userIds"),
        ({"name": "ok", "userIds": list(range(1, 100_002))}, "userIds"),
    ],
)
def test_a_bad_create_body_is_refused_naming_the_field(
    client: TestClient, org: OrgCredentials, body: dict[str, Any], field: str
) -> None:
    response = client.post(AUDIENCES, json=body, auth=org.auth)
    assert response.status_code == 400
    assert field in [error.get("field") for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "userIds"),
        ({"userIds": [1], "mode": "MERGE"}, "mode"),
        ({"userIds": [-1]}, "userIds[0]"),
    ],
)
def test_a_bad_members_body_is_refused_naming_the_field(
    client: TestClient, org: OrgCredentials, body: dict[str, Any], field: str
) -> None:
    group = _create(client, org, userIds=[1])
    response = client.put(f"{AUDIENCES}/{group['id']}/members", json=body, auth=org.auth)
    assert response.status_code == 400
    assert field in [error.get("field") for error in response.json()["errors"]]


def test_an_unknown_group_is_not_found(client: TestClient, org: OrgCredentials) -> None:
    for response in (
        client.get(f"{AUDIENCES}/999", auth=org.auth),
        _set_members(client, org, 999, [1], "ADD"),
    ):
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == NOT_FOUND


def test_another_orgs_group_can_be_neither_read_nor_changed(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    group = _create(client, org, userIds=[1])
    other = make_org(database, clock, 77)
    assert client.get(f"{AUDIENCES}/{group['id']}", auth=other.auth).status_code == 404
    assert _set_members(client, other, group["id"], [2], "ADD").status_code == 404
    assert _members(database, group["id"], range(1, 5)) == {1}


def test_reads_honour_the_data_scope_of_connected_orgs(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    child = make_org(database, clock, 77)
    stranger = make_org(database, clock, 88)
    admin.connect_orgs(database, org.org_id, child.org_id)
    group = _create(client, child, userIds=[1, 2])
    path = f"{AUDIENCES}/{group['id']}"
    assert client.get(path, auth=org.auth).status_code == 404
    for scope in ({"DATA-SCOPE": "ALL"}, {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "77"}):
        response = client.get(path, auth=org.auth, headers=scope)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["memberCount"] == 2
    refused = client.get(
        path, auth=org.auth, headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "88"}
    )
    assert refused.status_code == 403
    assert client.get(path, auth=stranger.auth, headers={"DATA-SCOPE": "ALL"}).status_code == 404
    # writes always act on the caller's own org
    changed = client.put(
        f"{path}/members", json={"userIds": [3]}, auth=org.auth, headers={"DATA-SCOPE": "ALL"}
    )
    assert changed.status_code == 404


def test_audience_groups_need_credentials(client: TestClient) -> None:
    assert client.post(AUDIENCES, json={"name": "x"}).status_code == 401
    assert client.get(f"{AUDIENCES}/1").status_code == 401
