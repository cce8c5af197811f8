"""The user view, GET /v3.1/users/{userId}/targetGroups (SPEC §12).

The first test rebuilds the situation of the seed's example response
(``002_d3ba9093e9fee7eb.txt``): org 50363 in Asia/Kolkata, its nine groups, customer
347286146 with one 1,200 purchase against t1Fixed, t1Cyclic and t1PA, read on
2024-08-30 at 09:21:43.741 UTC, and compares the whole answer with the seed's, key by key.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import event

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials, make_org
from tests.fixtures import seed_user_view_response

Json = dict[str, Any]
USER = 347286146
NOW = datetime(2024, 8, 30, 9, 21, 43, 741000, tzinfo=UTC)
PURCHASE_AT = "2024-08-27T09:43:40.000Z"
NOT_FOUND = 300012


def seed_response() -> Json:
    """The seed's example response: the JSON block after the "Response" table."""
    return seed_user_view_response()


def decoded(response: Response) -> Json:
    assert response.status_code == 200, response.text
    body: Json = json.loads(response.content, parse_float=Decimal)
    return body


def view(client: TestClient, org: OrgCredentials, user: int = USER, **params: Any) -> Json:
    response = client.get(f"/v3.1/users/{user}/targetGroups", params=params, auth=org.auth)
    data: Json = decoded(response)["data"]
    return data


def bill(event_id: str, at: str, amount: int = 1200, user: int = USER) -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount, "grossAmount": amount},
    }


def send(client: TestClient, org: OrgCredentials, event: Json) -> Json:
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text
    data: Json = response.json()["data"]
    return data


def create(client: TestClient, org: OrgCredentials, body: Json) -> Json:
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    group: Json = response.json()["data"]
    return group


# --- The seed's situation ---------------------------------------------------------------


def _target(name: str, kpi: str, value: int, **fields: Any) -> Json:
    return {
        "name": name,
        "targetEntity": "TRANSACTION",
        "targetType": kpi,
        "defaultValue": value,
        **fields,
    }


def _fixed(name: str, periods: list[tuple[str, str, str]], target: Json, **fields: Any) -> Json:
    return {
        "name": name,
        "trackingType": "DEFAULT",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "DAILY",
        "frequency": 1,
        "totalPeriods": len(periods),
        "recurringCycles": -1,
        "preferredTillId": 50150886,
        "periods": [{"refCode": r, "startDate": s, "endDate": e} for r, s, e in periods],
        "targets": [target],
        **fields,
    }


def _streaks(*levels: tuple[str, int]) -> Json:
    return {
        "trackingType": "STREAKS",
        "preferredTillId": 50697469,
        "streaks": [{"name": name, "targetCountOfSequence": count} for name, count in levels],
    }


def _dated(name: str, evaluation: str, start: str) -> Json:
    return {
        "name": name,
        "trackingType": "DEFAULT",
        "targetEvaluationType": evaluation,
        "frequencyType": "DAILY",
        "frequency": 1,
        "totalPeriods": 5,
        "recurringCycles": -1,
        "preferredTillId": 50150886,
        "targetCycleStartDate": f"{start}T00:00:00.000",
        "targetCycleEndDate": "2024-09-01T00:00:00.000",
        "targets": [_target(name, "GROSS_SALES", 1000)],
    }


