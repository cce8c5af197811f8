"""Event statuses, idempotency, bulk calls, triggers, enrolment, late events and returns.

SPEC §5 (the seed scenario), §6.1, §8, §9 and §10, through POST /v3/events and
/v3/events/bulk; everything is asserted from the side effects the API answers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials

Json = dict[str, Any]
USER = 347286146
SEED_TIME = "2024-08-27T09:43:40.000Z"
NOW = datetime(2024, 8, 27, 10, 0, tzinfo=UTC)  # the pinned clock


def decoded(response: Response) -> Json:
    body: Json = json.loads(response.content, parse_float=Decimal)
    return body


def create(client: TestClient, org: OrgCredentials, body: Json) -> Json:
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    group: Json = response.json()["data"]
    return group


def spend_group(client: TestClient, org: OrgCredentials, *targets: Json, **changes: Any) -> Json:
    """Monthly periods Aug, Sep, Oct 2024 in the org's zone, holding ``targets``."""
    return create(
        client, org, monthly_spend(changes.pop("name", "Flow"), targets=list(targets), **changes)
    )


def daily_group(client: TestClient, org: OrgCredentials, *targets: Json, **changes: Any) -> Json:
    """Five daily periods from 2024-08-26 (Cycle_2 is 2024-08-27, the clock's day)."""
    fields = {
        "frequencyType": "DAILY",
        "totalPeriods": 5,
        "targetCycleStartDate": "2024-08-26T00:00:00.000",
        "targetCycleEndDate": "2024-08-30T23:59:59.000",
    }
    return spend_group(client, org, *targets, **(fields | changes))


def target(name: str, kpi: str = "SALES", value: Any = 1000, **fields: Any) -> Json:
    return {
        "name": name,
        "targetEntity": "TRANSACTION",
        "targetType": kpi,
        "defaultValue": value,
        **fields,
    }


def bill(
    event_id: str,
    amount: Any,
    *,
    at: str = SEED_TIME,
    user: int = USER,
    gross: Any = None,
    lines: list[Json] | None = None,
) -> Json:
    transaction: Json = {"billNumber": event_id, "billAmount": amount}
    if gross is not None:
        transaction["grossAmount"] = gross
    if lines is not None:
        transaction["lineItems"] = lines
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": at,
        "transaction": transaction,
    }


def giving_back(event_id: str, original: str, at: str = SEED_TIME, **back: Any) -> Json:
    return {
        "eventId": event_id,
        "eventName": "ReturnBill",
        "userId": USER,
        "eventTime": at,
        "return": {"originalEventId": original, **back},
    }


def post(client: TestClient, org: OrgCredentials, event: Json) -> Response:
    return client.post("/v3/events", json=event, auth=org.auth)


def send(client: TestClient, org: OrgCredentials, event: Json) -> Json:
    response = post(client, org, event)
    assert response.status_code == 200, response.text
    data: Json = decoded(response)["data"]
    return data


def bulk(client: TestClient, org: OrgCredentials, events: list[Any]) -> Json:
    response = client.post("/v3/events/bulk", json={"events": events}, auth=org.auth)
    assert response.status_code == 200, response.text
    data: Json = decoded(response)["data"]
    return data


def by_target(data: Json) -> dict[str, Json]:
    """The side effects of one event by target name (one each)."""
    names = [effect["targetName"] for effect in data["sideEffects"]]
    assert len(names) == len(set(names)), data
    return {effect["targetName"]: effect for effect in data["sideEffects"]}


def moved(effect: Json) -> tuple[Decimal, Decimal, Decimal]:
    """(before, this event, after) of one side effect."""
    return (
        effect["targetAchievedValueBeforeEvent"],
        effect["currentEventTargetValue"],
        effect["targetAchievedValueAfterEvent"],
    )


def only(data: Json) -> Json:
    assert data["status"] == "APPLIED", data
    assert len(data["sideEffects"]) == 1, data
    effect: Json = data["sideEffects"][0]
    return effect


def d(text: str) -> Decimal:
    return Decimal(text)


def names(triggers: list[Json] | None) -> set[str]:
    return {trigger["triggerName"] for trigger in triggers or []}


# SPEC §5: the seed's one purchase against the three kinds of window


