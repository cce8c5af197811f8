"""The streak sweeper through the public API (SPEC §17, §15), on SQLite and PostgreSQL.

A daily STREAKS group in a UTC org, ten days from 2024-09-01, one SALES target of 100 a
day, a freeze granted every 3 achieved days (held up to 1), at risk 4 hours before a run
resets. Bills go in by ``POST /v3/events``; ``milestones sweep`` runs with the clock moved
by ``MILESTONES_NOW``; what a consumer sees is read from ``GET /v3/notifications``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from milestones.cli import app
from milestones.clock import Clock
from milestones.store.database import Database
from milestones.sweeper import Sweeper
from tests.conftest import OrgCredentials

Json = dict[str, Any]
USER = 7001
DAY = {d: datetime(2024, 9, d, tzinfo=UTC) for d in range(1, 12)}  # midnight starting day d
STREAK_TYPES = "streak.broken,streak.frozen,streak.at_risk"


def daily_streaks(tracking: str = "STREAKS") -> Json:
    return {
        "name": f"Daily {tracking.lower()}",
        "trackingType": tracking,
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "DAILY",
        "frequency": 1,
        "totalPeriods": 10,
        "recurringCycles": -1,
        "targetCycleStartDate": "2024-09-01T00:00:00.000",
        "targetCycleEndDate": "2024-09-10T23:59:59.000",
        "targets": [
            {
                "name": "daily spend",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": 100,
            }
        ],
        "streaks": [{"name": "three days", "targetCountOfSequence": 3}],
        "streakFreezes": {"maxHeld": 1, "grantEveryAchieved": 3},
        "atRiskHours": 4,
    }


def utc(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


class Shop:
    """One org's daily streak group, its customers' bills, sweeps and the feed."""

    def __init__(
        self,
        client: TestClient,
        database: Database,
        org: OrgCredentials,
        clock: Clock,
        tracking: str = "STREAKS",
    ) -> None:
        self.client = client
        self.database = database
        self.org = org
        self.clock = clock
        self.bills = 0
        clock.set(datetime(2024, 8, 31, 12, 0, tzinfo=UTC))
        response = client.post("/v3/targetGroups", json=daily_streaks(tracking), auth=org.auth)
        assert response.status_code == 201, response.text
        self.group: Json = response.json()["data"]
        self.period_ids = {d: p["id"] for d, p in enumerate(self.group["periods"], start=1)}

    def buy(self, day: int, hour: int = 10, user: int = USER, amount: int = 100) -> None:
        at = DAY[day] + timedelta(hours=hour)
        self.clock.set(at + timedelta(minutes=5))
        self.bills += 1
        bill = f"B-{self.bills}"
        event = {
            "eventId": bill,
            "eventName": "TransactionAdd",
            "userId": user,
            "eventTime": utc(at),
            "transaction": {"billNumber": bill, "billAmount": amount},
        }
        response = self.client.post("/v3/events", json=event, auth=self.org.auth)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == "APPLIED", response.text

    def sweep(self, now: datetime) -> dict[str, int]:
        """``milestones sweep`` at ``now`` (MILESTONES_NOW); what it says it told, per type."""
        result = CliRunner().invoke(
            app,
            ["sweep", "--database", self.database.url],
            env={"MILESTONES_NOW": now.isoformat()},
        )
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0] == f"swept up to {utc(now)}", result.output
        told = {}
        for line in lines[1:]:
            type_, count = line.split(": ")
            told[type_] = int(count)
        return {type_: count for type_, count in told.items() if count}

    def feed(self) -> list[Json]:
        response = self.client.get(
            "/v3/notifications",
            params={"after": 0, "limit": 1000, "type": STREAK_TYPES},
            auth=self.org.auth,
        )
        assert response.status_code == 200, response.text
        items: list[Json] = response.json()["data"]
        return items

    def told(self) -> list[tuple[str, int, int]]:
        """The feed as (type, user, day of the period)."""
        days = {period_id: day for day, period_id in self.period_ids.items()}
        return [(n["type"], n["userId"], days[n["data"]["periodId"]]) for n in self.feed()]


def test_a_daily_walk_tells_the_freeze_used_and_the_break_once_each(
    client: TestClient, database: Database, utc_org: OrgCredentials, clock: Clock
) -> None:
    shop = Shop(client, database, utc_org, clock)
    for day in (1, 2, 3):
        shop.buy(day)  # the third achieved day grants a freeze
    assert shop.sweep(DAY[3] + timedelta(hours=23)) == {}  # achieved today: not at risk

    # 09-04 closes unachieved: the freeze is used, the run of 3 kept.
    assert shop.sweep(DAY[5]) == {"streak.frozen": 1}
    assert shop.sweep(DAY[5]) == {}
    # 09-05 closes unachieved with no freeze left: the run of 3 breaks. Its at-risk moment
    # (20:00) passed while nobody swept: it is not sent late, after the run reset.
    assert shop.sweep(DAY[6] + timedelta(minutes=30)) == {"streak.broken": 1}
    assert shop.sweep(DAY[6] + timedelta(minutes=30)) == {}
    assert shop.sweep(DAY[6] + timedelta(hours=12)) == {}

    feed = shop.feed()
    assert [n["type"] for n in feed] == ["streak.frozen", "streak.broken"]
    frozen, broken = (n["data"] for n in feed)
    group_id = shop.group["id"]
    assert frozen == {
        "targetGroupId": group_id,
        "targetGroupName": "Daily streaks",
        "trackingType": "STREAKS",
        "periodId": shop.period_ids[4],
        "periodRefCode": "Cycle_4",
        "periodStartDateWithTimeStamp": "2024-09-04T00:00:00.000Z",
        "periodEndDateWithTimeStamp": "2024-09-04T23:59:59.999Z",
        "periodOutcome": "FROZEN",
        "runBefore": 3,
        "currentCount": 3,
        "freezesHeld": 0,
    }
    assert (broken["periodId"], broken["periodOutcome"]) == (shop.period_ids[5], "MISSED")
    assert (broken["runBefore"], broken["currentCount"], broken["freezesHeld"]) == (3, 0, 0)
    assert [n["occurredAt"] for n in feed] == [
        "2024-09-05T00:00:00.000Z",
        "2024-09-06T00:00:00.000Z",
    ]
    assert all(n["userId"] == USER and n["replayed"] is False for n in feed)


def test_at_risk_goes_out_at_risk_hours_before_the_run_resets_once_per_period(
    client: TestClient, database: Database, utc_org: OrgCredentials, clock: Clock
) -> None:
    shop = Shop(client, database, utc_org, clock)
    shop.buy(1)
    shop.buy(2)
    # Run 2, no freeze yet: it resets at 09-04 00:00 unless 09-03 is achieved.
    assert shop.sweep(DAY[3] + timedelta(hours=19, minutes=59)) == {}
    assert shop.sweep(DAY[3] + timedelta(hours=20)) == {"streak.at_risk": 1}
    assert shop.sweep(DAY[3] + timedelta(hours=21)) == {}
    shop.buy(3, hour=22)
    # 09-04 is met before its moment: nothing. Run 4, a freeze held: on 09-05 the run would
    # reset only at 09-07 00:00, so 20:00 of 09-05 tells nothing either.
    shop.buy(4)
    assert shop.sweep(DAY[4] + timedelta(hours=20, minutes=30)) == {}
    assert shop.sweep(DAY[5] + timedelta(hours=20, minutes=30)) == {}
    # 09-05 closed unachieved (the freeze went); 09-06 is the run's last chance.
    assert shop.sweep(DAY[6] + timedelta(hours=20, minutes=30)) == {
        "streak.frozen": 1,
        "streak.at_risk": 1,
    }
    assert shop.sweep(DAY[6] + timedelta(hours=23)) == {}

    assert shop.told() == [
        ("streak.at_risk", USER, 3),
        ("streak.frozen", USER, 5),
        ("streak.at_risk", USER, 6),
    ]
    at_risk = [n for n in shop.feed() if n["type"] == "streak.at_risk"]
    assert [n["occurredAt"] for n in at_risk] == [
        "2024-09-03T20:00:00.000Z",
        "2024-09-06T20:00:00.000Z",
    ]
    assert [n["data"]["runEndsAt"] for n in at_risk] == [
        "2024-09-04T00:00:00.000Z",
        "2024-09-07T00:00:00.000Z",
    ]
    assert [(n["data"]["periodOutcome"], n["data"]["currentCount"]) for n in at_risk] == [
        ("RUNNING", 2),
        ("RUNNING", 4),
    ]


def test_a_non_continuous_streak_never_breaks(
    client: TestClient, database: Database, utc_org: OrgCredentials, clock: Clock
) -> None:
    shop = Shop(client, database, utc_org, clock, tracking="NON_CONTINUOUS_STREAKS")
    shop.buy(1)
    shop.buy(2)
    for hour in range(20, 20 + 24 * 5, 4):  # across 09-03..09-08, every 4 hours
        assert shop.sweep(DAY[3] + timedelta(hours=hour)) == {}
    assert shop.feed() == []


def test_customers_are_told_each_of_their_own_transitions_and_no_one_elses(
    client: TestClient, database: Database, utc_org: OrgCredentials, clock: Clock
) -> None:
    shop = Shop(client, database, utc_org, clock)
    steady, lapsing, idle = USER, USER + 1, USER + 2
    for day in (1, 2, 3, 4, 5):
        shop.buy(day, user=steady)
    shop.buy(1, user=lapsing)
    shop.buy(2, user=lapsing)
    shop.buy(1, user=idle, amount=10)  # a user target, never achieved: no run to tell of
    # Sweeping with chunks of one customer makes one transaction per customer.
    told = Sweeper(database, chunk=1).sweep(DAY[6])
    assert told == {"streak.broken": 1}
    assert shop.told() == [("streak.broken", lapsing, 3)]


def test_two_sweepers_at_once_tell_each_transition_once(
    client: TestClient, database: Database, utc_org: OrgCredentials, clock: Clock
) -> None:
    shop = Shop(client, database, utc_org, clock)
    users = range(USER, USER + 6)
    for user in users:
        for day in (1, 2, 3):
            shop.buy(day, user=user)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(dict(Sweeper(database, chunk=2).sweep(DAY[6])))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.get("streak.frozen", 0) for r in results) == len(users)
    assert sum(r.get("streak.broken", 0) for r in results) == len(users)
    told = shop.told()
    assert sorted(told) == sorted(
        [("streak.frozen", user, 4) for user in users]
        + [("streak.broken", user, 5) for user in users]
    )


def test_a_per_customer_group_breaks_each_run_at_the_customers_own_midnight(
    client: TestClient, database: Database, utc_org: OrgCredentials, clock: Clock
) -> None:
    """periodZone CUSTOMER: Berlin's 09-03 ends at 22:00 UTC, New York's at 04:00 UTC the
    next day; a sweep in between tells Berlin's break only."""
    berlin, new_york = 8001, 8002
    clock.set(datetime(2024, 8, 20, tzinfo=UTC))
    for user, zone in ((berlin, "Europe/Berlin"), (new_york, "America/New_York")):
        profile = client.put(f"/v3/customers/{user}", json={"timeZone": zone}, auth=utc_org.auth)
        assert profile.status_code == 200, profile.text
    body = daily_streaks() | {"periodZone": "CUSTOMER", "streakFreezes": None}
    clock.set(datetime(2024, 8, 31, 12, 0, tzinfo=UTC))
    created = client.post("/v3/targetGroups", json=body, auth=utc_org.auth)
    assert created.status_code == 201, created.text
    group = created.json()["data"]
    day_of = {p["id"]: d for d, p in enumerate(group["periods"], start=1)}
    bills = 0
    for user in (berlin, new_york):
        for day in (1, 2):  # 15:00 UTC is the afternoon in both zones
            bills += 1
            at = DAY[day] + timedelta(hours=15)
            clock.set(at + timedelta(minutes=5))
            sent = client.post(
                "/v3/events",
                json={
                    "eventId": f"Z-{bills}",
                    "eventName": "TransactionAdd",
                    "userId": user,
                    "eventTime": utc(at),
                    "transaction": {"billNumber": f"Z-{bills}", "billAmount": 100},
                },
                auth=utc_org.auth,
            )
            assert sent.json()["data"]["status"] == "APPLIED", sent.text
    shop = Shop.__new__(Shop)
    shop.client, shop.database, shop.org = client, database, utc_org
    # 01:00 UTC on 09-04: Berlin's 09-03 has ended unachieved; New York's runs to 04:00
    # UTC, so it is 21:00 there, inside the 4 hours at risk.
    assert shop.sweep(DAY[4] + timedelta(hours=1)) == {"streak.broken": 1, "streak.at_risk": 1}
    told = [(n["type"], n["userId"], day_of[n["data"]["periodId"]]) for n in shop.feed()]
    assert sorted(told) == [("streak.at_risk", new_york, 3), ("streak.broken", berlin, 3)]
    assert shop.sweep(DAY[4] + timedelta(hours=5)) == {"streak.broken": 1}  # 05:00 UTC
    told = [(n["type"], n["userId"], day_of[n["data"]["periodId"]]) for n in shop.feed()]
    assert told[-1] == ("streak.broken", new_york, 3)