# (seed group id, created on, create body), in the order they were created.
SEED_GROUPS: list[tuple[int, str, Json]] = [
    (
        33008,
        "2024-04-30T13:15:44Z",
        _fixed(
            "Ac test",
            [("Cycle_1", "2024-04-30", "2024-05-29")],
            _target("Ac test", "GROSS_SALES", 1000),
        ),
    ),
    (
        38135,
        "2024-05-30T14:06:40Z",
        _fixed(
            "generictest",
            [("Cycle_1", "2024-05-29", "2024-06-28")],
            _target("generictest", "COUNT", 2, targetEntity="EVENT", eventName="test"),
        ),
    ),
    (
        39540,
        "2024-06-11T11:33:00Z",
        _fixed(
            "1000test",
            [("Cycle_1", "2024-06-01", "2024-06-30")],
            _target("1000test", "GROSS_SALES", 1500),
        ),
    ),
    (
        42775,
        "2024-07-01T13:57:23Z",
        _fixed(
            "streakTest5",
            [("period4445", "2024-06-01", "2024-06-05")],
            _target("streaksTarget5", "COUNT", 4),
            **_streaks(("streaks_dummy5", 1)),
        ),
    ),
    (
        42788,
        "2024-07-01T14:04:16Z",
        _fixed(
            "streakTest6",
            [("period44457", "2024-07-01", "2024-07-05")],
            _target("streaksTarget7", "COUNT", 4),
            **_streaks(("streaks_dummy7", 1)),
        ),
    ),
    (
        51922,
        "2024-08-16T11:11:07Z",
        _fixed(
            "streakTest112",
            [
                ("period4445", "2024-08-16", "2024-08-17"),
                ("period44456", "2024-08-18", "2024-08-19"),
            ],
            _target("streaksTargetttt", "COUNT", 2),
            **_streaks(("streaks_dummffy", 1), ("streaks_dummffffy", 2)),
        ),
    ),
    (53230, "2024-08-27T09:41:56Z", _dated("t1Fixed", "FIXED_CALENDAR_WINDOW", "2024-08-26")),
    (53235, "2024-08-27T09:42:52Z", _dated("t1Cyclic", "CYCLIC_WINDOW", "2024-08-27")),
    (53236, "2024-08-27T09:43:26Z", _dated("t1PA", "PERIOD_AGNOSTIC_WINDOW", "2024-08-24")),
]
SEED_PROFILE = {
    "firstName": "919111122111",
    "lastName": "919111122111",
    "commChannels": [
        {"type": "email", "value": "[email\u00a0protected]"},
        {"type": "mobile", "value": "918111255499"},
    ],
    "source": "instore",
    "accountId": "",
    "orgSourceId": -1,
}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def build_seed_situation(client: TestClient, org: OrgCredentials, clock: Clock) -> dict[int, Json]:
    """The seed's groups, customer and purchases; returns our group for each seed group id."""
    ours = {}
    for seed_id, created_on, body in SEED_GROUPS:
        clock.set(_instant(created_on))
        ours[seed_id] = create(client, org, body)
    clock.set(_instant("2024-08-27T09:35:24Z"))
    customer = {"profiles": [SEED_PROFILE], "loyaltyType": "loyalty", "customFields": {}}
    assert client.put(f"/v3/customers/{USER}", json=customer, auth=org.auth).status_code == 200
    clock.set(_instant("2024-08-27T09:43:41Z"))
    assert send(client, org, bill("B-0", "2024-08-20T10:00:00.000Z"))["status"] == "NO_MATCH"
    assert send(client, org, bill("B-1", PURCHASE_AT))["status"] == "APPLIED"
    clock.set(NOW)
    return ours


# --- Comparing with the seed key by key ---------------------------------------------------

# Where the seed has only nulls but this engine knows a value, and why.
KNOWN_VALUES = {
    # The seed's customer was made by a till with no code or name; here the API client did.
    "data.customer.loyaltyInfo.attribution.createdBy.code",
    "data.customer.loyaltyInfo.attribution.createdBy.description",
    "data.customer.loyaltyInfo.attribution.createdBy.name",
    "data.customer.loyaltyInfo.attribution.createdBy.type",
    "data.customer.loyaltyInfo.attribution.lastUpdatedBy.code",
    "data.customer.loyaltyInfo.attribution.lastUpdatedBy.description",
    "data.customer.loyaltyInfo.attribution.lastUpdatedBy.name",
    "data.customer.loyaltyInfo.attribution.lastUpdatedBy.type",
    # SPEC §2: the envelope's errors and warnings are lists, empty on success.
    "errors",
    "warnings",
}


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def keyed(body: Json, group_ids: dict[str, int]) -> Json:
    """Lists with an identity become objects: groups by name, targets by refCode, streaks by name.

    Seed refCodes of cyclic and agnostic slots carry the seed's group id; ``group_ids`` maps
    each group name to the id that stands in its place.
    """
    body = copy.deepcopy(body)
    for group in body["data"]["targetGroups"]:
        prefix = f"PERIOD_G_{group['id']}_"
        stand_in = f"PERIOD_G_{group_ids[group['name']]}_"
        group["targets"] = {
            target["periodRefCode"].replace(prefix, stand_in): target for target in group["targets"]
        }
        if "streaks" in group:
            group["streaks"] = {streak["streakName"]: streak for streak in group["streaks"]}
    body["data"]["targetGroups"] = {group["name"]: group for group in body["data"]["targetGroups"]}
    return body


