"""The period calendar as the API shows it: zones, DST, generated and per-customer slots."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from milestones.clock import Clock
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials


def test_daily_periods_across_berlins_dst_days_are_23_and_25_hours(
    client: TestClient, org: OrgCredentials
) -> None:
    body = monthly_spend(
        "Daily in Berlin",
        frequencyType="DAILY",
        totalPeriods=3,
        timeZoneName="Europe/Berlin",
        targetCycleStartDate="2024-03-30",
        targetCycleEndDate="2024-04-01",
    )
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    periods = response.json()["data"]["periods"]
    assert [(p["startDate"], p["endDate"]) for p in periods] == [
        ("2024-03-30", "2024-03-30"),
        ("2024-03-31", "2024-03-31"),
        ("2024-04-01", "2024-04-01"),
    ]
    assert periods[1]["startDateWithTimeStamp"] == "2024-03-30T23:00:00.000Z"
    assert periods[1]["endDateWithTimeStamp"] == "2024-03-31T21:59:59.999Z"
    assert periods[2]["startDateWithTimeStamp"] == "2024-03-31T22:00:00.000Z"


def test_a_group_without_a_zone_uses_the_orgs(client: TestClient, org: OrgCredentials) -> None:
    response = client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth)
    data = response.json()["data"]
    assert data["timeZoneName"] == "Asia/Kolkata"
    assert data["periods"][0]["startDateWithTimeStamp"] == "2024-07-31T18:30:00.000Z"
    assert data["attribution"]["createdOn"].endswith("+0530")


def test_period_status_and_the_active_period_follow_the_clock(
    client: TestClient, utc_org: OrgCredentials, clock: Clock
) -> None:
    group_id = client.post("/v3/targetGroups", json=monthly_spend(), auth=utc_org.auth).json()[
        "data"
    ]["id"]
    expectations = [
        (datetime(2024, 7, 31, 23, 59, 59, tzinfo=UTC), ["NOT_STARTED"] * 3, None),
        (datetime(2024, 8, 1, tzinfo=UTC), ["RUNNING", "NOT_STARTED", "NOT_STARTED"], "Cycle_1"),
        (
            datetime(2024, 9, 30, 23, 59, 59, tzinfo=UTC),
            ["ENDED", "RUNNING", "NOT_STARTED"],
            "Cycle_2",
        ),
        (datetime(2024, 11, 1, tzinfo=UTC), ["ENDED"] * 3, None),
    ]
    for now, statuses, active in expectations:
        clock.set(now)
        data = client.get(f"/v3/targetGroups/{group_id}", auth=utc_org.auth).json()["data"]
        assert [p["periodStatus"] for p in data["periods"]] == statuses, now
        assert (data.get("activePeriod") or {}).get("refCode") == active, now


def test_explicit_periods_are_kept_in_start_order(
    client: TestClient, utc_org: OrgCredentials
) -> None:
    body = monthly_spend(
        "Explicit",
        frequencyType="CUSTOM",
        totalPeriods=2,
        periods=[
            {"refCode": "second", "startDate": "2024-09-01", "endDate": "2024-09-30"},
            {
                "refCode": "first",
                "startDate": "2024-08-01T00:00:00.000",
                "endDate": "2024-08-31T23:59:59.000",
            },
        ],
    )
    body["targets"][0]["defaultValues"] = [{"defaultValue": 100}, {"defaultValue": 200}]
    data = client.post("/v3/targetGroups", json=body, auth=utc_org.auth).json()["data"]
    assert [p["refCode"] for p in data["periods"]] == ["first", "second"]
    assert data["targetCycleStartDate"] == "2024-08-01T00:00:00.000Z"


def test_cyclic_and_agnostic_groups_get_one_slot_per_period(
    client: TestClient, org: OrgCredentials
) -> None:
    for evaluation in ("CYCLIC_WINDOW", "PERIOD_AGNOSTIC_WINDOW"):
        body = monthly_spend(
            f"t1 {evaluation}",
            targetEvaluationType=evaluation,
            frequencyType="DAILY",
            totalPeriods=5,
            targetCycleStartDate="2024-08-25T00:00:00.000",
            targetCycleEndDate="2024-08-31T23:59:59.999",
        )
        response = client.post("/v3/targetGroups", json=body, auth=org.auth)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert data["totalPeriods"] == 5
        assert [p["refCode"] for p in data["periods"]] == [
            f"PERIOD_G_{data['id']}_{n}" for n in range(1, 6)
        ]
        assert "activePeriod" not in data
        assert len(data["targets"][0]["defaultValues"]) == 5


def test_money_is_exact_in_and_out(client: TestClient, utc_org: OrgCredentials) -> None:
    body = monthly_spend("Exact", totalPeriods=1, targetCycleEndDate="2024-08-31")
    body["targets"][0]["defaultValue"] = 0.3
    response = client.post("/v3/targetGroups", json=body, auth=utc_org.auth)
    assert response.status_code == 201
    assert b'"defaultValue":0.300' in response.content