def test_the_seed_purchase_fills_a_fixed_day_a_cyclic_cycle_and_two_agnostic_slots(
    client: TestClient, org: OrgCredentials
) -> None:
    seed = {
        "frequencyType": "DAILY",
        "totalPeriods": 5,
        "targetCycleStartDate": "2024-08-26T00:00:00.000",
        "targetCycleEndDate": "2024-08-31T23:59:59.000",
    }
    fixed = spend_group(client, org, target("t1Fixed", "GROSS_SALES"), name="t1Fixed", **seed)
    cyclic = spend_group(
        client,
        org,
        target("t1Cyclic", "GROSS_SALES"),
        name="t1Cyclic",
        targetEvaluationType="CYCLIC_WINDOW",
        **seed,
    )
    agnostic = spend_group(
        client,
        org,
        target("t1PA", "GROSS_SALES"),
        name="t1PA",
        targetEvaluationType="PERIOD_AGNOSTIC_WINDOW",
        **seed,
    )

    data = send(client, org, bill("B-1", 1200, gross=1200))

    assert data["status"] == "APPLIED"
    effects = data["sideEffects"]
    assert sorted(effect["targetName"] for effect in effects) == [
        "t1Cyclic",
        "t1Fixed",
        "t1PA",
        "t1PA",
    ]
    day = next(effect for effect in effects if effect["targetName"] == "t1Fixed")
    assert day["targetGroupId"] == fixed["id"]
    assert (day["periodRefCode"], day["periodStartDate"], day["periodEndDate"]) == (
        "Cycle_2",
        "2024-08-27",
        "2024-08-27",
    )
    assert day["definedTargetValue"] == 1000
    assert moved(day) == (0, 1200, 1200)
    assert day["targetAchieved"] is True
    assert day["targetAchievedDateTime"] == SEED_TIME

    cycle = next(effect for effect in effects if effect["targetName"] == "t1Cyclic")
    assert cycle["targetGroupId"] == cyclic["id"]
    assert cycle["periodRefCode"] == f"PERIOD_G_{cyclic['id']}_1"
    assert cycle["periodStartDateWithTimeStamp"] == "2024-08-27T09:43:40.000Z"
    assert cycle["periodEndDateWithTimeStamp"] == "2024-08-28T09:43:40.000Z"
    assert moved(cycle) == (0, 1200, 1200)
    assert cycle["targetAchieved"] is True

    slots = [effect for effect in effects if effect["targetName"] == "t1PA"]
    assert [slot["targetGroupId"] for slot in slots] == [agnostic["id"]] * 2
    assert [slot["periodRefCode"] for slot in slots] == [
        f"PERIOD_G_{agnostic['id']}_1",
        f"PERIOD_G_{agnostic['id']}_2",
    ]
    assert [moved(slot) for slot in slots] == [(0, 1000, 1000), (0, 200, 200)]
    assert [slot["targetAchieved"] for slot in slots] == [True, False]
    assert [slot["definedTargetValue"] for slot in slots] == [1000, 1000]


def test_agnostic_excess_past_the_last_slot_stays_on_the_last_slot(
    client: TestClient, org: OrgCredentials
) -> None:
    group = spend_group(
        client,
        org,
        target("slots", "SALES"),
        targetEvaluationType="PERIOD_AGNOSTIC_WINDOW",
        totalPeriods=2,
    )
    first = send(client, org, bill("B-1", 700))
    assert [moved(effect) for effect in first["sideEffects"]] == [(0, 700, 700)]
    second = send(client, org, bill("B-2", 1800))
    assert [effect["periodRefCode"] for effect in second["sideEffects"]] == [
        f"PERIOD_G_{group['id']}_1",
        f"PERIOD_G_{group['id']}_2",
    ]
    assert [moved(effect) for effect in second["sideEffects"]] == [
        (700, 300, 1000),
        (0, 1500, 1500),
    ]
    assert [effect["targetAchieved"] for effect in second["sideEffects"]] == [True, True]


def test_an_agnostic_slot_filled_exactly_leaves_the_next_slot_untouched(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("slots"), targetEvaluationType="PERIOD_AGNOSTIC_WINDOW")
    effect = only(send(client, org, bill("B-1", 1000)))
    assert moved(effect) == (0, 1000, 1000)
    assert effect["targetAchieved"] is True
    second = send(client, org, bill("B-2", 10))
    assert [(e["periodRefCode"][-2:], *moved(e)) for e in second["sideEffects"]] == [
        ("_2", 0, 10, 10)
    ]


