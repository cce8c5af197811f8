"""Leaderboards (SPEC §13): one board page by page, and one customer's ranks on several boards.

Ties are broken by who got to their value first in business time (the eventTime of the
contribution that brought it there, not when it was processed), then by userId.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials, make_org

Json = dict[str, Any]
AUGUST = datetime(2024, 8, 20, 10, 0, tzinfo=UTC)


def create(client: TestClient, org: OrgCredentials, body: Json) -> Json:
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    group: Json = response.json()["data"]
    return group


def spend(client: TestClient, org: OrgCredentials, clock: Clock, user: int, amount: int) -> None:
    """A purchase of ``amount`` by ``user``, stamped and processed at the clock's instant."""
    at = clock.now().isoformat().replace("+00:00", "Z")
    event = {
        "eventId": f"B-{user}-{at}",
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": at,
        "transaction": {"billNumber": "b", "billAmount": amount},
    }
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text
    clock.advance(timedelta(minutes=1))


def board(client: TestClient, org: OrgCredentials, group_id: int, **params: Any) -> Response:
    return client.get(f"/v3.1/leaderboards/targetGroups/{group_id}", params=params, auth=org.auth)


def ranked(response: Response) -> list[tuple[int, int, int]]:
    assert response.status_code == 200, response.text
    return [(e["rank"], e["userId"], e["value"]) for e in response.json()["data"]["entries"]]


@pytest.fixture
def lb_org(database: Database, org: OrgCredentials) -> OrgCredentials:
    admin.set_org(database, org.org_id, leaderboards_enabled=True)
    return org


@pytest.fixture
def contest(client: TestClient, lb_org: OrgCredentials, clock: Clock) -> Json:
    """A monthly leaderboard group (target 500) and seven customers' purchases in August.

    100 and 101 reach 800: 100 in one go at 10:01; 101 achieved 500 first (600 at 10:00)
    but got to 800 only at 10:02, so 100 got there first.
    102 and 103 hold 300 each (not achieved); 103 got there first. 104 and 105 hold 300 too,
    reached at the same instant: userId decides. 106 bought nothing ranked (a zero bill).
    """
    target = {"name": "spend", "targetEntity": "TRANSACTION", "targetType": "SALES"}
    body = monthly_spend(
        "Contest", leaderboardEnabled=True, targets=[target | {"defaultValue": 500}]
    )
    group = create(client, lb_org, body)
    clock.set(AUGUST)
    spend(client, lb_org, clock, 101, 600)
    spend(client, lb_org, clock, 100, 800)
    spend(client, lb_org, clock, 101, 200)
    spend(client, lb_org, clock, 103, 300)
    spend(client, lb_org, clock, 102, 300)
    bulk = [
        {
            "eventId": f"B-{user}",
            "eventName": "TransactionAdd",
            "userId": user,
            "eventTime": "2024-08-20T11:00:00.000Z",
            "transaction": {"billNumber": "b", "billAmount": 300},
        }
        for user in (105, 104)
    ]
    clock.set(AUGUST + timedelta(hours=1))
    response = client.post("/v3/events/bulk", json={"events": bulk}, auth=lb_org.auth)
    assert response.status_code == 200, response.text
    spend(client, lb_org, clock, 106, 0)
    return group


def test_customers_are_ranked_by_value_then_who_got_there_first_then_user_id(
    client: TestClient, lb_org: OrgCredentials, contest: Json
) -> None:
    response = board(client, lb_org, contest["id"])
    assert ranked(response) == [
        (1, 100, 800),
        (2, 101, 800),
        (3, 103, 300),
        (4, 102, 300),
        (5, 104, 300),
        (6, 105, 300),
    ]
    data = response.json()["data"]
    assert data["entries"][0]["achievedDateTime"] == "2024-08-20T10:01:00.000Z"
    assert data["entries"][1]["achievedDateTime"] == "2024-08-20T10:00:00.000Z"
    assert data["entries"][2]["achievedDateTime"] is None
    assert response.json()["pagination"] == {"limit": 10, "offset": 0, "total": 6}
    assert {key: data[key] for key in ("targetGroupName", "periodRefCode", "totalRanked")} == {
        "targetGroupName": "Contest",
        "periodRefCode": "Cycle_1",
        "totalRanked": 6,
    }
    assert data["periodStatus"] == "RUNNING"


