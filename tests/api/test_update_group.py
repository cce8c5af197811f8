"""PUT /v3/targetGroups/{id}: what may change, and what would rewrite history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones.clock import Clock
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials


@pytest.fixture
def group(client: TestClient, utc_org: OrgCredentials, clock: Clock) -> dict[str, Any]:
    """Aug, Sep, Oct 2024 monthly periods; the clock in September (August has ended)."""
    clock.set(datetime(2024, 9, 15, tzinfo=UTC))
    response = client.post("/v3/targetGroups", json=monthly_spend(), auth=utc_org.auth)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _put(client: TestClient, org: OrgCredentials, group_id: int, body: dict[str, Any]) -> Any:
    return client.put(f"/v3/targetGroups/{group_id}", json=body, auth=org.auth)


def _read(client: TestClient, org: OrgCredentials, group_id: int) -> dict[str, Any]:
    data: dict[str, Any] = client.get(f"/v3/targetGroups/{group_id}", auth=org.auth).json()["data"]
    return data


def test_description_and_active_can_change(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    response = _put(
        client, utc_org, group["id"], {"description": "now with a description", "active": False}
    )
    assert response.status_code == 200, response.text
    stored = _read(client, utc_org, group["id"])
    assert stored["description"] == "now with a description"
    assert stored["active"] is False


def test_a_targets_expression_changes_and_its_json_follows(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    target_id = group["targets"][0]["id"]
    body = {"targets": [{"id": target_id, "expression": "currentTxn.value > 500", "active": False}]}
    assert _put(client, utc_org, group["id"], body).status_code == 200
    target = _read(client, utc_org, group["id"])["targets"][0]
    assert target["expression"] == "currentTxn.value > 500"
    assert '"value":">"' in target["expressionJson"]
    assert target["active"] is False


def test_values_of_running_and_future_periods_can_change(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    target = group["targets"][0]
    september, october = group["periods"][1]["id"], group["periods"][2]["id"]
    body = {
        "targets": [
            {
                "id": target["id"],
                "defaultValues": [
                    {"periodId": september, "defaultValue": 1500},
                    {"periodId": october, "defaultValue": 2000.5},
                ],
            }
        ]
    }
    assert _put(client, utc_org, group["id"], body).status_code == 200
    values = [
        v["defaultValue"]
        for v in _read(client, utc_org, group["id"])["targets"][0]["defaultValues"]
    ]
    assert values == [1000, 1500, 2000.5]


def test_an_ended_periods_value_cannot_change(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    target = group["targets"][0]
    body = {
        "targets": [
            {
                "id": target["id"],
                "defaultValues": [{"periodId": group["periods"][0]["id"], "defaultValue": 1}],
            }
        ]
    }
    response = _put(client, utc_org, group["id"], body)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == 310070 and error["field"] == "targets[0].defaultValues"
    assert "Cycle_1" in error["message"]
    assert (
        _read(client, utc_org, group["id"])["targets"][0]["defaultValues"][0]["defaultValue"]
        == 1000
    )


def test_a_single_default_value_applies_to_the_periods_not_yet_ended(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    body = {"targets": [{"id": group["targets"][0]["id"], "defaultValue": 750}]}
    assert _put(client, utc_org, group["id"], body).status_code == 200
    values = [
        v["defaultValue"]
        for v in _read(client, utc_org, group["id"])["targets"][0]["defaultValues"]
    ]
    assert values == [1000, 750, 750]


def test_a_new_future_period_is_added_with_the_last_value(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    body = {
        "periods": [{"refCode": "November", "startDate": "2024-11-01", "endDate": "2024-11-30"}]
    }
    response = _put(client, utc_org, group["id"], body)
    assert response.status_code == 200, response.text
    stored = _read(client, utc_org, group["id"])
    assert stored["totalPeriods"] == 4
    assert [p["refCode"] for p in stored["periods"]] == [
        "Cycle_1",
        "Cycle_2",
        "Cycle_3",
        "November",
    ]
    assert stored["periods"][3]["endDate"] == "2024-11-30"
    assert stored["periods"][3]["periodStatus"] == "NOT_STARTED"
    assert [v["defaultValue"] for v in stored["targets"][0]["defaultValues"]] == [
        1000,
        1000,
        1000,
        1000,
    ]
    assert stored["targetCycleEndDate"] == "2024-11-30T23:59:59.999Z"


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ({"refCode": "past", "startDate": "2024-07-01", "endDate": "2024-07-31"}, "future"),
        (
            {"refCode": "overlap", "startDate": "2024-10-15", "endDate": "2024-11-15"},
            "after the group's last period",
        ),
        (
            {"refCode": "Cycle_2", "startDate": "2024-11-01", "endDate": "2024-11-30"},
            "already used",
        ),
    ],
    ids=["in the past", "overlapping the last period", "a refCode in use"],
)
def test_a_new_period_must_follow_the_last_one(
    client: TestClient,
    utc_org: OrgCredentials,
    group: dict[str, Any],
    period: dict[str, str],
    message: str,
) -> None:
    response = _put(client, utc_org, group["id"], {"periods": [period]})
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]
    assert _read(client, utc_org, group["id"])["totalPeriods"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"frequencyType": "WEEKLY"}, "frequencyType"),
        ({"trackingType": "CAPPING"}, "trackingType"),
        ({"targetEvaluationType": "CYCLIC_WINDOW"}, "targetEvaluationType"),
        ({"frequency": 2}, "frequency"),
        ({"recurringCycles": 5}, "recurringCycles"),
        ({"timeZoneName": "Asia/Kolkata"}, "timeZoneName"),
        ({"totalPeriods": 7}, "totalPeriods"),
    ],
)
def test_schedule_fields_cannot_change(
    client: TestClient,
    utc_org: OrgCredentials,
    group: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    response = _put(client, utc_org, group["id"], body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_an_existing_periods_dates_cannot_change(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    period = dict(group["periods"][2], endDate="2024-11-15")
    response = _put(client, utc_org, group["id"], {"periods": [period]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "periods[0]"


def test_a_group_read_back_can_be_sent_back_unchanged(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    stored = _read(client, utc_org, group["id"])
    response = _put(client, utc_org, group["id"], stored)
    assert response.status_code == 200, response.text
    again = _read(client, utc_org, group["id"])
    for key in ("name", "periods", "targets", "totalPeriods", "targetCycleEndDate"):
        if key == "periods" or key == "targets":
            assert [_without_attribution(x) for x in again[key]] == [
                _without_attribution(x) for x in stored[key]
            ]
        else:
            assert again[key] == stored[key]


def test_a_target_entity_cannot_change(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    body = {"targets": [{"id": group["targets"][0]["id"], "targetType": "COUNT"}]}
    response = _put(client, utc_org, group["id"], body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "targets[0].targetType"


def test_a_rename_keeps_names_unique(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    other = client.post(
        "/v3/targetGroups", json=monthly_spend("Another"), auth=utc_org.auth
    ).json()["data"]
    response = _put(client, utc_org, other["id"], {"name": "SPEND 1000 A MONTH"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == 310069
    assert _put(client, utc_org, other["id"], {"name": "Renamed"}).status_code == 200
    assert _read(client, utc_org, other["id"])["name"] == "Renamed"


def test_an_update_that_fails_halfway_changes_nothing(
    client: TestClient, utc_org: OrgCredentials, group: dict[str, Any]
) -> None:
    body = {
        "description": "should not stick",
        "periods": [{"refCode": "November", "startDate": "2024-11-01", "endDate": "2024-11-30"}],
        "targets": [{"id": group["targets"][0]["id"], "targetEntity": "EVENT"}],
    }
    assert _put(client, utc_org, group["id"], body).status_code == 400
    stored = _read(client, utc_org, group["id"])
    assert "description" not in stored
    assert stored["totalPeriods"] == 3


def _without_attribution(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "attribution"}
