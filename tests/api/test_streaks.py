"""Streak groups walked through time (SPEC §11, §10, §12).

A weekly group of six weeks from Monday 2024-08-05 (Asia/Kolkata), a SALES target of 1,000
a week, levels "two weeks" (2) and "three weeks" (3). The clock is moved across the ends of
the weeks; what the customer sees is read from the event answers and from the user view
(GET /v3.1/users/{userId}/targetGroups?includeInactive=true).

Weeks (local dates, each ending at 18:30 UTC of its last day):
W1 08-05..08-11, W2 08-12..08-18, W3 08-19..08-25, W4 08-26..09-01, W5 09-02..09-08,
W6 09-09..09-15.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.conftest import OrgCredentials
from tests.fixtures import seed_user_view_response

Json = dict[str, Any]
USER = 347286146

NOT_STARTED = "NOT_STARTED"
IN_PROGRESS = "IN_PROGRESS"
ACHIEVED = "ACHIEVED"

# The Wednesday of each week, 09:00 UTC (14:30 in Kolkata).
WEDNESDAY = {
    week: datetime(2024, 8, 7, 9, 0, tzinfo=UTC) + timedelta(weeks=week - 1) for week in range(1, 7)
}
# The first instant after each week (local midnight of the next Monday, as UTC).
WEEK_END = {
    week: datetime(2024, 8, 11, 18, 30, tzinfo=UTC) + timedelta(weeks=week - 1)
    for week in range(1, 7)
}


def utc(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def decoded(response: Any) -> Json:
    body: Json = json.loads(response.content, parse_float=Decimal)
    return body


def weekly_streaks(tracking: str = "STREAKS", name: str = "Spend weekly", **changes: Any) -> Json:
    body: Json = {
        "name": name,
        "trackingType": tracking,
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "WEEKLY",
        "frequency": 1,
        "totalPeriods": 6,
        "recurringCycles": -1,
        "targetCycleStartDate": "2024-08-05T00:00:00.000",
        "targetCycleEndDate": "2024-09-15T23:59:59.000",
        "targets": [
            {
                "name": "weekly spend",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": 1000,
            }
        ],
        "streaks": [
            {"name": "two weeks", "targetCountOfSequence": 2},
            {"name": "three weeks", "targetCountOfSequence": 3},
        ],
    }
    body.update(changes)
    return body


@dataclass
class Level:
    """One streak level as a side effect or the user view shows it."""

    name: str
    status: str
    current_count: int
    achieved_at: str | None = None
    user_target_id: int | None = None


def level_of(entry: Json) -> Level:
    return Level(
        entry["streakName"],
        entry["status"],
        entry["currentCount"],
        entry["streakAchievedDateTime"],
        entry["streakAchievedUserTargetId"],
    )


class Customer:
    """One customer of one streak group, walked through time."""

    def __init__(
        self, client: TestClient, org: OrgCredentials, clock: Clock, body: Json | None = None
    ) -> None:
        self.client = client
        self.org = org
        self.clock = clock
        clock.set(datetime(2024, 8, 5, 0, 0, tzinfo=UTC))  # W1 has begun
        response = client.post("/v3/targetGroups", json=body or weekly_streaks(), auth=org.auth)
        assert response.status_code == 201, response.text
        self.group: Json = response.json()["data"]
        self.level_ids = {level["name"]: level["id"] for level in self.group["streaks"]}
        self.bills = 0

    def send(self, event: Json) -> Json:
        response = self.client.post("/v3/events", json=event, auth=self.org.auth)
        assert response.status_code == 200, response.text
        data: Json = decoded(response)["data"]
        return data

    def buy(self, amount: Any, at: datetime, *, now: datetime | None = None) -> Json:
        """A bill at ``at`` (the clock moved to ``now``, or an hour after the bill)."""
        self.clock.set(now or at + timedelta(hours=1))
        self.bills += 1
        event_id = f"B-{self.bills}"
        data = self.send(
            {
                "eventId": event_id,
                "eventName": "TransactionAdd",
                "userId": USER,
                "eventTime": utc(at),
                "transaction": {"billNumber": event_id, "billAmount": amount},
            }
        )
        assert data["status"] == "APPLIED", data
        return self.group_effect(data)

    def give_back(self, original: str, amount: Any, at: datetime) -> Json:
        self.clock.set(at + timedelta(minutes=30))
        data = self.send(
            {
                "eventId": f"R-{original}",
                "eventName": "ReturnBill",
                "userId": USER,
                "eventTime": utc(at),
                "return": {"originalEventId": original, "amount": amount},
            }
        )
        assert data["status"] == "APPLIED", data
        return self.group_effect(data)

    def group_effect(self, data: Json) -> Json:
        """The (only) side effect of the group: it carries the group's changes."""
        effects = [e for e in data["sideEffects"] if e["targetGroupId"] == self.group["id"]]
        assert len(effects) == 1, data
        effect: Json = effects[0]
        return effect

    def view(self) -> Json:
        response = self.client.get(
            f"/v3.1/users/{USER}/targetGroups",
            params={"includeInactive": "true"},
            auth=self.org.auth,
        )
        assert response.status_code == 200, response.text
        groups = [
            g for g in decoded(response)["data"]["targetGroups"] if g["id"] == self.group["id"]
        ]
        assert len(groups) == 1, groups
        entry: Json = groups[0]
        return entry

    def levels(self) -> list[Level]:
        """The levels of the group in the user view, read at the clock's now."""
        streaks = self.view()["streaks"]
        assert [s["streakId"] for s in streaks] == list(self.level_ids.values())
        return [level_of(streak) for streak in streaks]

    def at(self, now: datetime) -> list[Level]:
        self.clock.set(now)
        return self.levels()