def types_by_path(node: object, path: str = "", into: dict[str, set[str]] | None = None) -> Any:
    """Every JSON type the seed shows at each path (list items and keyed entries as ``*``)."""
    into = {} if into is None else into
    if isinstance(node, dict):
        for key, value in node.items():
            types_by_path(value, _join(path, key), into)
    elif isinstance(node, list):
        for item in node:
            types_by_path(item, f"{path}[*]", into)
    into.setdefault(_generic(path), set()).add(json_type(node))
    return into


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _generic(path: str) -> str:
    parts = path.split(".")
    keyed_lists = ("targetGroups", "targets", "streaks")
    return ".".join(
        "*" if index and parts[index - 1] in keyed_lists else part
        for index, part in enumerate(parts)
    )


def compare_keys(seed: object, ours: object, types: dict[str, set[str]], path: str = "") -> None:
    """Every key of the seed is in ours, at every level, holding a type the seed shows there."""
    allowed = types[_generic(path)] if path else {"object"}
    if allowed == {"null"} and path not in KNOWN_VALUES:
        assert ours is None, f"{path}: the seed has null, this answer has {ours!r}"
    elif path not in KNOWN_VALUES:
        assert json_type(ours) in allowed, f"{path}: {json_type(ours)}, the seed has {allowed}"
    if isinstance(seed, dict) and isinstance(ours, dict):
        for key, value in seed.items():
            assert key in ours, f"{_join(path, key)} is missing"
            compare_keys(value, ours[key], types, _join(path, key))
    if isinstance(seed, list) and isinstance(ours, list):
        assert len(ours) == len(seed), f"{path}: {len(ours)} items, the seed has {len(seed)}"
        for seed_item, our_item in zip(seed, ours, strict=True):
            compare_keys(seed_item, our_item, types, f"{path}[*]")


@pytest.fixture
def seed_view(client: TestClient, org: OrgCredentials, clock: Clock) -> Iterator[Json]:
    ours = build_seed_situation(client, org, clock)
    response = client.get(
        f"/v3.1/users/{USER}/targetGroups",
        params={"includeInactive": "true"},
        headers={"DATA-SCOPE": "SELF"},
        auth=org.auth,
    )
    seed_ids = {body["name"]: seed_id for seed_id, _, body in SEED_GROUPS}
    our_ids = {group["name"]: group["id"] for group in ours.values()}
    yield {
        "ours": keyed(decoded(response), seed_ids),
        "seed": keyed(seed_response(), seed_ids),
        "raw": decoded(response),
        "our_ids": our_ids,
    }


def test_the_seed_situation_answers_every_key_of_the_seed_with_the_seeds_types(
    seed_view: Json,
) -> None:
    seed, ours = seed_view["seed"], seed_view["ours"]
    assert set(ours["data"]["targetGroups"]) == set(seed["data"]["targetGroups"])
    for name, group in seed["data"]["targetGroups"].items():
        assert set(ours["data"]["targetGroups"][name]["targets"]) == set(group["targets"]), name
    compare_keys(seed, ours, types_by_path(seed))


def _damaged(body: Json, damage: str) -> Json:
    body = copy.deepcopy(body)
    data = body["data"]
    if damage == "missing key":
        del data["customer"]["loyaltyInfo"]["lifetimePurchases"]
    elif damage == "wrong type":
        data["targetGroups"]["t1Fixed"]["targets"]["Cycle_1"]["currentPeriod"] = "no"
    elif damage == "value where the seed has null":
        data["targetGroups"]["streakTest5"]["streaks"]["streaks_dummy5"]["userStreakId"] = 5
    else:
        data["targetGroups"]["t1PA"]["targets"].popitem()
    return body


