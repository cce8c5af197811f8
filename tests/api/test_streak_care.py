"""Streak care through the API (SPEC §17): freezes, repair, at risk, and what the view shows.

A daily STREAKS group of ten days from 2024-03-01 (UTC), 100 of SALES a day, levels of 3
and 5 days; one freeze held at most, granted after every 3 achieved days; repairs within
2 days of a period's end, one per customer. The clock is moved across the days' ends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from milestones.clock import Clock
from milestones.store.database import Database
from tests.conftest import OrgCredentials, make_org

Json = dict[str, Any]
USER = 5001
DAY = {d: datetime(2024, 3, d, tzinfo=UTC) for d in range(1, 13)}


def utc(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def daily_streak(**changes: Any) -> Json:
    body: Json = {
        "name": "Daily spend",
        "trackingType": "STREAKS",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "DAILY",
        "frequency": 1,
        "totalPeriods": 10,
        "recurringCycles": -1,
        "timeZoneName": "UTC",
        "targetCycleStartDate": "2024-03-01T00:00:00.000",
        "targetCycleEndDate": "2024-03-10T23:59:59.000",
        "targets": [
            {
                "name": "daily spend",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": 100,
            }
        ],
        "streaks": [
            {"name": "three days", "targetCountOfSequence": 3},
            {"name": "five days", "targetCountOfSequence": 5},
        ],
        "streakFreezes": {"maxHeld": 1, "grantEveryAchieved": 3},
        "repairWindowDays": 2,
        "maxRepairs": 1,
        "atRiskHours": 4,
    }
    body.update(changes)
    return body


class Walker:
    """One customer of one daily streak group, walked through the days."""

    def __init__(self, client: TestClient, org: OrgCredentials, clock: Clock, **changes: Any):
        self.client, self.org, self.clock = client, org, clock
        clock.set(DAY[1])
        response = client.post("/v3/targetGroups", json=daily_streak(**changes), auth=org.auth)
        assert response.status_code == 201, response.text
        self.group: Json = response.json()["data"]
        self.period_ids = [period["id"] for period in self.group["periods"]]
        self.bills = 0

    def buy(self, day: int, user: int = USER) -> Json:
        at = DAY[day] + timedelta(hours=10)
        self.clock.set(at + timedelta(minutes=5))
        self.bills += 1
        response = self.client.post(
            "/v3/events",
            json={
                "eventId": f"B-{self.bills}",
                "eventName": "TransactionAdd",
                "userId": user,
                "eventTime": utc(at),
                "transaction": {"billNumber": f"B-{self.bills}", "billAmount": 100},
            },
            auth=self.org.auth,
        )
        assert response.status_code == 200, response.text
        data: Json = response.json()["data"]
        assert data["status"] == "APPLIED", response.text
        return data

    def view(self, at: datetime, user: int = USER) -> Json:
        self.clock.set(at)
        response = self.client.get(
            f"/v3.1/users/{user}/targetGroups",
            params={"includeInactive": "true"},
            auth=self.org.auth,
        )
        assert response.status_code == 200, response.text
        body = json.loads(response.content, parse_float=Decimal)
        [group] = [g for g in body["data"]["targetGroups"] if g["id"] == self.group["id"]]
        entry: Json = group
        return entry

    def outcomes(self, at: datetime, user: int = USER) -> list[str]:
        return [t["periodOutcome"] for t in self.view(at, user)["targets"]]

    def streak(self, at: datetime, user: int = USER) -> Json:
        first: Json = self.view(at, user)["streaks"][0]
        return first

    def repair(self, day: int, user: int = USER) -> Any:
        return self.client.post(
            f"/v3.1/users/{user}/streaks/repair",
            json={"targetGroupId": self.group["id"], "periodId": self.period_ids[day - 1]},
            auth=self.org.auth,
        )


def test_the_care_settings_are_stored_and_shown_on_the_group(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    group = Walker(client, org, clock).group
    assert group["streakFreezes"] == {"maxHeld": 1, "grantEveryAchieved": 3}
    assert (group["repairWindowDays"], group["maxRepairs"], group["atRiskHours"]) == (2, 1, 4)
    assert group["periodZone"] == "GROUP"


def test_a_daily_walk_freezes_then_breaks_then_a_repair_in_its_window_restores_the_run(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    walker = Walker(client, org, clock)
    for day in (1, 2, 3):
        walker.buy(day)
    # Day 4 is missed with the freeze that 3 achieved days granted: FROZEN, the run kept.
    noon5 = DAY[5] + timedelta(hours=12)
    assert walker.outcomes(noon5)[:5] == ["ACHIEVED", "ACHIEVED", "ACHIEVED", "FROZEN", "RUNNING"]
    streak = walker.streak(noon5)
    assert (streak["currentCount"], streak["freezesHeld"], streak["atRisk"]) == (3, 0, True)
    assert streak["runEndsAt"] == "2024-03-06T00:00:00.000Z"
    # Day 5 is missed with no freeze left: MISSED, the run reset.
    noon6 = DAY[6] + timedelta(hours=12)
    assert walker.outcomes(noon6)[:6] == [
        "ACHIEVED",
        "ACHIEVED",
        "ACHIEVED",
        "FROZEN",
        "MISSED",
        "RUNNING",
    ]
    streak = walker.streak(noon6)
    assert (streak["currentCount"], streak["atRisk"], streak["runEndsAt"]) == (0, False, None)
    # A repair within two days of day 5's end restores the run: 3 + the repaired day.
    answer = walker.repair(5)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert (data["periodOutcome"], data["currentCount"], data["repairsLeft"]) == ("REPAIRED", 4, 0)
    assert data["repairedAt"] == "2024-03-06T12:00:00.000Z"
    assert walker.outcomes(noon6)[4] == "REPAIRED"
    assert walker.streak(noon6)["currentCount"] == 4
    # Buying on day 6 makes five: the event's answer reports the second level reached.
    answer_6 = walker.buy(6)
    reached = [s["streakName"] for e in answer_6["sideEffects"] for s in e["streaksAchieved"]]
    assert reached == ["five days"]
    levels = walker.view(DAY[6] + timedelta(hours=13))["streaks"]
    assert [(lv["status"], lv["currentCount"]) for lv in levels] == [
        ("ACHIEVED", 5),
        ("ACHIEVED", 5),
    ]


def test_a_repair_outside_its_window_or_of_a_period_not_missed_is_refused(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    walker = Walker(client, org, clock)
    walker.buy(1)
    walker.buy(3)
    clock.set(DAY[5] + timedelta(hours=1))  # day 2 ended on 03-03 00:00; window to 03-05 00:00
    late = walker.repair(2)
    assert late.status_code == 409, late.text
    error = late.json()["errors"][0]
    assert error["code"] == 310160 and "closed" in error["message"]
    achieved = walker.repair(1)
    assert achieved.status_code == 409 and "ACHIEVED" in achieved.json()["errors"][0]["message"]
    running = walker.repair(5)
    assert running.status_code == 409 and "RUNNING" in running.json()["errors"][0]["message"]
    assert walker.outcomes(DAY[5] + timedelta(hours=2))[:5] == [
        "ACHIEVED",
        "MISSED",
        "ACHIEVED",
        "MISSED",
        "RUNNING",
    ]
    assert walker.repair(4).status_code == 200  # the one repair allowed
    clock.set(DAY[6] + timedelta(hours=1))
    again = walker.repair(5)
    assert again.status_code == 409 and "all 1 repairs" in again.json()["errors"][0]["message"]


def test_at_risk_and_run_ends_at_before_and_after_the_days_target_is_met(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    walker = Walker(client, org, clock, streakFreezes=None)
    walker.buy(1)
    before = walker.streak(DAY[2] + timedelta(hours=9))
    assert (before["atRisk"], before["runEndsAt"], before["freezesHeld"]) == (
        True,
        "2024-03-03T00:00:00.000Z",
        0,
    )
    walker.buy(2)
    after = walker.streak(DAY[2] + timedelta(hours=11))
    assert (after["atRisk"], after["runEndsAt"]) == (False, "2024-03-04T00:00:00.000Z")


def test_support_grants_freezes_up_to_max_held_and_a_granted_freeze_saves_the_run(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    walker = Walker(client, org, clock, streakFreezes={"maxHeld": 2})
    walker.buy(1)
    grant = client.post(
        f"/v3.1/users/{USER}/streakFreezes",
        json={"targetGroupId": walker.group["id"], "count": 5},
        auth=org.auth,
    )
    assert grant.status_code == 200, grant.text
    assert grant.json()["data"] | {} == {
        "userId": USER,
        "targetGroupId": walker.group["id"],
        "granted": 5,
        "freezesHeld": 2,
        "maxHeld": 2,
    }
    outcomes = walker.outcomes(DAY[4] + timedelta(hours=1))
    assert outcomes[:4] == ["ACHIEVED", "FROZEN", "FROZEN", "RUNNING"]
    streak = walker.streak(DAY[4] + timedelta(hours=1))
    assert (streak["currentCount"], streak["freezesHeld"]) == (1, 0)


def test_streak_care_bad_input_is_answered_in_the_envelope(
    client: TestClient, org: OrgCredentials, clock: Clock, database: Database
) -> None:
    cases: list[tuple[Json, str]] = [
        ({"streakFreezes": {"maxHeld": 0}}, "streakFreezes.maxHeld"),
        (
            {"streakFreezes": {"maxHeld": 1, "grantEveryAchieved": 0}},
            "streakFreezes.grantEveryAchieved",
        ),
        ({"repairWindowDays": 0}, "repairWindowDays"),
        ({"repairWindowDays": None, "maxRepairs": 2}, "repairWindowDays"),
        ({"atRiskHours": 24}, "atRiskHours"),
        (
            {
                "periodZone": "CUSTOMER",
                "frequencyType": "MONTHLY",
                "totalPeriods": 1,
                "targetCycleEndDate": "2024-03-31T23:59:59.000",
                "streaks": [{"name": "one month", "targetCountOfSequence": 1}],
            },
            "periodZone",
        ),
        ({"trackingType": "DEFAULT", "streaks": []}, "streakFreezes"),
    ]
    clock.set(DAY[1])
    for changes, field in cases:
        body = daily_streak(**changes)
        if changes.get("trackingType") == "DEFAULT":
            del body["repairWindowDays"], body["maxRepairs"], body["atRiskHours"]
        response = client.post("/v3/targetGroups", json=body, auth=org.auth)
        assert response.status_code == 400, (changes, response.text)
        assert field in json.dumps(response.json()["errors"]), (changes, response.text)
    walker = Walker(client, org, clock, streakFreezes=None, repairWindowDays=None, maxRepairs=None)
    for path, body in (
        ("streakFreezes", {"targetGroupId": walker.group["id"]}),
        ("streaks/repair", {"targetGroupId": walker.group["id"], "periodId": walker.period_ids[0]}),
    ):
        refused = client.post(f"/v3.1/users/{USER}/{path}", json=body, auth=org.auth)
        assert refused.status_code == 409, refused.text
        assert refused.json()["errors"][0]["code"] == 310160
    for path, body in (
        ("streakFreezes", {"targetGroupId": 999999}),
        ("streakFreezes", {"targetGroupId": walker.group["id"], "count": 0}),
        ("streakFreezes", {"targetGroupId": "1"}),
        ("streaks/repair", {"targetGroupId": walker.group["id"]}),
    ):
        answer = client.post(f"/v3.1/users/{USER}/{path}", json=body, auth=org.auth)
        assert answer.status_code in (400, 404), (path, body, answer.text)
        assert answer.json()["errors"], answer.text
    repairs_on = Walker(client, org, clock, name="Daily spend, repairable")
    unknown = client.post(
        f"/v3.1/users/{USER}/streaks/repair",
        json={"targetGroupId": repairs_on.group["id"], "periodId": walker.period_ids[0]},
        auth=org.auth,
    )
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["errors"][0]["field"] == "periodId"
    other = make_org(database, clock, 777)
    foreign = client.post(
        f"/v3.1/users/{USER}/streakFreezes",
        json={"targetGroupId": repairs_on.group["id"]},
        auth=other.auth,
    )
    assert foreign.status_code == 404, foreign.text


def test_put_changes_the_care_settings_and_null_turns_one_off(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    walker = Walker(client, org, clock)
    group_id = walker.group["id"]
    changed = client.put(
        f"/v3/targetGroups/{group_id}",
        json={"streakFreezes": None, "atRiskHours": 6},
        auth=org.auth,
    )
    assert changed.status_code == 200, changed.text
    read = client.get(f"/v3/targetGroups/{group_id}", auth=org.auth).json()["data"]
    assert "streakFreezes" not in read
    assert (read["atRiskHours"], read["repairWindowDays"]) == (6, 2)
    zone = client.put(
        f"/v3/targetGroups/{group_id}", json={"periodZone": "CUSTOMER"}, auth=org.auth
    )
    assert zone.status_code == 400, zone.text
    assert zone.json()["errors"][0]["message"].startswith("periodZone cannot change")


def test_a_put_applies_to_periods_not_ended_and_an_ended_frozen_period_stays_frozen(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    walker = Walker(client, org, clock)
    for day in (1, 2, 3):
        walker.buy(day)
    clock.set(DAY[5] + timedelta(hours=9))  # day 4 ended FROZEN under the first settings
    changed = client.put(
        f"/v3/targetGroups/{walker.group['id']}",
        json={"streakFreezes": {"maxHeld": 2, "grantEveryAchieved": 1}},
        auth=org.auth,
    )
    assert changed.status_code == 200, changed.text
    assert walker.outcomes(DAY[5] + timedelta(hours=10))[:5] == [
        "ACHIEVED",
        "ACHIEVED",
        "ACHIEVED",
        "FROZEN",
        "RUNNING",
    ]
    walker.buy(5)  # one achieved day grants one freeze under the new settings
    streak = walker.streak(DAY[5] + timedelta(hours=11))
    assert (streak["currentCount"], streak["freezesHeld"]) == (4, 1)
    off = client.put(
        f"/v3/targetGroups/{walker.group['id']}", json={"streakFreezes": None}, auth=org.auth
    )
    assert off.status_code == 200, off.text
    # Day 6 closes with freezes off: MISSED, the run reset; day 4 is still FROZEN.
    outcomes = walker.outcomes(DAY[7] + timedelta(hours=1))
    assert outcomes[3:7] == ["FROZEN", "ACHIEVED", "MISSED", "RUNNING"]
    assert walker.streak(DAY[7] + timedelta(hours=1))["freezesHeld"] == 0