def test_pages_follow_the_same_order(
    client: TestClient, lb_org: OrgCredentials, contest: Json
) -> None:
    pages = [ranked(board(client, lb_org, contest["id"], pageSize=4, pageOffset=n)) for n in (0, 1)]
    assert [entry[:2] for entry in pages[0]] == [(1, 100), (2, 101), (3, 103), (4, 102)]
    assert [entry[:2] for entry in pages[1]] == [(5, 104), (6, 105)]
    beyond = board(client, lb_org, contest["id"], pageSize=4, pageOffset=2)
    assert ranked(beyond) == []
    assert beyond.json()["pagination"] == {"limit": 4, "offset": 8, "total": 6}


def test_a_named_period_and_target_give_their_own_board(
    client: TestClient, lb_org: OrgCredentials, contest: Json
) -> None:
    september = contest["periods"][1]["id"]
    target_id = contest["targets"][0]["id"]
    response = board(client, lb_org, contest["id"], periodId=september, targetId=target_id)
    assert ranked(response) == []
    assert response.json()["data"]["periodRefCode"] == "Cycle_2"
    assert response.json()["data"]["periodStatus"] == "NOT_STARTED"


def test_a_users_rank_is_given_across_several_groups(
    client: TestClient, lb_org: OrgCredentials, contest: Json, clock: Clock
) -> None:
    spins = {"name": "spins", "targetEntity": "EVENT", "targetType": "COUNT", "defaultValue": 3}
    second = create(
        client,
        lb_org,
        monthly_spend(
            "Spin contest", leaderboardEnabled=True, targets=[{**spins, "eventName": "GameSpin"}]
        ),
    )
    for n, user in enumerate((103, 102, 103)):
        event = {"eventId": f"S-{n}", "eventName": "GameSpin", "userId": user}
        event["eventTime"] = clock.now().isoformat().replace("+00:00", "Z")
        assert client.post("/v3/events", json=event, auth=lb_org.auth).status_code == 200
    params = [("targetGroupId", contest["id"]), ("targetGroupId", second["id"])]
    response = client.get("/v3.1/leaderboards/user/102", params=params, auth=lb_org.auth)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["userId"] == 102
    assert [
        (r["targetGroupName"], r["rank"], r["value"], r["totalRanked"]) for r in data["ranks"]
    ] == [
        ("Contest", 4, 300, 6),
        ("Spin contest", 2, 1, 2),
    ]
    assert data["ranks"][0]["targetRuleId"] == contest["targets"][0]["id"]
    assert data["ranks"][1]["targetRuleId"] == second["targets"][0]["id"]


def test_every_ranked_customer_gets_the_rank_the_board_shows(
    client: TestClient, lb_org: OrgCredentials, contest: Json
) -> None:
    for rank, user, value in ranked(board(client, lb_org, contest["id"])):
        response = client.get(
            f"/v3.1/leaderboards/user/{user}",
            params={"targetGroupId": contest["id"]},
            auth=lb_org.auth,
        )
        assert response.status_code == 200, response.text
        (mine,) = response.json()["data"]["ranks"]
        assert (mine["rank"], mine["value"]) == (rank, value)


def test_a_customer_with_nothing_ranked_has_no_rank(
    client: TestClient, lb_org: OrgCredentials, contest: Json
) -> None:
    triples = [
        ("targetGroupId", contest["id"]),
        ("targetRuleId", contest["targets"][0]["id"]),
        ("periodId", contest["periods"][0]["id"]),
    ]
    for user in (106, 999):
        response = client.get(f"/v3.1/leaderboards/user/{user}", params=triples, auth=lb_org.auth)
        (mine,) = response.json()["data"]["ranks"]
        assert (mine["rank"], mine["value"], mine["totalRanked"]) == (None, 0, 6)