@pytest.mark.parametrize(
    "damage", ["missing key", "wrong type", "value where the seed has null", "missing entry"]
)
def test_the_key_by_key_comparison_catches_what_differs_from_the_seed(
    seed_view: Json, damage: str
) -> None:
    seed = seed_view["seed"]
    damaged = _damaged(seed_view["ours"], damage)
    with pytest.raises(AssertionError):
        compare_keys(seed, damaged, types_by_path(seed))


def test_the_seed_situation_shows_the_seeds_customer(seed_view: Json) -> None:
    seed = seed_view["seed"]["data"]
    ours = seed_view["ours"]["data"]
    assert ours["userId"] == seed["userId"] == USER
    customer, expected = ours["customer"], seed["customer"]
    assert customer["id"] == expected["id"]
    assert customer["profiles"] == expected["profiles"]
    assert customer["customFields"] == expected["customFields"] == {}
    loyalty, expected_loyalty = customer["loyaltyInfo"], expected["loyaltyInfo"]
    assert loyalty["loyaltyType"] == expected_loyalty["loyaltyType"]
    assert Decimal(loyalty["lifetimePurchases"]) == Decimal(expected_loyalty["lifetimePurchases"])
    for key in ("createdOn", "lastUpdatedOn"):
        assert loyalty["attribution"][key] == expected_loyalty["attribution"][key]


SCENARIO_FIELDS = (
    "targetValue",
    "targetAchievedValue",
    "targetName",
    "targetType",
    "targetEntity",
    "eventName",
)


def test_the_seed_situation_shows_the_seeds_groups_targets_and_progress(
    seed_view: Json,
) -> None:
    seed = seed_view["seed"]["data"]["targetGroups"]
    ours = seed_view["ours"]["data"]["targetGroups"]
    for name, expected in seed.items():
        group = ours[name]
        for key in ("name", "orgId", "preferredTillId", "targetEvaluationType", "trackingType"):
            assert group[key] == expected[key], (name, key)
        for key in ("createdOn", "lastUpdatedOn"):
            assert _offset_instant(group["attribution"][key]) == _offset_instant(
                expected["attribution"][key]
            )
        for ref_code, target in expected["targets"].items():
            mine = group["targets"][ref_code]
            for key in SCENARIO_FIELDS:
                assert mine[key] == target[key], (name, ref_code, key)
            assert (mine["targetId"] is None) == (target["targetId"] is None), (name, ref_code)
            if target["targetId"] is not None:
                assert mine["enrolledOn"] == target["enrolledOn"] == "2024-08-27T09:43:41.000+0000"
            else:
                assert mine["enrolledOn"] == "2024-08-30T09:21:43.741+0000"
            if expected["targetEvaluationType"] != "PERIOD_AGNOSTIC_WINDOW":
                assert mine["periodStartDate"] == target["periodStartDate"], (name, ref_code)
                assert mine["periodEndDate"] == target["periodEndDate"], (name, ref_code)
            if expected["targetEvaluationType"] == "FIXED_CALENDAR_WINDOW":
                assert mine["currentPeriod"] == target["currentPeriod"], (name, ref_code)
            if expected["targetEvaluationType"] == "CYCLIC_WINDOW":
                for key in ("periodStartDateWithTimeStamp", "periodEndDateWithTimeStamp"):
                    assert mine[key] == target[key], (name, ref_code, key)
        for level, streak in expected.get("streaks", {}).items():
            mine = group["streaks"][level]
            for key in ("streakName", "status", "currentCount", "totalTargetCountOfSequence"):
                assert mine[key] == streak[key], (name, level, key)
            assert mine["userStreakId"] is streak["userStreakId"] is None
            assert mine["streakAchievedDateTime"] is streak["streakAchievedDateTime"] is None