def reported(effect: Json) -> list[Level]:
    return [level_of(streak) for streak in effect["streaksAchieved"]]


# STREAKS: the weekly walk


def test_a_weekly_streak_walks_through_achieve_achieve_miss_achieve_with_the_run_at_each_step(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    customer = Customer(client, org, clock)
    assert customer.levels() == [
        Level("two weeks", NOT_STARTED, 0),
        Level("three weeks", NOT_STARTED, 0),
    ]

    # Week 1 achieved: no level yet, both under way.
    week1 = customer.buy(1000, WEDNESDAY[1])
    assert (week1["periodRefCode"], week1["targetAchieved"]) == ("Cycle_1", True)
    assert reported(week1) == []
    assert (week1["groupAchieved"], week1["groupAchievedNow"]) == (True, True)
    assert week1["groupAchievedDateTime"] == utc(WEDNESDAY[1])
    assert customer.levels() == [
        Level("two weeks", IN_PROGRESS, 1),
        Level("three weeks", IN_PROGRESS, 1),
    ]

    # Week 2 achieved: level 2 is reached by this event, on week 2's user target.
    week2 = customer.buy(1000, WEDNESDAY[2])
    assert (week2["periodRefCode"], week2["targetAchieved"]) == ("Cycle_2", True)
    assert week2["streaksAchieved"] == [
        {
            "streakId": customer.level_ids["two weeks"],
            "streakName": "two weeks",
            "targetCountOfSequence": 2,
            "status": ACHIEVED,
            "currentCount": 2,
            "streakAchievedDateTime": utc(WEDNESDAY[2]),
            "streakAchievedUserTargetId": week2["userTargetId"],
        }
    ]
    two_weeks = Level("two weeks", ACHIEVED, 2, utc(WEDNESDAY[2]), week2["userTargetId"])
    assert customer.levels() == [two_weeks, Level("three weeks", IN_PROGRESS, 2)]

    # Week 3 running and not achieved: the running period never breaks the run.
    week3 = customer.buy(400, WEDNESDAY[3])
    assert (week3["periodRefCode"], week3["targetAchieved"]) == ("Cycle_3", False)
    assert reported(week3) == []
    assert (week3["groupAchieved"], week3["groupAchievedNow"]) == (False, False)
    assert customer.at(WEEK_END[3] - timedelta(milliseconds=1)) == [
        two_weeks,
        Level("three weeks", IN_PROGRESS, 2),
    ]

    # Week 3 has ended unachieved: the run is 0 at once, with no event from the customer.
    two_weeks.current_count = 0
    assert customer.at(WEEK_END[3]) == [two_weeks, Level("three weeks", IN_PROGRESS, 0)]

    # Week 4 achieved: a new run of 1; level 2 stays achieved and is not reported again.
    week4 = customer.buy(1000, WEDNESDAY[4])
    assert (week4["periodRefCode"], week4["targetAchieved"]) == ("Cycle_4", True)
    assert reported(week4) == []
    assert (week4["groupAchieved"], week4["groupAchievedNow"]) == (True, True)
    two_weeks.current_count = 1
    assert customer.levels() == [two_weeks, Level("three weeks", IN_PROGRESS, 1)]

    # Week 5: a run of 2 again; level 2 was reached once and is not reported a second time.
    week5 = customer.buy(1000, WEDNESDAY[5])
    assert reported(week5) == []
    two_weeks.current_count = 2
    assert customer.levels() == [two_weeks, Level("three weeks", IN_PROGRESS, 2)]

    # Week 6: a run of 3 reaches level 3, on week 6's user target.
    week6 = customer.buy(1000, WEDNESDAY[6])
    three_weeks = Level("three weeks", ACHIEVED, 3, utc(WEDNESDAY[6]), week6["userTargetId"])
    assert reported(week6) == [three_weeks]
    assert week6["streaksAchieved"][0]["streakId"] == customer.level_ids["three weeks"]
    two_weeks.current_count = 3
    assert customer.levels() == [two_weeks, three_weeks]


def test_the_user_view_rows_of_a_streak_group_show_each_weeks_own_progress(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    customer = Customer(client, org, clock)
    week1 = customer.buy(1000, WEDNESDAY[1])
    week2 = customer.buy(250, WEDNESDAY[2])
    rows = customer.view()["targets"]
    assert [row["periodRefCode"] for row in rows] == [f"Cycle_{n}" for n in range(1, 7)]
    assert [row["targetId"] for row in rows] == [
        week1["userTargetId"],
        week2["userTargetId"],
        None,
        None,
        None,
        None,
    ]
    assert [row["targetAchievedValue"] for row in rows] == [1000, 250, 0, 0, 0, 0]
    assert [row["targetAchievedDateTime"] for row in rows] == [utc(WEDNESDAY[1])] + [None] * 5
    assert [row["currentPeriod"] for row in rows] == [False, True, False, False, False, False]
    assert customer.view()["trackingType"] == "STREAKS"


@pytest.mark.parametrize(
    ("now", "run"),
    [
        (WEDNESDAY[3], 2),
        (WEEK_END[3] - timedelta(milliseconds=1), 2),
        (WEEK_END[3], 0),
        (WEDNESDAY[4], 0),
    ],
    ids=["mid week 3", "last instant of week 3", "week 3 just ended", "mid week 4"],
)
def test_a_week_with_no_purchase_breaks_the_run_only_once_it_has_ended(
    client: TestClient, org: OrgCredentials, clock: Clock, now: datetime, run: int
) -> None:
    customer = Customer(client, org, clock)
    customer.buy(1000, WEDNESDAY[1])
    week2 = customer.buy(1000, WEDNESDAY[2])
    levels = customer.at(now)
    assert [level.current_count for level in levels] == [run, run]
    assert levels[0] == Level("two weeks", ACHIEVED, run, utc(WEDNESDAY[2]), week2["userTargetId"])
    assert levels[1] == Level("three weeks", IN_PROGRESS, run)


def test_a_streak_group_with_a_count_target_counts_bills_per_week(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    body = weekly_streaks(
        targets=[
            {
                "name": "two bills a week",
                "targetEntity": "TRANSACTION",
                "targetType": "COUNT",
                "defaultValue": 2,
            }
        ]
    )
    customer = Customer(client, org, clock, body)
    for week in (1, 2):
        first = customer.buy(10, WEDNESDAY[week])
        assert (first["targetAchieved"], reported(first)) == (False, [])
        second = customer.buy(10, WEDNESDAY[week] + timedelta(days=1))
        assert second["targetAchieved"] is True
    assert [(level.name, level.status) for level in reported(second)] == [("two weeks", ACHIEVED)]
    assert reported(second)[0].user_target_id == second["userTargetId"]
    assert [(level.status, level.current_count) for level in customer.levels()] == [
        (ACHIEVED, 2),
        (IN_PROGRESS, 2),
    ]


# NON_CONTINUOUS_STREAKS: the same walk, without resets


def test_a_non_continuous_streak_counts_achieved_weeks_in_total_and_a_miss_does_not_reset_it(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    customer = Customer(client, org, clock, weekly_streaks("NON_CONTINUOUS_STREAKS"))
    assert customer.view()["trackingType"] == "NON_CONTINUOUS_STREAKS"
    assert customer.levels() == [
        Level("two weeks", NOT_STARTED, 0),
        Level("three weeks", NOT_STARTED, 0),
    ]

    week1 = customer.buy(1000, WEDNESDAY[1])
    assert reported(week1) == []
    assert customer.levels() == [
        Level("two weeks", IN_PROGRESS, 1),
        Level("three weeks", IN_PROGRESS, 1),
    ]

    week2 = customer.buy(1000, WEDNESDAY[2])
    two_weeks = Level("two weeks", ACHIEVED, 2, utc(WEDNESDAY[2]), week2["userTargetId"])
    assert reported(week2) == [two_weeks]
    assert customer.levels() == [two_weeks, Level("three weeks", IN_PROGRESS, 2)]

    # Week 3 ends unachieved: nothing is reset.
    customer.buy(400, WEDNESDAY[3])
    assert customer.at(WEEK_END[3]) == [two_weeks, Level("three weeks", IN_PROGRESS, 2)]

    # Week 4 is the third achieved week: level 3, on week 4's user target.
    week4 = customer.buy(1000, WEDNESDAY[4])
    three_weeks = Level("three weeks", ACHIEVED, 3, utc(WEDNESDAY[4]), week4["userTargetId"])
    assert reported(week4) == [three_weeks]
    assert week4["streaksAchieved"][0]["targetCountOfSequence"] == 3
    two_weeks.current_count = 3
    assert customer.levels() == [two_weeks, three_weeks]

    # A fourth achieved week reports nothing more.
    week5 = customer.buy(1000, WEDNESDAY[5])
    assert reported(week5) == []
    assert [level.current_count for level in customer.levels()] == [4, 4]


# Late events re-evaluate the runs (SPEC §10, §11)


def test_a_late_purchase_that_achieves_a_missed_week_joins_the_runs_on_either_side(
    client: TestClient, org: OrgCredentials, clock: Clock, database: Database
) -> None:
    admin.set_org(database, org.org_id, retro_buffer_days=3)
    customer = Customer(client, org, clock)
    customer.buy(1000, WEDNESDAY[1])
    week2 = customer.buy(1000, WEDNESDAY[2])
    week4 = customer.buy(1000, WEDNESDAY[4])
    assert reported(week4) == []
    two_weeks = Level("two weeks", ACHIEVED, 1, utc(WEDNESDAY[2]), week2["userTargetId"])
    assert customer.levels() == [two_weeks, Level("three weeks", IN_PROGRESS, 1)]

    # A purchase of Sunday of week 3, arriving on Wednesday of week 4 (inside the buffer).
    sunday = datetime(2024, 8, 25, 12, 0, tzinfo=UTC)
    late = customer.buy(1000, sunday, now=WEDNESDAY[4] + timedelta(hours=2))
    assert (late["periodRefCode"], late["targetAchieved"]) == ("Cycle_3", True)
    # The run W1..W4 reached 3 at week 3: level 3 is completed by week 3's user target.
    three_weeks = Level("three weeks", ACHIEVED, 4, utc(sunday), late["userTargetId"])
    assert reported(late) == [three_weeks]
    two_weeks.current_count = 4
    assert customer.levels() == [two_weeks, three_weeks]


def test_a_late_purchase_that_achieves_the_week_after_a_run_extends_it(
    client: TestClient, org: OrgCredentials, clock: Clock, database: Database
) -> None:
    admin.set_org(database, org.org_id, retro_buffer_days=2)
    customer = Customer(client, org, clock)
    customer.buy(1000, WEDNESDAY[1])
    assert [level.current_count for level in customer.at(WEEK_END[2] + timedelta(hours=1))] == [
        0,
        0,
    ]
    saturday = datetime(2024, 8, 17, 8, 0, tzinfo=UTC)
    late = customer.buy(1000, saturday, now=WEEK_END[2] + timedelta(hours=2))
    assert late["periodRefCode"] == "Cycle_2"
    two_weeks = Level("two weeks", ACHIEVED, 2, utc(saturday), late["userTargetId"])
    assert reported(late) == [two_weeks]
    assert customer.levels() == [two_weeks, Level("three weeks", IN_PROGRESS, 2)]


# Returns (SPEC §10): revokeOnReturn takes back the levels a period completed


def test_with_revoke_on_return_a_return_that_unachieves_week_2_takes_back_level_2(
    client: TestClient, org: OrgCredentials, clock: Clock, database: Database
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=True)
    customer = Customer(client, org, clock)
    customer.buy(1000, WEDNESDAY[1])
    week2 = customer.buy(1000, WEDNESDAY[2])
    assert [level.name for level in reported(week2)] == ["two weeks"]

    back = customer.give_back("B-2", 500, WEDNESDAY[2] + timedelta(days=1))

    assert back["periodRefCode"] == "Cycle_2"
    assert back["targetAchievedValueAfterEvent"] == 500
    assert back["targetAchievementRevoked"] is True
    assert back["groupAchieved"] is False
    assert back["groupAchievementRevoked"] is True
    assert back["streaksAchieved"] == []
    assert [(s["streakId"], s["streakName"]) for s in back["streaksRevoked"]] == [
        (customer.level_ids["two weeks"], "two weeks")
    ]
    revoked = back["streaksRevoked"][0]
    assert revoked["status"] != ACHIEVED
    assert revoked["streakAchievedDateTime"] is None
    assert revoked["streakAchievedUserTargetId"] is None
    assert customer.levels() == [
        Level("two weeks", IN_PROGRESS, 1),
        Level("three weeks", IN_PROGRESS, 1),
    ]

    # Buying back to the target reaches level 2 again, on the new achievement.
    again = customer.buy(600, WEDNESDAY[2] + timedelta(days=2))
    assert reported(again) == [
        Level(
            "two weeks", ACHIEVED, 2, utc(WEDNESDAY[2] + timedelta(days=2)), week2["userTargetId"]
        )
    ]


def test_with_revoke_on_return_a_return_in_the_retro_buffer_unachieves_last_week_and_resets_the_run(
    client: TestClient, org: OrgCredentials, clock: Clock, database: Database
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=True, retro_buffer_days=3)
    customer = Customer(client, org, clock)
    customer.buy(1000, WEDNESDAY[1])
    customer.buy(1000, WEDNESDAY[2])
    # Monday of week 3: week 2 has ended but is inside the buffer; the return goes back to it.
    back = customer.give_back("B-2", 1000, WEEK_END[2] + timedelta(hours=3))
    assert (back["periodRefCode"], back["contributionType"]) == ("Cycle_2", "RETURN")
    assert back["targetAchievementRevoked"] is True
    assert [s["streakName"] for s in back["streaksRevoked"]] == ["two weeks"]
    # Week 2 is now an ended, unachieved week: the run is broken.
    assert customer.levels() == [
        Level("two weeks", IN_PROGRESS, 0),
        Level("three weeks", IN_PROGRESS, 0),
    ]


def test_without_revoke_on_return_a_return_leaves_the_levels_achieved(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    customer = Customer(client, org, clock)
    customer.buy(1000, WEDNESDAY[1])
    week2 = customer.buy(1000, WEDNESDAY[2])

    back = customer.give_back("B-2", 500, WEDNESDAY[2] + timedelta(days=1))

    assert back["targetAchievedValueAfterEvent"] == 500
    assert back.get("targetAchievementRevoked") in (None, False)
    assert back.get("streaksRevoked") in (None, [])
    assert back.get("groupAchievementRevoked") in (None, False)
    assert back["groupAchieved"] is True
    assert back["streaksAchieved"] == []
    assert customer.levels() == [
        Level("two weeks", ACHIEVED, 2, utc(WEDNESDAY[2]), week2["userTargetId"]),
        Level("three weeks", IN_PROGRESS, 2),
    ]


def test_a_streak_level_is_reported_only_by_the_event_that_reaches_it(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    customer = Customer(client, org, clock)
    customer.buy(1000, WEDNESDAY[1])
    reaching = customer.buy(1000, WEDNESDAY[2])
    more_same_week = customer.buy(500, WEDNESDAY[2] + timedelta(days=1))
    next_week = customer.buy(300, WEDNESDAY[3])
    assert [level.name for level in reported(reaching)] == ["two weeks"]
    assert reported(more_same_week) == []
    assert more_same_week["groupAchieved"] is True
    assert more_same_week["groupAchievedNow"] is False
    assert more_same_week["groupAchievedDateTime"] == utc(WEDNESDAY[2])
    assert reported(next_week) == []


# A streak group with several targets


def test_a_streak_week_counts_only_when_every_target_is_achieved_in_the_event_and_the_view(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    """docs/decisions.md: a streak group with several targets achieves a period when all its
    active targets are achieved in it; the side effects and the user view must agree."""
    body = weekly_streaks(
        targets=[
            {
                "name": "weekly spend",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": 1000,
            },
            {
                "name": "two bills",
                "targetEntity": "TRANSACTION",
                "targetType": "COUNT",
                "defaultValue": 2,
            },
        ]
    )
    customer = Customer(client, org, clock, body)
    for week in (1, 2):
        customer.clock.set(WEDNESDAY[week] + timedelta(hours=1))
        data = customer.send(
            {
                "eventId": f"B-{week}",
                "eventName": "TransactionAdd",
                "userId": USER,
                "eventTime": utc(WEDNESDAY[week]),
                "transaction": {"billNumber": f"B-{week}", "billAmount": 1000},
            }
        )
        spend, bills = data["sideEffects"]
        assert (spend["targetAchieved"], bills["targetAchieved"]) == (True, False)
        assert bills["groupAchieved"] is False
        assert bills["streaksAchieved"] == []
    # Only one target of two was achieved in each week: no week counts for the streak.
    assert customer.levels() == [
        Level("two weeks", NOT_STARTED, 0),
        Level("three weeks", NOT_STARTED, 0),
    ]


# The seed's streak groups (002_d3ba9093e9fee7eb.txt)


def seed_groups() -> dict[str, Json]:
    """The seed's example user view entries by group name."""
    body = seed_user_view_response()
    return {group["name"]: group for group in body["data"]["targetGroups"]}


SEED_STREAK_GROUPS = ["streakTest5", "streakTest6", "streakTest112"]  # oldest first


def seed_create_body(seed: Json) -> Json:
    """A create body with the seed group's periods, target and streak levels."""
    target = seed["targets"][0]
    return {
        "name": seed["name"],
        "trackingType": seed["trackingType"],
        "targetEvaluationType": seed["targetEvaluationType"],
        "frequencyType": "DAILY",
        "frequency": 1,
        "totalPeriods": len(seed["targets"]),
        "recurringCycles": -1,
        "preferredTillId": seed["preferredTillId"],
        "periods": [
            {
                "refCode": row["periodRefCode"],
                "startDate": row["periodStartDate"],
                "endDate": row["periodEndDate"],
            }
            for row in seed["targets"]
        ],
        "targets": [
            {
                "name": target["targetName"],
                "targetEntity": target["targetEntity"],
                "targetType": target["targetType"],
                "eventName": target["eventName"],
                "defaultValue": int(target["targetValue"]),
            }
        ],
        "streaks": [
            {
                "name": streak["streakName"],
                "targetCountOfSequence": streak["totalTargetCountOfSequence"],
            }
            for streak in seed["streaks"]
        ],
    }


def test_the_seeds_streak_groups_show_every_level_not_started_for_a_customer_with_no_progress(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    seeds = seed_groups()
    clock.set(datetime(2024, 5, 1, tzinfo=UTC))
    created = {}
    for name in SEED_STREAK_GROUPS:
        response = client.post(
            "/v3/targetGroups", json=seed_create_body(seeds[name]), auth=org.auth
        )
        assert response.status_code == 201, response.text
        created[name] = response.json()["data"]
    clock.set(datetime(2024, 8, 30, 9, 21, 43, 741000, tzinfo=UTC))  # when the seed was read

    response = client.get(
        f"/v3.1/users/{USER}/targetGroups", params={"includeInactive": "true"}, auth=org.auth
    )

    assert response.status_code == 200, response.text
    data = decoded(response)["data"]
    assert data["userId"] == USER
    shown = {group["name"]: group for group in data["targetGroups"]}
    assert [g["name"] for g in data["targetGroups"] if g["name"] in created] == SEED_STREAK_GROUPS
    for name in SEED_STREAK_GROUPS:
        seed, ours, group = seeds[name], shown[name], created[name]
        assert ours["id"] == group["id"]
        assert ours["orgId"] == seed["orgId"] == org.org_id
        assert ours["preferredTillId"] == seed["preferredTillId"]
        assert (ours["trackingType"], ours["targetEvaluationType"]) == (
            seed["trackingType"],
            seed["targetEvaluationType"],
        )
        row_keys = [
            "targetId",
            "periodRefCode",
            "periodStartDate",
            "periodEndDate",
            "targetValue",
            "targetAchievedValue",
            "targetName",
            "targetType",
            "targetEntity",
            "eventName",
            "targetAchievedDateTime",
            "currentPeriod",
            "milestones",
        ]
        assert [{key: row[key] for key in row_keys} for row in ours["targets"]] == [
            {key: row[key] for key in row_keys} for row in seed["targets"]
        ]
        assert [row["periodId"] for row in ours["targets"]] == [p["id"] for p in group["periods"]]
        assert {row["targetRuleId"] for row in ours["targets"]} == {group["targets"][0]["id"]}
        # Every level as the seed shows it (NOT_STARTED, 0, no date), with this org's ids,
        # and §17's streak-care fields: no freeze held, no run to end, nothing at risk.
        care = {"freezesHeld": 0, "runEndsAt": None, "atRisk": False}
        expected = [
            streak | {"streakId": level["id"], "streakAchievedUserTargetId": None} | care
            for streak, level in zip(seed["streaks"], group["streaks"], strict=True)
        ]
        assert ours["streaks"] == expected
        assert all(s["status"] == NOT_STARTED and s["currentCount"] == 0 for s in ours["streaks"])
        assert all(s["streakAchievedDateTime"] is None for s in ours["streaks"])