# --- Switches and errors ------------------------------------------------------------------


def _error(response: Response, status: int) -> Json:
    assert response.status_code == status, response.text
    assert response.json()["data"] is None
    error: Json = response.json()["errors"][0]
    return error


def test_an_org_with_leaderboards_off_is_answered_310133(
    client: TestClient, lb_org: OrgCredentials, contest: Json, database: Database
) -> None:
    admin.set_org(database, lb_org.org_id, leaderboards_enabled=False)
    assert _error(board(client, lb_org, contest["id"]), 400)["code"] == 310133
    response = client.get(
        "/v3.1/leaderboards/user/100", params={"targetGroupId": contest["id"]}, auth=lb_org.auth
    )
    assert _error(response, 400)["code"] == 310133


def test_a_group_that_is_not_a_fixed_window_is_answered_310132(
    client: TestClient, lb_org: OrgCredentials
) -> None:
    cyclic = create(
        client,
        lb_org,
        monthly_spend("Cycles", targetEvaluationType="CYCLIC_WINDOW", frequencyType="DAILY"),
    )
    assert _error(board(client, lb_org, cyclic["id"]), 400)["code"] == 310132


def test_a_group_without_leaderboard_enabled_is_answered_310134(
    client: TestClient, lb_org: OrgCredentials
) -> None:
    plain = create(client, lb_org, monthly_spend("No board"))
    error = _error(board(client, lb_org, plain["id"]), 400)
    assert (error["code"], error["field"]) == (310134, "targetGroupId")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"targetId": 999999}, "targetId"),
        ({"periodId": 999999}, "periodId"),
    ],
)
def test_an_unknown_target_or_period_is_not_found(
    client: TestClient, lb_org: OrgCredentials, contest: Json, params: Json, field: str
) -> None:
    error = _error(board(client, lb_org, contest["id"], **params), 404)
    assert error["field"] == field


def test_an_unknown_group_is_not_found(client: TestClient, lb_org: OrgCredentials) -> None:
    assert _error(board(client, lb_org, 999999), 404)["field"] == "targetGroupId"


def test_without_a_running_period_the_period_must_be_named(
    client: TestClient, lb_org: OrgCredentials, contest: Json, clock: Clock
) -> None:
    clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    assert _error(board(client, lb_org, contest["id"]), 400)["field"] == "periodId"
    august = contest["periods"][0]["id"]
    assert len(ranked(board(client, lb_org, contest["id"], periodId=august))) == 6


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pageSize": 0}, "pageSize"),
        ({"pageSize": 101}, "pageSize"),
        ({"pageOffset": -1}, "pageOffset"),
        ({"targetId": "x"}, "targetId"),
        ({"periodId": 0}, "periodId"),
    ],
)
def test_bad_board_parameters_are_refused_naming_them(
    client: TestClient, lb_org: OrgCredentials, contest: Json, params: Json, field: str
) -> None:
    assert _error(board(client, lb_org, contest["id"], **params), 400)["field"] == field


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ([], 400, "targetGroupId"),
        ([("targetGroupId", 1)] * 26, 400, "targetGroupId"),
        ([("targetGroupId", 1), ("targetRuleId", 1), ("targetRuleId", 2)], 400, "targetRuleId"),
        ([("targetGroupId", 1), ("periodId", 1), ("periodId", 2)], 400, "periodId"),
        ([("targetGroupId", "x")], 400, "targetGroupId[0]"),
    ],
)
def test_bad_user_rank_parameters_are_refused_naming_them(
    client: TestClient, lb_org: OrgCredentials, params: list[Any], status: int, field: str
) -> None:
    response = client.get("/v3.1/leaderboards/user/1", params=params, auth=lb_org.auth)
    assert _error(response, status)["field"] == field