def _offset_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def test_the_seed_purchase_is_shown_in_each_kind_of_window(seed_view: Json) -> None:
    groups = {group["name"]: group for group in seed_view["raw"]["data"]["targetGroups"]}
    cyclic_id = seed_view["our_ids"]["t1Cyclic"]
    agnostic_id = seed_view["our_ids"]["t1PA"]

    day = groups["t1Fixed"]["targets"][1]
    assert day["periodRefCode"] == "Cycle_2"
    assert day["periodStartDateWithTimeStamp"] == "2024-08-26T18:30:00.000Z"
    assert day["periodEndDateWithTimeStamp"] == "2024-08-27T18:29:59.999Z"
    assert day["targetAchievedDateTime"] == PURCHASE_AT
    assert [t["currentPeriod"] for t in groups["t1Fixed"]["targets"]] == [False] * 4 + [True]

    cycles = groups["t1Cyclic"]["targets"]
    assert [c["periodRefCode"] for c in cycles] == [
        f"PERIOD_G_{cyclic_id}_{n}" for n in range(1, 6)
    ]
    assert [c["currentPeriod"] for c in cycles] == [False, False, True, False, False]
    assert cycles[-1]["periodEndDateWithTimeStamp"] == "2024-08-31T18:30:00.000Z"

    slots = groups["t1PA"]["targets"]
    assert [s["periodRefCode"] for s in slots] == [
        f"PERIOD_G_{agnostic_id}_{n}" for n in range(1, 6)
    ]
    assert [s["targetAchievedValue"] for s in slots] == [1000, 200, 0, 0, 0]
    assert [s["currentPeriod"] for s in slots] == [False, True, False, False, False]
    assert {
        (s["periodStartDateWithTimeStamp"], s["periodEndDateWithTimeStamp"]) for s in slots
    } == {("2024-08-23T18:30:00.000Z", "2024-08-31T18:29:59.999Z")}


def test_targets_are_listed_in_period_order(seed_view: Json) -> None:
    for group in seed_view["raw"]["data"]["targetGroups"]:
        starts = [target["periodStartDateWithTimeStamp"] for target in group["targets"]]
        ids = [target["periodId"] for target in group["targets"]]
        assert starts == sorted(starts) and ids == sorted(ids), group["name"]


def test_by_default_only_the_current_period_of_each_target_is_shown(
    seed_view: Json, client: TestClient, org: OrgCredentials
) -> None:
    data = view(client, org)
    shown = {
        group["name"]: [(t["periodRefCode"], t["currentPeriod"]) for t in group["targets"]]
        for group in data["targetGroups"]
    }
    cyclic_id = seed_view["our_ids"]["t1Cyclic"]
    agnostic_id = seed_view["our_ids"]["t1PA"]
    assert shown == {
        "t1Fixed": [("Cycle_5", True)],
        "t1Cyclic": [(f"PERIOD_G_{cyclic_id}_3", True)],
        "t1PA": [(f"PERIOD_G_{agnostic_id}_2", True)],
    }
    assert data["customer"]["id"] == USER


# --- Query parameters ---------------------------------------------------------------------


@pytest.fixture
def two_targets(client: TestClient, org: OrgCredentials) -> Json:
    """Monthly Aug-Oct 2024 with two targets; the clock stands in August."""
    body = monthly_spend(
        "Two targets",
        targets=[
            _target("spend", "SALES", 1000),
            _target(
                "visits",
                "COUNT",
                4,
                targetMilestoneTriggers=[
                    {"triggerName": "half", "triggerValueType": "PERCENTAGE", "triggerValue": 50}
                ],
            ),
        ],
    )
    return create(client, org, body)


def test_include_inactive_shows_every_period_of_every_target(
    client: TestClient, org: OrgCredentials, two_targets: Json
) -> None:
    group = view(client, org, includeInactive="true")["targetGroups"][0]
    assert [(t["periodRefCode"], t["targetName"]) for t in group["targets"]] == [
        ("Cycle_1", "spend"),
        ("Cycle_1", "visits"),
        ("Cycle_2", "spend"),
        ("Cycle_2", "visits"),
        ("Cycle_3", "spend"),
        ("Cycle_3", "visits"),
    ]
    assert [t["currentPeriod"] for t in group["targets"]] == [True, True] + [False] * 4


def test_target_rule_id_narrows_the_view_to_one_target(
    client: TestClient, org: OrgCredentials, two_targets: Json
) -> None:
    visits = two_targets["targets"][1]["id"]
    group = view(client, org, targetRuleId=visits, includeInactive="true")["targetGroups"][0]
    assert {t["targetRuleId"] for t in group["targets"]} == {visits}
    assert len(group["targets"]) == 3