def test_cyclic_cycles_run_24_hours_back_to_back_from_the_first_event(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    admin.set_org(database, org.org_id, retro_buffer_days=1)
    group = daily_group(
        client,
        org,
        target("cycles"),
        targetEvaluationType="CYCLIC_WINDOW",
        targetCycleEndDate="2024-08-31T23:59:59.000",
    )
    first = only(send(client, org, bill("B-1", 100)))
    clock.set(datetime(2024, 8, 28, 10, 0, tzinfo=UTC))
    last_of_cycle_1 = only(send(client, org, bill("B-2", 10, at="2024-08-28T09:43:39.999Z")))
    start_of_cycle_2 = only(send(client, org, bill("B-3", 1, at="2024-08-28T09:43:40.000Z")))

    cycle = f"PERIOD_G_{group['id']}_"
    assert (first["periodRefCode"], moved(first)) == (cycle + "1", (0, 100, 100))
    assert (last_of_cycle_1["periodRefCode"], moved(last_of_cycle_1)) == (
        cycle + "1",
        (100, 10, 110),
    )
    assert (start_of_cycle_2["periodRefCode"], moved(start_of_cycle_2)) == (
        cycle + "2",
        (0, 1, 1),
    )
    assert start_of_cycle_2["periodStartDateWithTimeStamp"] == "2024-08-28T09:43:40.000Z"
    assert start_of_cycle_2["periodEndDateWithTimeStamp"] == "2024-08-29T09:43:40.000Z"


@pytest.mark.parametrize(
    ("event_time", "ref_code"),
    [
        ("2024-07-31T18:29:59.999Z", None),  # 2024-07-31 23:59:59.999 in Kolkata
        ("2024-07-31T18:30:00.000Z", "Cycle_1"),  # 2024-08-01 00:00 in Kolkata
        ("2024-08-31T18:29:59.999Z", "Cycle_1"),
        ("2024-08-31T18:30:00.000Z", "Cycle_2"),
    ],
)
def test_an_event_at_a_period_boundary_counts_in_the_period_of_its_local_day(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    clock: Clock,
    event_time: str,
    ref_code: str | None,
) -> None:
    admin.set_org(database, org.org_id, retro_buffer_days=2)
    spend_group(client, org, target("spend"))
    clock.set(datetime(2024, 9, 1, 12, 0, tzinfo=UTC))
    data = send(client, org, bill("B-1", 10, at=event_time))
    if ref_code is None:
        assert (data["status"], data["sideEffects"]) == ("NO_MATCH", [])
    else:
        assert only(data)["periodRefCode"] == ref_code


def test_a_side_effect_shows_its_period_with_the_groups_boundaries(
    client: TestClient, org: OrgCredentials
) -> None:
    group = daily_group(client, org, target("daily"))
    effect = only(send(client, org, bill("B-1", 10)))
    period = next(p for p in group["periods"] if p["id"] == effect["periodId"])
    assert effect["periodRefCode"] == period["refCode"] == "Cycle_2"
    assert effect["periodStartDate"] == period["startDate"]
    assert effect["periodEndDate"] == period["endDate"]
    assert effect["periodStartDateWithTimeStamp"] == period["startDateWithTimeStamp"]
    # A local day runs 00:00:00.000 to 23:59:59.999 (SPEC §5).
    assert effect["periodEndDateWithTimeStamp"] == period["endDateWithTimeStamp"]
    assert period["endDateWithTimeStamp"] == "2024-08-27T18:29:59.999Z"


# SPEC §6.1: idempotency and bulk calls


def test_the_same_event_id_again_is_a_duplicate_and_changes_nothing(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("spend", value=5000))
    assert moved(only(send(client, org, bill("B-1", 1200)))) == (0, 1200, 1200)

    again = send(client, org, bill("B-1", 1200))
    assert again["status"] == "DUPLICATE"
    assert again["eventId"] == "B-1"
    assert again["sideEffects"] == []
    assert again["errors"] == []
    # Another event under the same eventId is a sender's bug: refused, not silently dropped.
    changed = post(client, org, bill("B-1", 3000))
    assert changed.status_code == 400
    assert changed.json()["data"]["status"] == "REJECTED"
    assert changed.json()["errors"][0]["code"] == 310140
    assert moved(only(send(client, org, bill("B-2", 100)))) == (1200, 100, 1300)


def test_event_ids_are_unique_per_org_not_across_orgs(
    client: TestClient, org: OrgCredentials, utc_org: OrgCredentials
) -> None:
    spend_group(client, org, target("spend"))
    spend_group(client, utc_org, target("spend"))
    assert send(client, org, bill("B-1", 100))["status"] == "APPLIED"
    assert send(client, utc_org, bill("B-1", 100))["status"] == "APPLIED"
    assert send(client, utc_org, bill("B-1", 100))["status"] == "DUPLICATE"


def test_the_same_event_id_twice_in_one_bulk_call_applies_once(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("spend", value=5000))
    data = bulk(client, org, [bill("B-1", 1200), bill("B-1", 1200), bill("B-2", 100)])
    assert [result["status"] for result in data["results"]] == [
        "APPLIED",
        "DUPLICATE",
        "APPLIED",
    ]
    assert data["results"][1]["sideEffects"] == []
    assert moved(data["results"][2]["sideEffects"][0]) == (1200, 100, 1300)
    assert data["summary"] == {
        "total": 3,
        "APPLIED": 2,
        "DUPLICATE": 1,
        "NO_MATCH": 0,
        "OUT_OF_WINDOW": 0,
        "REJECTED": 0,
    }


def test_the_same_return_again_is_a_duplicate_and_takes_back_nothing_more(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("spend", value=5000))
    send(client, org, bill("B-1", 1000))
    assert moved(only(send(client, org, giving_back("R-1", "B-1", amount=250)))) == (
        1000,
        -250,
        750,
    )
    again = send(client, org, giving_back("R-1", "B-1", amount=250))
    assert (again["status"], again["sideEffects"]) == ("DUPLICATE", [])
    assert moved(only(send(client, org, bill("B-2", 50)))) == (750, 50, 800)


def test_a_rejected_event_is_not_kept_and_can_be_sent_again(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    spend_group(client, org, target("spend", value=5000))
    early = bill("B-1", 100, at="2024-08-27T11:00:00Z")
    assert post(client, org, early).status_code == 400
    clock.set(datetime(2024, 8, 27, 11, 30, tzinfo=UTC))
    assert moved(only(send(client, org, early))) == (0, 100, 100)


def test_a_bill_and_its_return_in_one_bulk_call_both_apply(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("sales", value=5000), target("bills", "COUNT", 10))
    data = bulk(
        client,
        org,
        [
            bill("B-1", 1000),
            giving_back("R-1", "B-1", amount=250),
            giving_back("R-2", "B-1", amount=750),
        ],
    )
    assert [result["status"] for result in data["results"]] == ["APPLIED"] * 3
    partial = by_target(data["results"][1])
    assert moved(partial["sales"]) == (1000, -250, 750)
    rest = by_target(data["results"][2])
    assert moved(rest["sales"]) == (750, -750, 0)
    assert moved(rest["bills"]) == (1, -1, 0)


def test_a_bill_and_its_revoking_return_in_one_bulk_call_each_show_their_own_moment(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=True)
    half = [{"triggerName": "half", "triggerValueType": "PERCENTAGE", "triggerValue": 50}]
    spend_group(client, org, target("sales", targetMilestoneTriggers=half))

    data = bulk(client, org, [bill("B-1", 1200), giving_back("R-1", "B-1")])

    assert [result["status"] for result in data["results"]] == ["APPLIED"] * 2
    bought, returned = (only(result) for result in data["results"])
    assert bought["targetAchieved"] is True
    assert bought["targetAchievedDateTime"] == SEED_TIME
    assert {(m["triggerName"], m["achievedDateTime"]) for m in bought["milestonesAchieved"]} == {
        ("targetAchieved", SEED_TIME),
        ("half", SEED_TIME),
    }
    assert moved(returned) == (1200, -1200, 0)
    assert returned["targetAchievementRevoked"] is True
    assert returned["targetAchievedDateTime"] is None
    assert names(returned["milestonesRevoked"]) == {"targetAchieved", "half"}


def test_a_bulk_call_applies_the_good_events_and_rejects_each_bad_one_naming_its_field(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("spend", value=5000))
    five_minutes_on = (NOW + timedelta(minutes=5, seconds=1)).isoformat()
    without_name = bill("M-1", 10)
    del without_name["eventName"]
    wrong_types = bill("M-2", "lots") | {"userId": "seven"}
    without_bill = bill("M-3", 10)
    del without_bill["transaction"]
    from_the_future = bill("M-4", 10, at=five_minutes_on)
    unreadable_time = bill("M-5", 10, at="yesterday")
    events = [
        bill("G-1", 100),
        without_name,
        wrong_types,
        "not an event",
        without_bill,
        from_the_future,
        unreadable_time,
        bill("G-2", 250),
    ]

    data = bulk(client, org, events)

    results = data["results"]
    assert [result["status"] for result in results] == ["APPLIED"] + ["REJECTED"] * 6 + ["APPLIED"]
    assert [result["eventId"] for result in results] == [
        "G-1",
        "M-1",
        "M-2",
        None,
        "M-3",
        "M-4",
        "M-5",
        "G-2",
    ]
    fields = [{error.get("field") for error in result["errors"]} for result in results]
    assert fields[1] == {"eventName"}
    assert fields[2] == {"userId", "transaction.billAmount"}
    assert results[3]["errors"] and results[3]["errors"][0]["message"]
    assert fields[4] == {"transaction"}
    assert fields[5] == {"eventTime"}
    assert fields[6] == {"eventTime"}
    for result in results[1:7]:
        assert result["sideEffects"] == []
        assert all(error["code"] == 300004 and error["message"] for error in result["errors"])
    assert moved(results[0]["sideEffects"][0]) == (0, 100, 100)
    assert moved(results[7]["sideEffects"][0]) == (100, 250, 350)
    assert data["summary"] == {
        "total": 8,
        "APPLIED": 2,
        "DUPLICATE": 0,
        "NO_MATCH": 0,
        "OUT_OF_WINDOW": 0,
        "REJECTED": 6,
    }


@pytest.mark.parametrize(
    ("event_time", "status"),
    [
        ("2024-08-27T10:05:00.000Z", "APPLIED"),
        ("2024-08-27T15:35:00.000+05:30", "APPLIED"),
        ("2024-08-27T10:05:00.001Z", "REJECTED"),
        ("2024-08-27T15:35:01", "REJECTED"),  # org local time, Asia/Kolkata
        ("2024-08-28T09:00:00.000Z", "REJECTED"),
    ],
)
def test_an_event_stamped_more_than_five_minutes_after_now_is_rejected(
    client: TestClient, org: OrgCredentials, event_time: str, status: str
) -> None:
    spend_group(client, org, target("spend"))
    response = post(client, org, bill("B-1", 10, at=event_time))
    data = decoded(response)["data"]
    assert data["status"] == status
    if status == "REJECTED":
        assert response.status_code == 400
        assert data["sideEffects"] == []
        assert [error.get("field") for error in data["errors"]] == ["eventTime"]
        assert [error.get("field") for error in decoded(response)["errors"]] == ["eventTime"]
    else:
        assert response.status_code == 200


@pytest.mark.parametrize(("count", "status"), [(1000, 200), (1001, 413)])
def test_a_bulk_call_takes_at_most_1000_events(
    client: TestClient, org: OrgCredentials, count: int, status: int
) -> None:
    spend_group(client, org, target("bills", "COUNT", 5000))
    events = [bill(f"B-{number}", 1) for number in range(count)]
    response = client.post("/v3/events/bulk", json={"events": events}, auth=org.auth)
    # SPEC §2: "413 body or batch too large"; §3: bulk takes at most 1,000.
    assert response.status_code == status, response.text[:300]
    if status == 200:
        assert decoded(response)["data"]["summary"]["APPLIED"] == 1000
        return
    assert response.json()["errors"], response.text[:300]
    assert moved(only(send(client, org, bill("after", 1)))) == (0, 1, 1)


# SPEC §9: triggers and achievement


def test_milestone_triggers_are_achieved_once_each_by_the_event_that_crosses_them(
    client: TestClient, org: OrgCredentials
) -> None:
    triggers = [
        {"triggerName": "half way", "triggerValueType": "PERCENTAGE", "triggerValue": 50},
        {"triggerName": "seven hundred", "triggerValueType": "ABSOLUTE", "triggerValue": 700},
    ]
    spend_group(client, org, target("spend", targetMilestoneTriggers=triggers))
    steps = [
        (400, set(), d("400"), False),
        (100, {"half way"}, d("500"), False),  # exactly 50 %
        (199.999, set(), d("699.999"), False),
        (0.001, {"seven hundred"}, d("700"), False),  # exactly 700
        (299.999, set(), d("999.999"), False),
        (0.001, {"targetAchieved"}, d("1000"), True),  # exactly the target value
        (500, set(), d("1500"), False),
    ]
    for number, (amount, crossed, after, achieved) in enumerate(steps):
        effect = only(
            send(client, org, bill(f"B-{number}", amount, at=f"2024-08-27T0{number}:00:00Z"))
        )
        assert names(effect["milestonesAchieved"]) == crossed, amount
        assert effect["targetAchievedValueAfterEvent"] == after
        assert effect["targetAchieved"] is achieved
        for milestone in effect["milestonesAchieved"]:
            assert milestone["achievedDateTime"] == f"2024-08-27T0{number}:00:00.000Z"


@pytest.mark.parametrize(
    "event_time",
    [
        "2024-08-27T08:00:00.250Z",
        "2024-08-27T13:30:00.250+05:30",
        "2024-08-27T13:30:00.250+0530",
        "2024-08-27T13:30:00.250",  # no offset: the org's local time
    ],
)
def test_the_achievement_time_is_the_events_time_not_its_arrival(
    client: TestClient, org: OrgCredentials, event_time: str
) -> None:
    spend_group(client, org, target("spend"))
    effect = only(send(client, org, bill("B-1", 1000, at=event_time)))
    assert effect["targetAchieved"] is True
    assert effect["targetAchievedDateTime"] == "2024-08-27T08:00:00.250Z"
    later = only(send(client, org, bill("B-2", 5, at="2024-08-27T09:00:00Z")))
    assert later["targetAchieved"] is False
    assert later["targetAchievedDateTime"] == "2024-08-27T08:00:00.250Z"


@pytest.mark.parametrize(
    ("amounts", "achieved_by"),
    [([999.999], None), ([1000], 0), ([999.999, 0.001], 1), ([400, 1200], 1)],
)
def test_a_target_is_achieved_when_its_value_reaches_the_target(
    client: TestClient, org: OrgCredentials, amounts: list[float], achieved_by: int | None
) -> None:
    spend_group(client, org, target("spend"))
    achieved = [
        only(send(client, org, bill(f"B-{number}", amount)))["targetAchieved"]
        for number, amount in enumerate(amounts)
    ]
    assert achieved == [number == achieved_by for number in range(len(amounts))]


# SPEC §8: enrolment


def enrol(client: TestClient, org: OrgCredentials, group: Json, body: Json) -> None:
    path = f"/v3.1/targetGroups/{group['id']}/targets/{group['targets'][0]['id']}/enroll"
    response = client.post(path, json=body, auth=org.auth)
    assert response.status_code == 200, response.text


def test_an_import_target_counts_only_enrolled_customers_with_their_own_values(
    client: TestClient, org: OrgCredentials
) -> None:
    group = spend_group(client, org, target("imported", enrolmentMethod="IMPORT"))
    enrol(client, org, group, {"userId": 1, "targetValue": 500, "initialValue": 100})
    enrol(client, org, group, {"userId": 2})

    stranger = send(client, org, bill("B-3", 300, user=3))
    assert stranger["status"] == "NO_MATCH"
    assert stranger["sideEffects"] == []

    own = only(send(client, org, bill("B-1", 300, user=1)))
    assert own["definedTargetValue"] == 500
    assert moved(own) == (100, 300, 400)
    assert own["targetAchieved"] is False
    reached = only(send(client, org, bill("B-1b", 100, user=1)))
    assert moved(reached) == (400, 100, 500)
    assert reached["targetAchieved"] is True

    plain = only(send(client, org, bill("B-2", 300, user=2)))
    assert plain["definedTargetValue"] == 1000
    assert moved(plain) == (0, 300, 300)


def test_a_percentage_trigger_follows_the_customers_own_target_value(
    client: TestClient, org: OrgCredentials
) -> None:
    half = [{"triggerName": "half way", "triggerValueType": "PERCENTAGE", "triggerValue": 50}]
    group = spend_group(
        client, org, target("imported", enrolmentMethod="IMPORT", targetMilestoneTriggers=half)
    )
    enrol(client, org, group, {"userId": 1, "targetValue": 400})
    below = only(send(client, org, bill("B-1", 199.999, user=1)))
    assert below["milestonesAchieved"] == []
    crossed = only(send(client, org, bill("B-2", 0.001, user=1)))
    assert names(crossed["milestonesAchieved"]) == {"half way"}
    done = only(send(client, org, bill("B-3", 200, user=1)))
    assert names(done["milestonesAchieved"]) == {"targetAchieved"}
    assert done["targetAchieved"] is True


def test_an_audience_filter_target_counts_only_current_members(
    client: TestClient, org: OrgCredentials
) -> None:
    created = client.post("/v3/audienceGroups", json={"name": "VIP", "userIds": [1]}, auth=org.auth)
    assert created.status_code == 201, created.text
    audience = created.json()["data"]["id"]
    spend_group(
        client,
        org,
        target(
            "members",
            enrolmentMethod="AUDIENCE_FILTER",
            targetAudienceFilter=[{"audienceGroupId": audience}],
        ),
    )

    def members(user_ids: list[int], mode: str) -> None:
        path = f"/v3/audienceGroups/{audience}/members"
        response = client.put(path, json={"userIds": user_ids, "mode": mode}, auth=org.auth)
        assert response.status_code == 200, response.text

    def status(event_id: str, user: int) -> str:
        data = send(client, org, bill(event_id, 100, user=user))
        assert (data["status"] == "APPLIED") is bool(data["sideEffects"])
        result: str = data["status"]
        return result

    assert [status("A-1", 1), status("A-2", 2)] == ["APPLIED", "NO_MATCH"]
    members([2], "ADD")
    assert [status("B-1", 1), status("B-2", 2)] == ["APPLIED", "APPLIED"]
    members([1], "REMOVE")
    assert [status("C-1", 1), status("C-2", 2)] == ["NO_MATCH", "APPLIED"]
    members([1], "REPLACE")
    assert [status("D-1", 1), status("D-2", 2)] == ["APPLIED", "NO_MATCH"]


def test_a_transaction_enrolment_target_counts_every_customer(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("everyone"))
    for user in (1, 2, 3):
        effect = only(send(client, org, bill(f"B-{user}", 100 * user, user=user)))
        assert effect["userId"] == user
        assert effect["definedTargetValue"] == 1000
        assert moved(effect) == (0, 100 * user, 100 * user)


# SPEC §10: late events


@pytest.mark.parametrize(
    ("retro_days", "event_time", "status", "day"),
    [
        (0, "2024-08-26T10:00:00Z", "OUT_OF_WINDOW", None),  # yesterday's period has ended
        (2, "2024-08-26T10:00:00Z", "APPLIED", "2024-08-26"),
        (1, "2024-08-26T18:29:59.999Z", "APPLIED", "2024-08-26"),
        (1, "2024-08-26T10:00:00Z", "APPLIED", "2024-08-26"),
        (2, "2024-08-27T09:00:00Z", "APPLIED", "2024-08-27"),
        (0, "2024-08-27T09:00:00Z", "APPLIED", "2024-08-27"),
    ],
)
def test_an_event_for_an_ended_period_counts_only_within_the_retro_buffer(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    retro_days: int,
    event_time: str,
    status: str,
    day: str | None,
) -> None:
    admin.set_org(database, org.org_id, retro_buffer_days=retro_days)
    daily_group(client, org, target("daily"))
    data = send(client, org, bill("B-1", 100, at=event_time))
    assert data["status"] == status
    if day is None:
        assert data["sideEffects"] == []
    else:
        effect = only(data)
        assert (effect["periodStartDate"], effect["periodEndDate"]) == (day, day)
        assert moved(effect) == (0, 100, 100)


@pytest.mark.parametrize(
    ("arrival", "status"),
    [
        (datetime(2024, 9, 1, 10, 0, tzinfo=UTC), "APPLIED"),
        (datetime(2024, 9, 2, 18, 29, 59, tzinfo=UTC), "APPLIED"),  # 1 s inside 2 days
        (datetime(2024, 9, 2, 18, 30, 1, tzinfo=UTC), "OUT_OF_WINDOW"),
    ],
)
def test_a_late_event_is_placed_by_its_event_time_not_its_arrival(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    clock: Clock,
    arrival: datetime,
    status: str,
) -> None:
    admin.set_org(database, org.org_id, retro_buffer_days=2)
    spend_group(client, org, target("spend"))
    clock.set(arrival)
    # 2024-08-31 23:30 in Kolkata: the last half hour of the August period.
    data = send(client, org, bill("B-1", 300, at="2024-08-31T18:00:00Z"))
    assert data["status"] == status
    if status == "APPLIED":
        effect = only(data)
        assert (effect["periodRefCode"], effect["periodStartDate"]) == ("Cycle_1", "2024-08-01")
        assert moved(effect) == (0, 300, 300)
    else:
        assert data["sideEffects"] == []
    current = only(send(client, org, bill("B-2", 50, at="2024-09-01T09:00:00Z")))
    assert (current["periodRefCode"], current["periodStartDate"]) == ("Cycle_2", "2024-09-01")
    assert moved(current) == (0, 50, 50)


# SPEC §10: returns


ONE_LINE: Json = {"itemCode": "SKU1", "qty": 4, "amount": 1000, "grossAmount": 1200}
RETURNS_TARGETS = (
    target("sales", "SALES", 10000),
    target("gross", "GROSS_SALES", 10000),
    target("bills", "COUNT", 10),
)


@pytest.mark.parametrize(
    "back", [{}, {"amount": 1000}, {"lineItems": [{"itemCode": "SKU1", "amount": 1000}]}]
)
def test_a_full_return_takes_back_the_whole_contribution(
    client: TestClient, org: OrgCredentials, back: Json
) -> None:
    spend_group(client, org, *RETURNS_TARGETS)
    send(client, org, bill("B-1", 1000, gross=1200, lines=[ONE_LINE]))
    data = send(client, org, giving_back("R-1", "B-1", **back))
    assert data["status"] == "APPLIED"
    effects = by_target(data)
    assert {name: moved(effect) for name, effect in effects.items()} == {
        "sales": (1000, -1000, 0),
        "gross": (1200, -1200, 0),
        "bills": (1, -1, 0),
    }
    assert {effect["contributionType"] for effect in effects.values()} == {"RETURN"}
    assert {effect["periodRefCode"] for effect in effects.values()} == {"Cycle_1"}


@pytest.mark.parametrize(
    "back", [{"amount": 250}, {"lineItems": [{"itemCode": "SKU1", "qty": 1, "amount": 250}]}]
)
def test_a_partial_return_takes_back_its_share_of_each_kpi(
    client: TestClient, org: OrgCredentials, back: Json
) -> None:
    spend_group(client, org, *RETURNS_TARGETS)
    send(client, org, bill("B-1", 1000, gross=1200, lines=[ONE_LINE]))
    data = send(client, org, giving_back("R-1", "B-1", **back))
    assert data["status"] == "APPLIED"
    effects = by_target(data)
    assert moved(effects["sales"]) == (1000, -250, 750)
    assert moved(effects["gross"]) == (1200, -300, 900)
    # A COUNT target loses the bill only on a full return.
    assert "bills" not in effects or moved(effects["bills"]) == (1, 0, 1)


def test_partial_returns_adding_up_to_the_bill_take_back_exactly_what_it_brought(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, *RETURNS_TARGETS)
    send(client, org, bill("B-1", 999, gross=1000))
    first = by_target(send(client, org, giving_back("R-1", "B-1", amount=333)))
    assert moved(first["sales"]) == (999, -333, 666)
    assert moved(first["gross"]) == (1000, d("-333.333"), d("666.667"))
    assert "bills" not in first or moved(first["bills"]) == (1, 0, 1)
    second = by_target(send(client, org, giving_back("R-2", "B-1", amount=666)))
    assert moved(second["sales"]) == (666, -666, 0)
    assert moved(second["gross"]) == (d("666.667"), d("-666.667"), 0)
    assert moved(second["bills"]) == (1, -1, 0)


@pytest.mark.parametrize(
    ("earlier", "refused", "field"),
    [
        ([], giving_back("R-9", "B-404"), "return.originalEventId"),
        ([{}], giving_back("R-9", "B-1"), "return.originalEventId"),
        ([{"amount": 1000}], giving_back("R-9", "B-1", amount=1), "return.originalEventId"),
        ([{"amount": 600}], giving_back("R-9", "B-1", amount=500), "return.amount"),
        ([], giving_back("R-9", "B-1", amount=1000.001), "return.amount"),
        ([], giving_back("R-9", "B-1") | {"userId": 1}, "userId"),
    ],
    ids=[
        "an unknown bill",
        "a bill returned in full",
        "a bill returned in full by amount",
        "more than remains",
        "more than the bill",
        "another customer's bill",
    ],
)
def test_a_return_that_cannot_apply_is_rejected_with_a_reason(
    client: TestClient, org: OrgCredentials, earlier: list[Json], refused: Json, field: str
) -> None:
    spend_group(client, org, *RETURNS_TARGETS)
    send(client, org, bill("B-1", 1000, gross=1200))
    for number, back in enumerate(earlier):
        assert send(client, org, giving_back(f"R-{number}", "B-1", **back))["status"] == "APPLIED"

    response = post(client, org, refused)

    assert response.status_code == 400, response.text
    data = decoded(response)["data"]
    assert data["status"] == "REJECTED"
    assert data["sideEffects"] == []
    assert [error.get("field") for error in data["errors"]] == [field]
    assert data["errors"][0]["message"]


def test_a_rejected_return_changes_nothing(client: TestClient, org: OrgCredentials) -> None:
    spend_group(client, org, *RETURNS_TARGETS)
    send(client, org, bill("B-1", 1000, gross=1200))
    send(client, org, giving_back("R-1", "B-1", amount=600))
    assert post(client, org, giving_back("R-2", "B-1", amount=500)).status_code == 400
    rest = by_target(send(client, org, giving_back("R-3", "B-1", amount=400)))
    assert moved(rest["sales"]) == (400, -400, 0)
    assert moved(rest["gross"]) == (480, -480, 0)
    assert moved(rest["bills"]) == (1, -1, 0)


@pytest.mark.parametrize(
    ("today", "sales", "bills"),
    [
        (None, (0, -1000, -1000), (0, -1, -1)),
        (400, (400, -1000, -600), (1, -1, 0)),
    ],
    ids=["nothing yet today", "a purchase today"],
)
def test_a_return_after_the_original_period_closed_is_carried_into_the_current_one(
    client: TestClient,
    org: OrgCredentials,
    clock: Clock,
    today: int | None,
    sales: tuple[int, int, int],
    bills: tuple[int, int, int],
) -> None:
    clock.set(datetime(2024, 8, 26, 10, 0, tzinfo=UTC))
    daily_group(client, org, target("sales", "SALES", 10000), target("bills", "COUNT", 10))
    original = by_target(send(client, org, bill("B-1", 1000, at="2024-08-26T09:00:00Z")))
    assert original["sales"]["periodStartDate"] == "2024-08-26"
    clock.set(NOW)
    if today is not None:
        send(client, org, bill("B-2", today, at="2024-08-27T09:00:00Z"))

    data = send(client, org, giving_back("R-1", "B-1", at="2024-08-27T09:30:00Z"))

    assert data["status"] == "APPLIED"
    effects = by_target(data)
    assert {effect["contributionType"] for effect in effects.values()} == {"CARRY"}
    assert {effect["periodStartDate"] for effect in effects.values()} == {"2024-08-27"}
    assert {effect["periodRefCode"] for effect in effects.values()} == {"Cycle_2"}
    assert moved(effects["sales"]) == sales
    assert moved(effects["bills"]) == bills


def test_a_return_within_the_retro_buffer_goes_back_to_the_original_period(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    admin.set_org(database, org.org_id, retro_buffer_days=2)
    clock.set(datetime(2024, 8, 26, 10, 0, tzinfo=UTC))
    daily_group(client, org, target("sales", "SALES", 10000))
    send(client, org, bill("B-1", 1000, at="2024-08-26T09:00:00Z"))
    clock.set(NOW)
    effect = only(send(client, org, giving_back("R-1", "B-1", amount=300, at=SEED_TIME)))
    assert effect["contributionType"] == "RETURN"
    assert effect["periodStartDate"] == "2024-08-26"
    assert moved(effect) == (1000, -300, 700)


TRIGGERS = [
    {"triggerName": "half way", "triggerValueType": "PERCENTAGE", "triggerValue": 50},
    {"triggerName": "seven hundred", "triggerValueType": "ABSOLUTE", "triggerValue": 700},
]


def test_with_revoke_on_return_a_return_below_the_target_revokes_the_achievement(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=True)
    spend_group(client, org, target("spend", targetMilestoneTriggers=TRIGGERS))
    achieved = only(send(client, org, bill("B-1", 1000, at="2024-08-27T08:00:00Z")))
    assert names(achieved["milestonesAchieved"]) == {"targetAchieved", "half way", "seven hundred"}

    returned = only(send(client, org, giving_back("R-1", "B-1", amount=400)))

    assert moved(returned) == (1000, -400, 600)
    assert returned["targetAchievementRevoked"] is True
    assert names(returned["milestonesRevoked"]) == {"targetAchieved", "seven hundred"}
    assert returned["targetAchievedDateTime"] is None
    assert returned["milestonesAchieved"] == []

    again = only(send(client, org, bill("B-2", 400, at="2024-08-27T09:50:00Z")))
    assert moved(again) == (600, 400, 1000)
    assert again["targetAchieved"] is True
    assert again["targetAchievedDateTime"] == "2024-08-27T09:50:00.000Z"
    assert names(again["milestonesAchieved"]) == {"targetAchieved", "seven hundred"}


def test_without_revoke_on_return_an_achievement_stays_after_a_return(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, target("spend", targetMilestoneTriggers=TRIGGERS))
    send(client, org, bill("B-1", 1000, at="2024-08-27T08:00:00Z"))

    returned = only(send(client, org, giving_back("R-1", "B-1", amount=400)))

    assert moved(returned) == (1000, -400, 600)
    assert returned.get("targetAchievementRevoked", False) is False
    assert returned.get("milestonesRevoked", []) == []
    assert returned["targetAchievedDateTime"] == "2024-08-27T08:00:00.000Z"
    again = only(send(client, org, bill("B-2", 400, at="2024-08-27T09:50:00Z")))
    assert again["targetAchieved"] is False
    assert again["milestonesAchieved"] == []
    assert again["targetAchievedDateTime"] == "2024-08-27T08:00:00.000Z"


# Changes to a group reach the engine


@pytest.mark.parametrize("clock_moves", [False, True], ids=["clock pinned", "clock moves"])
@pytest.mark.parametrize(
    "change",
    [
        {"targets": [{"active": False}]},
        {"targets": [{"expression": "currentTxn.value > 500"}]},
        {"active": False},
    ],
    ids=["target deactivated", "expression changed", "group deactivated"],
)
def test_an_update_to_a_group_applies_to_the_next_event(
    client: TestClient, org: OrgCredentials, clock: Clock, change: Json, clock_moves: bool
) -> None:
    group = spend_group(client, org, target("spend"))
    assert send(client, org, bill("B-1", 100))["status"] == "APPLIED"
    if clock_moves:
        clock.advance(timedelta(seconds=1))
    body = json.loads(json.dumps(change))
    for entry in body.get("targets", []):
        entry["id"] = group["targets"][0]["id"]
    response = client.put(f"/v3/targetGroups/{group['id']}", json=body, auth=org.auth)
    assert response.status_code == 200, response.text

    data = send(client, org, bill("B-2", 100))

    assert (data["status"], data["sideEffects"]) == ("NO_MATCH", [])