def test_an_unknown_group_among_several_is_named_by_its_position(
    client: TestClient, lb_org: OrgCredentials, contest: Json
) -> None:
    params = [("targetGroupId", contest["id"]), ("targetGroupId", 999999)]
    response = client.get("/v3.1/leaderboards/user/100", params=params, auth=lb_org.auth)
    assert _error(response, 404)["field"] == "targetGroupId[1]"


def test_leaderboards_need_credentials(client: TestClient) -> None:
    assert client.get("/v3.1/leaderboards/targetGroups/1").status_code == 401
    assert client.get("/v3.1/leaderboards/user/1", params={"targetGroupId": 1}).status_code == 401


# --- Data scope ---------------------------------------------------------------------------


def test_a_connected_orgs_board_is_readable_in_scope_only(
    client: TestClient, database: Database, clock: Clock
) -> None:
    first, second, third = (make_org(database, clock, org_id, "UTC") for org_id in (1, 2, 3))
    admin.connect_orgs(database, 1, 2)
    admin.set_org(database, 2, leaderboards_enabled=True)
    group = create(client, second, monthly_spend("Org 2 board", leaderboardEnabled=True))
    clock.set(AUGUST)
    spend(client, second, clock, 7, 100)

    assert _error(board(client, first, group["id"]), 404)["field"] == "targetGroupId"
    scoped = client.get(
        f"/v3.1/leaderboards/targetGroups/{group['id']}",
        headers={"DATA-SCOPE": "ALL"},
        auth=first.auth,
    )
    assert ranked(scoped) == [(1, 7, 100)]
    refused = client.get(
        f"/v3.1/leaderboards/targetGroups/{group['id']}",
        headers={"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "2"},
        auth=third.auth,
    )
    assert _error(refused, 403)["field"] == "DATA-SCOPE-ORG"


def test_leaderboard_ties_are_broken_in_business_time_not_processing_order(
    client: TestClient, lb_org: OrgCredentials, clock: Clock
) -> None:
    """Five customers at 700 each, reached on different days, sent in another order.

    202 and 204 both got there on 3 August at 10:00 (userId decides); 201 on the 5th;
    205 bought 300 on the 7th (sent first) and 400 on the 1st (sent last): its value
    got to 700 on the 7th; 203 on the 9th.
    """
    target = {"name": "spend", "targetEntity": "TRANSACTION", "targetType": "SALES"}
    body = monthly_spend("Ties", leaderboardEnabled=True, targets=[target | {"defaultValue": 500}])
    group = create(client, lb_org, body)
    clock.set(datetime(2024, 8, 30, 12, 0, tzinfo=UTC))

    def bill(user: int, day: int, amount: int) -> Json:
        return {
            "eventId": f"T-{user}-{day}",
            "eventName": "TransactionAdd",
            "userId": user,
            "eventTime": f"2024-08-{day:02d}T10:00:00.000Z",
            "transaction": {"billNumber": "t", "billAmount": amount},
        }

    in_arrival_order = [
        bill(205, 7, 300),
        bill(203, 9, 700),
        bill(201, 5, 700),
        bill(204, 3, 700),
        bill(202, 3, 700),
        bill(205, 1, 400),
    ]
    for event in in_arrival_order:
        response = client.post("/v3/events", json=event, auth=lb_org.auth)
        assert response.json()["data"]["status"] == "APPLIED", response.text
        clock.advance(timedelta(minutes=5))
    expected = [(1, 202, 700), (2, 204, 700), (3, 201, 700), (4, 205, 700), (5, 203, 700)]
    assert ranked(board(client, lb_org, group["id"])) == expected
    for rank, user, _ in expected:
        response = client.get(
            f"/v3.1/leaderboards/user/{user}",
            params={"targetGroupId": group["id"]},
            auth=lb_org.auth,
        )
        (mine,) = response.json()["data"]["ranks"]
        assert mine["rank"] == rank