def test_an_unknown_target_rule_id_is_not_found(
    client: TestClient, org: OrgCredentials, two_targets: Json
) -> None:
    response = client.get(
        f"/v3.1/users/{USER}/targetGroups", params={"targetRuleId": 999999}, auth=org.auth
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "targetRuleId"


def test_deactivated_groups_and_targets_show_only_with_include_inactive_targets(
    client: TestClient, org: OrgCredentials, clock: Clock, two_targets: Json
) -> None:
    other = create(client, org, monthly_spend("Switched off"))
    clock.advance(timedelta(seconds=1))
    spend_id = two_targets["targets"][0]["id"]
    changes = {"targets": [{"id": spend_id, "active": False}]}
    for group_id, body in ((two_targets["id"], changes), (other["id"], {"active": False})):
        response = client.put(f"/v3/targetGroups/{group_id}", json=body, auth=org.auth)
        assert response.status_code == 200, response.text

    active_only = view(client, org)["targetGroups"]
    assert [g["name"] for g in active_only] == ["Two targets"]
    assert [t["targetName"] for t in active_only[0]["targets"]] == ["visits"]

    everything = view(client, org, includeInactiveTargets="true")["targetGroups"]
    assert [g["name"] for g in everything] == ["Two targets", "Switched off"]
    assert [t["targetName"] for t in everything[0]["targets"]] == ["spend", "visits"]


def test_user_triggers_are_shown_as_milestones_and_reached_ones_are_achieved(
    client: TestClient, org: OrgCredentials, two_targets: Json
) -> None:
    for n in range(2):
        send(client, org, bill(f"V-{n}", f"2024-08-2{n}T10:00:00.000Z", amount=10))
    targets = view(client, org)["targetGroups"][0]["targets"]
    spend, visits = targets
    assert spend["milestones"] is None
    assert visits["targetAchievedValue"] == 2
    assert visits["milestones"] == [
        {
            "id": visits["milestones"][0]["id"],
            "triggerName": "half",
            "triggerValueType": "PERCENTAGE",
            "triggerValue": 50,
            "isAchieved": True,
            "achievedDateTime": "2024-08-21T10:00:00.000Z",
        }
    ]
    assert visits["targetId"] is not None and visits["targetAchievedDateTime"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"includeInactive": "sometimes"}, "includeInactive"),
        ({"includeInactiveTargets": "2"}, "includeInactiveTargets"),
        ({"targetRuleId": "abc"}, "targetRuleId"),
        ({"targetRuleId": "0"}, "targetRuleId"),
    ],
)
def test_bad_query_parameters_are_refused_naming_them(
    client: TestClient, org: OrgCredentials, params: Json, field: str
) -> None:
    response = client.get(f"/v3.1/users/{USER}/targetGroups", params=params, auth=org.auth)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("user", ["0", "abc", str(2**63)])
def test_a_bad_user_id_is_refused(client: TestClient, org: OrgCredentials, user: str) -> None:
    response = client.get(f"/v3.1/users/{user}/targetGroups", auth=org.auth)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "userId"


def test_the_user_view_needs_credentials(client: TestClient) -> None:
    assert client.get(f"/v3.1/users/{USER}/targetGroups").status_code == 401


# --- Unknown customers, enrolment methods -------------------------------------------------


def _methods_group(client: TestClient, org: OrgCredentials, audience_id: int) -> Json:
    targets = [
        _target("anyone", "SALES", 1000),
        _target("imported", "SALES", 1000, enrolmentMethod="IMPORT"),
        _target(
            "audience",
            "SALES",
            1000,
            enrolmentMethod="AUDIENCE_FILTER",
            targetAudienceFilter=[{"audienceGroupId": audience_id}],
        ),
    ]
    return create(client, org, monthly_spend("Methods", targets=targets))


