"""A group's own dates without an offset are read in the group's zone, not the org's (SPEC §2).

The org is on Asia/Kolkata (+05:30); the groups here are on Europe/Berlin (+02:00 in
summer, +01:00 from 2024-10-27 03:00). Every other time, an event's among them, is read
in the org's zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials

GROUPS = "/v3/targetGroups"
BERLIN = "Europe/Berlin"


def create(client: TestClient, org: OrgCredentials, **changes: Any) -> dict[str, Any]:
    body = monthly_spend(f"group {len(changes)} {sorted(changes)}", **changes)
    response = client.post(GROUPS, json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["errors"] == []
    data: dict[str, Any] = body["data"]
    return data


def bounds(period: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        period["startDate"],
        period["endDate"],
        period["startDateWithTimeStamp"],
        period["endDateWithTimeStamp"],
    )


@pytest.mark.parametrize(
    ("start_field", "end_field"),
    [
        pytest.param("targetCycleStartDate", "targetCycleEndDate", id="targetCycle dates"),
        pytest.param("fromDate", "toDate", id="fromDate and toDate"),
    ],
)
def test_a_groups_dates_without_offset_are_its_own_zones_local_time(
    client: TestClient, org: OrgCredentials, start_field: str, end_field: str
) -> None:
    body = monthly_spend("Berlin months", timeZoneName=BERLIN)
    del body["targetCycleStartDate"], body["targetCycleEndDate"]
    body[start_field] = "2024-10-01T00:00:00.000"
    body[end_field] = "2024-12-31T23:59:59.999"
    response = client.post(GROUPS, json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["timeZoneName"] == BERLIN
    assert data["targetCycleStartDate"] == "2024-09-30T22:00:00.000Z"
    assert data["targetCycleEndDate"] == "2024-12-31T22:59:59.999Z"
    assert [bounds(period) for period in data["periods"]] == [
        ("2024-10-01", "2024-10-31", "2024-09-30T22:00:00.000Z", "2024-10-31T22:59:59.999Z"),
        ("2024-11-01", "2024-11-30", "2024-10-31T23:00:00.000Z", "2024-11-30T22:59:59.999Z"),
        ("2024-12-01", "2024-12-31", "2024-11-30T23:00:00.000Z", "2024-12-31T22:59:59.999Z"),
    ]
    stored = client.get(f"{GROUPS}/{data['id']}", auth=org.auth).json()["data"]
    assert stored["periods"][0]["startDateWithTimeStamp"] == "2024-09-30T22:00:00.000Z"


def test_a_group_without_a_zone_reads_its_dates_in_the_orgs(
    client: TestClient, org: OrgCredentials
) -> None:
    data = create(client, org, targetCycleStartDate="2024-10-01T00:00:00.000", totalPeriods=1)
    assert data["timeZoneName"] == "Asia/Kolkata"
    assert data["periods"][0]["startDateWithTimeStamp"] == "2024-09-30T18:30:00.000Z"


@pytest.mark.parametrize(
    ("start", "instant", "local_date"),
    [
        pytest.param("2024-10-01T00:00:00.000+05:30", "2024-09-30T18:30:00.000Z", "2024-09-30"),
        pytest.param("2024-10-01T00:00:00.000Z", "2024-10-01T00:00:00.000Z", "2024-10-01"),
        pytest.param("2024-10-01T00:00:00.000-0400", "2024-10-01T04:00:00.000Z", "2024-10-01"),
    ],
    ids=["+05:30", "Z", "-0400"],
)
def test_a_groups_date_with_an_offset_keeps_its_instant(
    client: TestClient, org: OrgCredentials, start: str, instant: str, local_date: str
) -> None:
    data = create(
        client,
        org,
        timeZoneName=BERLIN,
        frequencyType="DAILY",
        totalPeriods=2,
        targetCycleStartDate=start,
        targetCycleEndDate="2024-10-31",
    )
    assert data["targetCycleStartDate"] == instant
    first = data["periods"][0]
    assert (first["startDate"], first["startDateWithTimeStamp"]) == (local_date, instant)


def test_daily_periods_over_berlins_autumn_dst_day_last_25_hours(
    client: TestClient, org: OrgCredentials
) -> None:
    data = create(
        client,
        org,
        timeZoneName=BERLIN,
        frequencyType="DAILY",
        totalPeriods=3,
        targetCycleStartDate="2024-10-26T00:00:00.000",
        targetCycleEndDate="2024-10-28T23:59:59.999",
    )
    assert [bounds(period) for period in data["periods"]] == [
        ("2024-10-26", "2024-10-26", "2024-10-25T22:00:00.000Z", "2024-10-26T21:59:59.999Z"),
        ("2024-10-27", "2024-10-27", "2024-10-26T22:00:00.000Z", "2024-10-27T22:59:59.999Z"),
        ("2024-10-28", "2024-10-28", "2024-10-27T23:00:00.000Z", "2024-10-28T22:59:59.999Z"),
    ]


@pytest.mark.parametrize(
    ("start", "instant"),
    [
        pytest.param("2024-10-27T00:00:00.000", "2024-10-26T22:00:00.000Z", id="midnight, CEST"),
        pytest.param("2024-10-27T12:00:00.000", "2024-10-27T11:00:00.000Z", id="noon, CET"),
    ],
)
def test_a_start_on_the_dst_day_is_read_with_that_moments_offset(
    client: TestClient, org: OrgCredentials, start: str, instant: str
) -> None:
    data = create(
        client,
        org,
        timeZoneName=BERLIN,
        frequencyType="DAILY",
        totalPeriods=1,
        targetCycleStartDate=start,
        targetCycleEndDate="2024-10-27",
    )
    assert data["periods"][0]["startDateWithTimeStamp"] == instant
    assert data["periods"][0]["endDateWithTimeStamp"] == "2024-10-27T22:59:59.999Z"


def test_explicit_periods_without_offset_are_whole_days_in_the_groups_zone(
    client: TestClient, org: OrgCredentials
) -> None:
    data = create(
        client,
        org,
        timeZoneName=BERLIN,
        frequencyType="CUSTOM",
        totalPeriods=3,
        targetCycleStartDate="2024-10-26",
        targetCycleEndDate="2024-10-28",
        periods=[
            {"refCode": "Saturday", "startDate": "2024-10-26", "endDate": "2024-10-26"},
            {
                "refCode": "Sunday",
                "startDate": "2024-10-27T00:00:00.000",
                "endDate": "2024-10-27T23:59:59.999",
            },
            {"refCode": "Monday", "startDate": "2024-10-28T06:00:00.000", "endDate": "2024-10-28"},
        ],
    )
    assert [bounds(period) for period in data["periods"]] == [
        ("2024-10-26", "2024-10-26", "2024-10-25T22:00:00.000Z", "2024-10-26T21:59:59.999Z"),
        ("2024-10-27", "2024-10-27", "2024-10-26T22:00:00.000Z", "2024-10-27T22:59:59.999Z"),
        # A start with a time of day starts at that local instant (CET by then).
        ("2024-10-28", "2024-10-28", "2024-10-28T05:00:00.000Z", "2024-10-28T22:59:59.999Z"),
    ]


@pytest.fixture
def berlin_group(client: TestClient, org: OrgCredentials, clock: Clock) -> dict[str, Any]:
    """Berlin months Sep-Oct 2024, created in August (the org is on Kolkata)."""
    clock.set(datetime(2024, 8, 27, 10, 0, tzinfo=UTC))
    return create(
        client,
        org,
        timeZoneName=BERLIN,
        totalPeriods=2,
        targetCycleStartDate="2024-09-01T00:00:00.000",
        targetCycleEndDate="2024-10-31T23:59:59.999",
    )


def put_periods(
    client: TestClient, org: OrgCredentials, group_id: int, periods: list[dict[str, str]]
) -> list[dict[str, Any]]:
    response = client.put(f"{GROUPS}/{group_id}", json={"periods": periods}, auth=org.auth)
    assert response.status_code == 200, response.text
    assert response.json()["errors"] == []
    stored = client.get(f"{GROUPS}/{group_id}", auth=org.auth).json()["data"]
    added: list[dict[str, Any]] = stored["periods"][2:]
    return added


def test_a_new_period_in_an_update_is_read_in_the_groups_zone(
    client: TestClient, org: OrgCredentials, berlin_group: dict[str, Any]
) -> None:
    added = put_periods(
        client,
        org,
        berlin_group["id"],
        [
            {
                "refCode": "November",
                "startDate": "2024-11-01T00:00:00.000",
                "endDate": "2024-11-30T23:59:59.999",
            },
            {
                "refCode": "December",
                "startDate": "2024-12-01T06:00:00.000",
                "endDate": "2024-12-31",
            },
            {"refCode": "March", "startDate": "2025-03-30", "endDate": "2025-03-30"},
        ],
    )
    assert [bounds(period) for period in added] == [
        ("2024-11-01", "2024-11-30", "2024-10-31T23:00:00.000Z", "2024-11-30T22:59:59.999Z"),
        ("2024-12-01", "2024-12-31", "2024-12-01T05:00:00.000Z", "2024-12-31T22:59:59.999Z"),
        # Berlin's spring DST day lasts 23 hours.
        ("2025-03-30", "2025-03-30", "2025-03-29T23:00:00.000Z", "2025-03-30T21:59:59.999Z"),
    ]


def test_a_new_period_with_an_offset_in_an_update_keeps_its_instant(
    client: TestClient, org: OrgCredentials, berlin_group: dict[str, Any]
) -> None:
    added = put_periods(
        client,
        org,
        berlin_group["id"],
        [{"refCode": "Later", "startDate": "2024-11-01T05:30:00+05:30", "endDate": "2024-11-30"}],
    )
    assert added[0]["startDateWithTimeStamp"] == "2024-11-01T00:00:00.000Z"
    assert added[0]["startDate"] == "2024-11-01"


def test_an_events_time_without_offset_is_read_in_the_orgs_zone(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    clock: Clock,
    berlin_group: dict[str, Any],
) -> None:
    admin.set_org(database, org.org_id, retro_buffer_days=2)
    clock.set(datetime(2024, 9, 1, 12, 0, tzinfo=UTC))

    def send(event_id: str, at: str) -> dict[str, Any]:
        event = {
            "eventId": event_id,
            "eventName": "TransactionAdd",
            "userId": 7,
            "eventTime": at,
            "transaction": {"billNumber": event_id, "billAmount": 10},
        }
        response = client.post("/v3/events", json=event, auth=org.auth)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    # 2024-09-01 03:00 in Kolkata is 2024-08-31 23:30 in Berlin: before the group starts.
    assert send("B-1", "2024-09-01T03:00:00.000")["sideEffects"] == []
    # 2024-09-01 04:00 in Kolkata is 2024-09-01 00:30 in Berlin: in the first period.
    effects = send("B-2", "2024-09-01T04:00:00.000")["sideEffects"]
    assert [effect["periodRefCode"] for effect in effects] == ["Cycle_1"]
