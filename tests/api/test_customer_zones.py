"""Customer time zones (SPEC §17): the profile's ``timeZone``, and groups with
``"periodZone": "CUSTOMER"`` whose periods each customer lives in their own zone.

The groups are cut in UTC (so a period's dates are UTC dates); the customers live in
Europe/Berlin and America/New_York. The DST days of 2024: Berlin 03-31 (23 h) and 10-27
(25 h), New York 03-10 (23 h) and 11-03 (25 h). The clock is the app's, moved as the
streak tests move it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from milestones.clock import Clock
from milestones.store.database import Database
from milestones.store.tables import customer_zones
from tests.conftest import OrgCredentials

Json = dict[str, Any]
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
BERLIN_USER = 1001
NEW_YORK_USER = 1002
QUIET_NEW_YORKER = 1003  # has a zone, never sends an event
INVALID_INPUT = 300004


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def stamp(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def decoded(response: Any) -> Json:
    assert response.status_code in (200, 201), response.text
    body: Json = json.loads(response.content, parse_float=Decimal)
    return body


def put_zone(client: TestClient, org: OrgCredentials, user: int, zone: str | None) -> Json:
    response = client.put(f"/v3/customers/{user}", json={"timeZone": zone}, auth=org.auth)
    data: Json = decoded(response)["data"]
    return data


def per_customer_group(
    client: TestClient,
    org: OrgCredentials,
    frequency: str,
    start_day: str,
    total: int,
    **changes: Any,
) -> Json:
    """A FIXED group of ``total`` periods from ``start_day`` (UTC), one VISIT a period."""
    body = {
        "name": f"{frequency} visits from {start_day}",
        "trackingType": "DEFAULT",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": frequency,
        "frequency": 1,
        "totalPeriods": total,
        "recurringCycles": -1,
        "timeZoneName": "UTC",
        "periodZone": "CUSTOMER",
        "targetCycleStartDate": f"{start_day}T00:00:00.000",
        "targets": [
            {
                "name": "visits",
                "targetEntity": "TRANSACTION",
                "targetType": "VISIT",
                "defaultValue": 7,
            }
        ],
    }
    body.update(changes)
    data: Json = decoded(client.post("/v3/targetGroups", json=body, auth=org.auth))["data"]
    assert data["periodZone"] == "CUSTOMER"
    return data


class Shop:
    """Bills sent at given instants, the clock moved just after each."""

    def __init__(self, client: TestClient, org: OrgCredentials, clock: Clock) -> None:
        self.client = client
        self.org = org
        self.clock = clock
        self.bills = 0

    def bill(self, user: int, at: datetime) -> Json:
        self.clock.set(at + timedelta(minutes=1))
        self.bills += 1
        event = {
            "eventId": f"B-{self.bills}",
            "eventName": "TransactionAdd",
            "userId": user,
            "eventTime": stamp(at),
            "transaction": {"billNumber": f"B-{self.bills}", "billAmount": 100},
        }
        data: Json = decoded(self.client.post("/v3/events", json=event, auth=self.org.auth))["data"]
        return data

    def view(self, user: int, include_inactive: bool = True) -> list[Json]:
        targets: list[Json] = self.group_view(user, include_inactive)["targets"]
        return targets

    def group_view(self, user: int, include_inactive: bool = True) -> Json:
        response = self.client.get(
            f"/v3.1/users/{user}/targetGroups",
            params={"includeInactive": str(include_inactive).lower()},
            auth=self.org.auth,
        )
        [group] = decoded(response)["data"]["targetGroups"]
        return group


def landed(data: Json) -> tuple[str, str, str, Decimal]:
    """Where a bill's (only) side effect landed: the period's date, its window, the progress."""
    [effect] = data["sideEffects"]
    return (
        effect["periodStartDate"],
        effect["periodStartDateWithTimeStamp"],
        effect["periodEndDateWithTimeStamp"],
        effect["targetAchievedValueAfterEvent"],
    )


def window(entry: Json) -> tuple[str, str, str]:
    return (
        entry["periodStartDate"],
        entry["periodStartDateWithTimeStamp"],
        entry["periodEndDateWithTimeStamp"],
    )


# --- The profile's timeZone ---------------------------------------------------------------


def zone_rows(database: Database, user: int) -> list[tuple[str, datetime]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(customer_zones.c.zone, customer_zones.c.changed_at)
            .where(customer_zones.c.user_id == user)
            .order_by(customer_zones.c.id)
        )
        return [(zone, changed_at.astimezone(UTC)) for zone, changed_at in rows]


def test_a_customers_zone_is_shown_kept_with_each_change_and_cleared_by_null(
    client: TestClient, org: OrgCredentials, clock: Clock, database: Database
) -> None:
    path = f"/v3/customers/{BERLIN_USER}"
    first = utc("2024-08-01T10:00")
    clock.set(first)
    assert put_zone(client, org, BERLIN_USER, BERLIN)["timeZone"] == BERLIN
    assert decoded(client.get(path, auth=org.auth))["data"]["timeZone"] == BERLIN
    clock.set(first + timedelta(hours=1))
    put_zone(client, org, BERLIN_USER, BERLIN)  # unchanged: nothing written
    decoded(client.put(path, json={"customFields": {"tier": "gold"}}, auth=org.auth))
    assert decoded(client.get(path, auth=org.auth))["data"]["timeZone"] == BERLIN  # left out: kept
    clock.set(first + timedelta(hours=2))
    assert put_zone(client, org, BERLIN_USER, NEW_YORK)["timeZone"] == NEW_YORK
    clock.set(first + timedelta(hours=3))
    cleared = put_zone(client, org, BERLIN_USER, None)
    assert "timeZone" not in cleared  # the groups' zones again: the seeds' shape
    assert "timeZone" not in decoded(client.get(path, auth=org.auth))["data"]
    put_zone(client, org, BERLIN_USER, None)  # still cleared: nothing written
    assert zone_rows(database, BERLIN_USER) == [
        (BERLIN, first),
        (NEW_YORK, first + timedelta(hours=2)),
        ("", first + timedelta(hours=3)),
    ]


@pytest.mark.parametrize(
    "zone",
    [
        pytest.param("Mars/Olympus_Mons", id="unknown"),
        pytest.param(5, id="a number"),
        pytest.param(["Europe/Berlin"], id="a list"),
        pytest.param(True, id="a boolean"),
        pytest.param("Europe/" + "B" * 60, id="over 64 characters"),
        pytest.param("", id="empty"),
        pytest.param("../../etc/passwd", id="a path"),
        pytest.param("Europe/Berlin\x00", id="a NUL"),
    ],
)
def test_a_bad_time_zone_is_refused_in_the_envelope_naming_the_field(
    client: TestClient, org: OrgCredentials, database: Database, zone: object
) -> None:
    response = client.put(f"/v3/customers/{BERLIN_USER}", json={"timeZone": zone}, auth=org.auth)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert (error["code"], error["field"]) == (INVALID_INPUT, "timeZone")
    with database.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(customer_zones)).scalar() == 0


# --- DST days: each customer's own local days ------------------------------------------------


SEASONS = {
    # group start, periods, an instant on two local days, and each customer's DST day
    "spring": ("2024-03-08", 25, "2024-03-10T04:30", ("2024-03-31", "2024-03-10")),
    "autumn": ("2024-10-25", 11, "2024-10-27T03:30", ("2024-10-27", "2024-11-03")),
}
# The DST days' windows as the user view shows them (last instant at .999).
DST_WINDOWS = {
    (BERLIN, "2024-03-31"): ("2024-03-30T23:00:00.000Z", "2024-03-31T21:59:59.999Z"),
    (NEW_YORK, "2024-03-10"): ("2024-03-10T05:00:00.000Z", "2024-03-11T03:59:59.999Z"),
    (BERLIN, "2024-10-27"): ("2024-10-26T22:00:00.000Z", "2024-10-27T22:59:59.999Z"),
    (NEW_YORK, "2024-11-03"): ("2024-11-03T04:00:00.000Z", "2024-11-04T04:59:59.999Z"),
}
# The same instant's local day, and that day's window, for each customer.
SAME_INSTANT = {
    "spring": {
        BERLIN_USER: ("2024-03-10", "2024-03-09T23:00:00.000Z", "2024-03-10T22:59:59.999Z"),
        NEW_YORK_USER: ("2024-03-09", "2024-03-09T05:00:00.000Z", "2024-03-10T04:59:59.999Z"),
    },
    "autumn": {
        BERLIN_USER: ("2024-10-27", "2024-10-26T22:00:00.000Z", "2024-10-27T22:59:59.999Z"),
        NEW_YORK_USER: ("2024-10-26", "2024-10-26T04:00:00.000Z", "2024-10-27T03:59:59.999Z"),
    },
}


@pytest.mark.parametrize("season", list(SEASONS))
def test_on_dst_days_the_same_instant_lands_in_each_customers_own_local_day(
    client: TestClient, org: OrgCredentials, clock: Clock, season: str
) -> None:
    start_day, total, instant, dst_days = SEASONS[season]
    clock.set(utc(start_day + "T00:00") - timedelta(days=1))
    for user, zone in (
        (BERLIN_USER, BERLIN),
        (NEW_YORK_USER, NEW_YORK),
        (QUIET_NEW_YORKER, NEW_YORK),
    ):
        put_zone(client, org, user, zone)
    per_customer_group(client, org, "DAILY", start_day, total)
    shop = Shop(client, org, clock)
    for user in (BERLIN_USER, NEW_YORK_USER):
        day, starts, ends = SAME_INSTANT[season][user]
        assert landed(shop.bill(user, utc(instant))) == (day, starts, ends, Decimal("1.000"))
    for user, zone, dst_day in (
        (BERLIN_USER, BERLIN, dst_days[0]),
        (NEW_YORK_USER, NEW_YORK, dst_days[1]),
    ):
        entries = {entry["periodStartDate"]: entry for entry in shop.view(user)}
        assert len(entries) == total
        entry = entries[dst_day]
        assert (entry["periodEndDate"], *window(entry)[1:]) == (
            dst_day,
            *DST_WINDOWS[(zone, dst_day)],
        )
        # Every day follows the next without a gap, however long the day.
        ordered = [entries[day] for day in sorted(entries)]
        for before, after in pairwise(ordered):
            end = datetime.fromisoformat(before["periodEndDateWithTimeStamp"])
            assert end + timedelta(milliseconds=1) == datetime.fromisoformat(
                after["periodStartDateWithTimeStamp"]
            )
    # Just after the instant, each customer's current period is their own local day; a
    # customer with nothing stored is shown theirs too.
    clock.set(utc(instant) + timedelta(minutes=1))
    for user, like in (
        (BERLIN_USER, BERLIN_USER),
        (NEW_YORK_USER, NEW_YORK_USER),
        (QUIET_NEW_YORKER, NEW_YORK_USER),
    ):
        expected = SAME_INSTANT[season][like]
        [current] = shop.view(user, include_inactive=False)
        assert current["currentPeriod"] is True
        assert window(current) == expected


def test_a_visit_at_23_30_local_counts_for_that_local_day_not_the_next_utc_day(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    clock.set(utc("2024-10-20T00:00"))
    put_zone(client, org, NEW_YORK_USER, NEW_YORK)
    put_zone(client, org, BERLIN_USER, BERLIN)
    per_customer_group(client, org, "DAILY", "2024-10-25", 11)
    shop = Shop(client, org, clock)
    # 23:30 in New York on 11-02 (EDT) is 03:30 UTC on 11-03.
    assert landed(shop.bill(NEW_YORK_USER, utc("2024-11-03T03:30")))[0] == "2024-11-02"
    # 00:30 in Berlin on 10-27 (CEST) is 22:30 UTC on 10-26.
    assert landed(shop.bill(BERLIN_USER, utc("2024-10-26T22:30")))[0] == "2024-10-27"


def test_visit_days_of_a_weekly_group_are_the_customers_local_days(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    clock.set(utc("2024-08-01T00:00"))
    put_zone(client, org, NEW_YORK_USER, NEW_YORK)
    per_customer_group(client, org, "WEEKLY", "2024-08-05", 3)
    shop = Shop(client, org, clock)
    tuesday_evening = shop.bill(NEW_YORK_USER, utc("2024-08-06T23:00"))  # 19:00 Tue in NY
    assert landed(tuesday_evening)[3] == Decimal("1.000")
    late_tuesday = shop.bill(NEW_YORK_USER, utc("2024-08-07T03:30"))  # 23:30 Tue in NY
    assert late_tuesday["sideEffects"] == []  # the same local day: no second visit
    wednesday = shop.bill(NEW_YORK_USER, utc("2024-08-07T04:30"))  # 00:30 Wed in NY
    assert landed(wednesday)[3] == Decimal("2.000")


# --- A zone changed mid-week ----------------------------------------------------------------


def test_a_zone_change_mid_week_keeps_the_running_week_and_the_next_follows_the_new_zone(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    clock.set(utc("2024-08-01T00:00"))
    put_zone(client, org, BERLIN_USER, BERLIN)
    per_customer_group(client, org, "WEEKLY", "2024-08-05", 4)  # Mondays 5, 12, 19, 26 Aug
    shop = Shop(client, org, clock)
    week_2 = ("2024-08-12", "2024-08-11T22:00:00.000Z", "2024-08-18T21:59:59.999Z")
    assert landed(shop.bill(BERLIN_USER, utc("2024-08-14T12:00")))[:3] == week_2
    clock.set(utc("2024-08-14T13:00"))  # Wednesday of week 2: the customer moves to New York
    assert put_zone(client, org, BERLIN_USER, NEW_YORK)["timeZone"] == NEW_YORK
    # Sunday 23:30 in Berlin, 17:30 in New York: still week 2, its Berlin bounds kept.
    assert landed(shop.bill(BERLIN_USER, utc("2024-08-18T21:30")))[:3] == week_2
    # Monday 00:30 in Berlin, Sunday 18:30 in New York: week 3 began where week 2 ended.
    week_3 = ("2024-08-19", "2024-08-18T22:00:00.000Z", "2024-08-26T03:59:59.999Z")
    assert landed(shop.bill(BERLIN_USER, utc("2024-08-18T22:30")))[:3] == week_3
    # Sunday 22:00 in New York (Monday 04:00 in Berlin): week 3 runs to New York's midnight.
    assert landed(shop.bill(BERLIN_USER, utc("2024-08-26T02:00")))[:3] == week_3
    week_4 = ("2024-08-26", "2024-08-26T04:00:00.000Z", "2024-09-02T03:59:59.999Z")
    assert [window(entry) for entry in shop.view(BERLIN_USER)] == [
        ("2024-08-05", "2024-08-04T22:00:00.000Z", "2024-08-11T21:59:59.999Z"),
        week_2,
        week_3,
        week_4,
    ]


# --- Streaks run on the customer's own days -------------------------------------------------


def test_a_per_customer_streak_runs_on_each_customers_own_days(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    clock.set(utc("2024-03-07T00:00"))
    put_zone(client, org, BERLIN_USER, BERLIN)
    put_zone(client, org, NEW_YORK_USER, NEW_YORK)
    streaks = [{"name": "two days", "targetCountOfSequence": 2}]
    visit = {"name": "a visit", "targetEntity": "TRANSACTION", "targetType": "VISIT"}
    targets = [{**visit, "defaultValue": 1}]
    changes = {"trackingType": "STREAKS", "streaks": streaks, "targets": targets}
    per_customer_group(client, org, "DAILY", "2024-03-08", 5, **changes)
    shop = Shop(client, org, clock)
    shop.bill(BERLIN_USER, utc("2024-03-08T10:00"))  # 11:00 on the 8th in Berlin
    shop.bill(NEW_YORK_USER, utc("2024-03-08T15:00"))  # 10:00 on the 8th in New York
    # 03:00 on the 9th in Berlin (its day 9 runs, unachieved); 21:00 on the 8th in New York
    # (achieved, the 9th not begun).
    clock.set(utc("2024-03-09T02:00"))
    outcomes = {
        user: {e["periodStartDate"]: e["periodOutcome"] for e in shop.view(user)}
        for user in (BERLIN_USER, NEW_YORK_USER)
    }
    assert [outcomes[BERLIN_USER][day] for day in ("2024-03-08", "2024-03-09")] == [
        "ACHIEVED",
        "RUNNING",
    ]
    assert [outcomes[NEW_YORK_USER][day] for day in ("2024-03-08", "2024-03-09")] == [
        "ACHIEVED",
        "NOT_STARTED",
    ]
    [berlin] = shop.group_view(BERLIN_USER)["streaks"]
    assert (berlin["atRisk"], berlin["runEndsAt"]) == (True, "2024-03-09T23:00:00.000Z")
    [new_york] = shop.group_view(NEW_YORK_USER)["streaks"]
    # New York's 8th is achieved and still running: the run could end with its 9th, at
    # New York's midnight (05:00 UTC), not UTC's.
    assert (new_york["atRisk"], new_york["runEndsAt"]) == (False, "2024-03-10T05:00:00.000Z")
    # New York's second day, achieved at 01:00 UTC on the 10th (20:00 on the 9th there),
    # completes the level: the engine walks the customer's days too.
    data = shop.bill(NEW_YORK_USER, utc("2024-03-10T01:00"))
    [effect] = data["sideEffects"]
    assert [level["streakName"] for level in effect["streaksAchieved"]] == ["two days"]