def test_an_unknown_customer_sees_the_groups_anyone_can_join_with_no_progress(
    client: TestClient, org: OrgCredentials
) -> None:
    audience = client.post(
        "/v3/audienceGroups", json={"name": "VIP", "userIds": [7]}, auth=org.auth
    ).json()["data"]
    _methods_group(client, org, audience["id"])
    data = view(client, org, user=424242)
    assert data["customer"] is None
    (entry,) = data["targetGroups"][0]["targets"]
    assert entry["targetName"] == "anyone"
    assert (entry["targetId"], entry["targetAchievedValue"]) == (None, 0)
    assert entry["enrolledOn"] == "2024-08-27T10:00:00.000+0000"
    assert entry["targetAchievedDateTime"] is None


def test_imported_and_audience_targets_show_for_their_customers(
    client: TestClient, org: OrgCredentials
) -> None:
    audience = client.post(
        "/v3/audienceGroups", json={"name": "VIP", "userIds": [7]}, auth=org.auth
    ).json()["data"]
    group = _methods_group(client, org, audience["id"])
    imported = group["targets"][1]["id"]
    enrol = client.post(
        f"/v3.1/targetGroups/{group['id']}/targets/{imported}/enroll",
        json={"userId": 8, "targetValue": 2500},
        auth=org.auth,
    )
    assert enrol.status_code == 200, enrol.text

    member = view(client, org, user=7)["targetGroups"][0]["targets"]
    assert [t["targetName"] for t in member] == ["anyone", "audience"]
    enrolled = view(client, org, user=8)["targetGroups"][0]["targets"]
    assert [(t["targetName"], t["targetValue"]) for t in enrolled] == [
        ("anyone", 1000),
        ("imported", 2500),
    ]
    assert enrolled[1]["enrolledOn"] == "2024-08-27T10:00:00.000+0000"


def test_a_cyclic_customer_without_a_first_event_sees_the_group_dates_slot_one_current(
    client: TestClient, org: OrgCredentials
) -> None:
    group = create(client, org, _dated("Cycles", "CYCLIC_WINDOW", "2024-08-26"))
    targets = view(client, org, user=5, includeInactive="true")["targetGroups"][0]["targets"]
    assert [t["currentPeriod"] for t in targets] == [True, False, False, False, False]
    assert {t["periodStartDateWithTimeStamp"] for t in targets} == {"2024-08-25T18:30:00.000Z"}
    assert {t["periodEndDateWithTimeStamp"] for t in targets} == {"2024-08-31T18:30:00.000Z"}
    assert targets[0]["periodRefCode"] == f"PERIOD_G_{group['id']}_1"


# --- Streaks ------------------------------------------------------------------------------


def test_streak_levels_count_achieved_periods_in_a_row(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    body = _dated("Daily streak", "FIXED_CALENDAR_WINDOW", "2024-08-24")
    body.update(_streaks(("two", 2), ("four", 4)))
    body["targets"] = [_target("spend", "SALES", 100)]
    group = create(client, org, body)
    for day in (24, 25):
        clock.set(datetime(2024, 8, day, 6, 1, tzinfo=UTC))
        send(client, org, bill(f"S-{day}", f"2024-08-{day}T06:00:00.000Z", amount=150))
    clock.set(datetime(2024, 8, 27, 12, tzinfo=UTC))
    data = view(client, org, includeInactive="true")["targetGroups"][0]
    first_two = [t["targetId"] for t in data["targets"][:2]]
    assert data["streaks"] == [
        {
            "userStreakId": None,
            "streakId": group["streaks"][0]["id"],
            "streakName": "two",
            "status": "ACHIEVED",
            "currentCount": 0,
            "totalTargetCountOfSequence": 2,
            "streakAchievedDateTime": "2024-08-25T06:00:00.000Z",
            "streakAchievedUserTargetId": first_two[1],
            # §17: the run was reset by the missed 26th, so nothing is held or at risk.
            "freezesHeld": 0,
            "runEndsAt": None,
            "atRisk": False,
        },
        {
            "userStreakId": None,
            "streakId": group["streaks"][1]["id"],
            "streakName": "four",
            "status": "IN_PROGRESS",
            "currentCount": 0,
            "totalTargetCountOfSequence": 4,
            "streakAchievedDateTime": None,
            "streakAchievedUserTargetId": None,
            "freezesHeld": 0,
            "runEndsAt": None,
            "atRisk": False,
        },
    ]
    outcomes = [t["periodOutcome"] for t in data["targets"][:4]]
    assert outcomes == ["ACHIEVED", "ACHIEVED", "MISSED", "RUNNING"]


# --- Data scope ---------------------------------------------------------------------------


@pytest.fixture
def connected(client: TestClient, database: Database, clock: Clock) -> tuple[OrgCredentials, ...]:
    """Orgs 1 and 2 connected, org 3 alone; each has a group and a purchase by customer 77."""
    orgs = tuple(make_org(database, clock, org_id, "UTC") for org_id in (1, 2, 3))
    admin.connect_orgs(database, 1, 2)
    for org in orgs:
        create(client, org, monthly_spend(f"group of org {org.org_id}"))
        send(client, org, bill(f"B-{org.org_id}", PURCHASE_AT, org.org_id * 100, user=77))
    return orgs


def _scoped(client: TestClient, org: OrgCredentials, headers: dict[str, str]) -> Response:
    return client.get("/v3.1/users/77/targetGroups", headers=headers, auth=org.auth)


def _group_names(response: Response) -> list[str]:
    return [group["name"] for group in decoded(response)["data"]["targetGroups"]]


def test_data_scope_self_shows_the_callers_org_only(
    client: TestClient, connected: tuple[OrgCredentials, ...]
) -> None:
    response = _scoped(client, connected[0], {"DATA-SCOPE": "SELF"})
    assert _group_names(response) == ["group of org 1"]
    customer = decoded(response)["data"]["customer"]
    assert customer["loyaltyInfo"]["lifetimePurchases"] == 100


def test_data_scope_other_shows_the_named_connected_org(
    client: TestClient, connected: tuple[OrgCredentials, ...]
) -> None:
    response = _scoped(client, connected[0], {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "2"})
    assert _group_names(response) == ["group of org 2"]
    target = decoded(response)["data"]["targetGroups"][0]["targets"][0]
    assert (target["orgId"], target["targetAchievedValue"]) == (2, 200)
    assert decoded(response)["data"]["customer"]["loyaltyInfo"]["lifetimePurchases"] == 200


def test_data_scope_all_shows_the_callers_and_every_connected_org(
    client: TestClient, connected: tuple[OrgCredentials, ...]
) -> None:
    response = _scoped(client, connected[1], {"DATA-SCOPE": "ALL"})
    assert _group_names(response) == ["group of org 1", "group of org 2"]
    values = [
        g["targets"][0]["targetAchievedValue"] for g in decoded(response)["data"]["targetGroups"]
    ]
    assert values == [100, 200]
    # The customer is the caller's org's own, when it knows them.
    assert decoded(response)["data"]["customer"]["loyaltyInfo"]["lifetimePurchases"] == 200


def test_data_scope_refuses_an_unconnected_org(
    client: TestClient, connected: tuple[OrgCredentials, ...]
) -> None:
    response = _scoped(client, connected[0], {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "3"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "DATA-SCOPE-ORG"
    assert response.json()["data"] is None


# --- Cost -----------------------------------------------------------------------------------


def _statements(client: TestClient, org: OrgCredentials, database: Database) -> int:
    """How many SQL statements one user view costs once the org's groups are cached."""
    view(client, org, includeInactive="true")
    executed: list[str] = []

    def count(*args: Any) -> None:
        executed.append(args[2])

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        view(client, org, includeInactive="true")
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    return len(executed)


def test_the_user_view_costs_the_same_few_queries_however_many_groups_there_are(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    create(client, org, _dated("Cycles", "CYCLIC_WINDOW", "2024-08-26"))
    send(client, org, bill("B-1", "2024-08-27T09:00:00.000Z"))
    few = _statements(client, org, database)
    for n in range(10):
        clock.advance(timedelta(seconds=1))
        create(client, org, monthly_spend(f"Group {n}"))
        create(client, org, _dated(f"Cycles {n}", "CYCLIC_WINDOW", "2024-08-26"))
    send(client, org, bill("B-2", "2024-08-27T09:01:00.000Z"))
    assert len(view(client, org, includeInactive="true")["targetGroups"]) == 21
    assert _statements(client, org, database) == few <= 12
