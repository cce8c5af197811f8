"""The seeds' example groups are created and read back with the seeds' field names and values.

Each example group of the seeds (``tests/api/seed_groups.py``: the "Create streaks" body of
``000``; every group of ``003``'s "Get all milestones", user-created, AUDIENCE_FILTER and
leaderboard examples) is sent as a create body, as a client would send a group it read back,
server-made fields and all (SPEC section 4: they are ignored). It must be created (201) and come
back, from ``GET /v3/targetGroups/{id}``, the list and ``GET .../targets``, with every field
the seed gives, with the seed's value, except the values only the server can assign (ids,
attribution, ``createdOn``, ``emfRuleSetId``).

Where the server's documented behaviour differs from what the seed shows, the test asserts the
server's behaviour and the comment says why (SPEC section and reason).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.api import seed_groups as seeds
from tests.api.seed_groups import Body
from tests.conftest import OrgCredentials

Json = Any

ATTRIBUTION_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
UTC_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LOCAL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The system trigger SPEC section 4 adds to every target that lacks one; it is also what the
# AUDIENCE_FILTER seeds show.
SYSTEM_TRIGGER: Body = {
    "triggerName": "targetAchieved",
    "isActive": True,
    "triggerType": "SYSTEM_TRIGGER",
    "triggerValueType": "PERCENTAGE",
    "triggerValue": 100.0,
}

# Values only the server assigns: the seed's are another server's, ours are checked for type.
GROUP_SERVER_MADE = frozenset({"id", "attribution", "createdOn"})
# Checked field by field below rather than by plain equality.
GROUP_NESTED = frozenset(
    {"activePeriod", "periods", "targets", "streaks", "unifiedTargetExpression"}
)
TARGET_SERVER_MADE = frozenset(
    {"id", "attribution", "emfRuleSetId", "emfUnrolledRulesetId", "targetGroupId"}
)
TARGET_NESTED = frozenset(
    {
        "expression",
        "expressionJson",
        "defaultValue",
        "defaultValues",
        "targetPeriodDefaultValuesMap",
        "targetMilestoneTriggers",
        "targetAudienceFilter",
        "extendedFieldInfo",
    }
)
PERIOD_SERVER_MADE = frozenset({"id", "attribution", "targetGroupId"})


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def envelope(response: httpx.Response, status: int = 200) -> Json:
    """The parsed body (decimals as ``Decimal``, so that ``1.000`` keeps its digits)."""
    assert response.status_code == status, response.text
    payload = json.loads(response.content, parse_float=Decimal)
    assert payload["errors"] == [], payload
    return payload


def assert_id(value: object) -> None:
    assert type(value) is int, f"id {value!r} is not an integer"
    assert value > 0


def assert_attribution(block: Json) -> None:
    assert ATTRIBUTION_TIME.match(block["createdOn"]), block
    assert ATTRIBUTION_TIME.match(block["lastUpdatedOn"]), block
    for who in ("createdBy", "lastUpdatedBy"):
        assert_id(block[who]["id"])


def assert_money(value: object, expected: float | int | str) -> None:
    """A JSON number (not a string), with 3 decimal places, equal to the seed's value."""
    assert isinstance(value, Decimal), f"{value!r} is not a JSON number with 3 decimals"
    assert value == Decimal(str(expected)), (value, expected)
    assert value.as_tuple().exponent == -3, f"{value} is not written with 3 decimal places"


def as_offset_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


@dataclass(frozen=True)
class Case:
    id: str
    seed: Body
    org: str  # conftest fixture: "org" (Asia/Kolkata) or "utc_org" (UTC, org id 4000110)
    read_at: datetime  # the clock when reading back: inside the period `running`
    periods: list[tuple[str, str, str]]  # (refCode, startDate, endDate), in order
    running: str  # refCode of the period running at read_at
    # refCode -> (startDateWithTimeStamp, endDateWithTimeStamp or None)
    stamps: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    # Group fields whose documented server answer differs from the seed's text.
    group_overrides: dict[str, object] = field(default_factory=dict)


def cycles(*dates: tuple[str, str]) -> list[tuple[str, str, str]]:
    return [(f"Cycle_{n}", start, end) for n, (start, end) in enumerate(dates, start=1)]


MADRID_DAYS = [(f"2023-11-{day:02d}", f"2023-11-{day:02d}") for day in range(1, 16)]

CASES = [
    Case(
        id="000-create-streaks",
        seed=seeds.CREATE_STREAKS,
        org="org",
        read_at=at("2024-10-25T06:00:00Z"),  # 11:30 in Kolkata on the second day
        periods=[
            ("Day_1", "2024-10-24", "2024-10-24"),
            ("Day_2", "2024-10-25", "2024-10-25"),
            ("Day_3", "2024-10-26", "2024-10-26"),
        ],
        running="Day_2",
        # No offset: the org's local time (SPEC section 2), local midnight in Kolkata.
        stamps={"Day_1": ("2024-10-23T18:30:00.000Z", None)},
        # STREAK is accepted as an alias of STREAKS (SPEC section 4); the group is a STREAKS
        # group and reads back as such.
        group_overrides={"trackingType": "STREAKS"},
    ),
    Case(
        id="testsub",
        seed=seeds.TESTSUB,
        org="org",
        read_at=at("2024-04-10T00:00:00Z"),
        # Start 2024-04-02T05:04:45Z is 10:34:45 in Kolkata: MONTHLY from 2024-04-02, the
        # first period starting at that instant (SPEC section 5).
        periods=cycles(("2024-04-02", "2024-05-01")),
        running="Cycle_1",
        stamps={"Cycle_1": ("2024-04-02T05:04:45.000Z", "2024-05-01T18:29:59.999Z")},
    ),
    Case(
        id="ew",
        seed=seeds.EW,
        org="org",
        read_at=at("2024-02-20T00:00:00Z"),
        periods=cycles(("2024-02-07", "2024-03-06")),
        running="Cycle_1",
        stamps={"Cycle_1": ("2024-02-07T12:22:48.000Z", "2024-03-06T18:29:59.999Z")},
    ),
    Case(
        id="unified",
        seed=seeds.UNIFIED,
        org="org",
        read_at=at("2024-02-20T00:00:00Z"),
        periods=cycles(("2024-02-07", "2024-03-06")),
        running="Cycle_1",
        stamps={"Cycle_1": ("2024-02-07T06:28:45.000Z", "2024-03-06T18:29:59.999Z")},
    ),
    Case(
        id="wbc",
        seed=seeds.WBC,
        org="org",
        read_at=at("2024-02-20T00:00:00Z"),
        periods=cycles(("2024-02-05", "2024-03-04")),
        running="Cycle_1",
        stamps={"Cycle_1": ("2024-02-05T09:32:53.000Z", "2024-03-04T18:29:59.999Z")},
    ),
    Case(
        id="wew",
        seed=seeds.WEW,
        org="org",
        read_at=at("2024-02-20T00:00:00Z"),
        periods=cycles(("2024-02-05", "2024-03-04")),
        running="Cycle_1",
        stamps={"Cycle_1": ("2024-02-05T04:58:38.000Z", "2024-03-04T18:29:59.999Z")},
    ),
    Case(
        id="ewdwe",
        seed=seeds.EWDWE,
        org="utc_org",
        read_at=at("2024-04-10T00:00:00Z"),
        # QUARTERLY from 2024-01-31: 2024-01-31..2024-04-29 (3 months, clamped, less a day).
        periods=cycles(("2024-01-31", "2024-04-29")),
        # The seed's activePeriod is refCode "wdse": its group had an explicit period that
        # the seed's list does not show (it was read without includePeriods). activePeriod is
        # server-made and ignored on input (SPEC section 4), so the body has no periods and
        # the server generates Cycle_1 with the seed's dates.
        running="Cycle_1",
        stamps={"Cycle_1": ("2024-01-31T00:00:00.000Z", "2024-04-29T23:59:59.999Z")},
    ),
    Case(
        id="madrid-streak",
        seed=seeds.MADRID_STREAK,
        org="utc_org",
        read_at=at("2023-11-05T12:00:00Z"),
        # DAILY, 15 periods from 2023-11-01T00:00:00Z: one per day, 2023-11-01..2023-11-15.
        periods=cycles(*MADRID_DAYS),
        running="Cycle_5",
        stamps={
            "Cycle_1": ("2023-11-01T00:00:00.000Z", "2023-11-01T23:59:59.999Z"),
            "Cycle_15": ("2023-11-15T00:00:00.000Z", "2023-11-15T23:59:59.999Z"),
        },
    ),
    Case(
        id="user-created",
        seed=seeds.USER_CREATED,
        org="org",
        read_at=at("2024-08-27T10:00:00Z"),
        # MONTHLY, 2 periods from 2024-08-20T08:42:01Z (14:12:01 in Kolkata).
        periods=cycles(("2024-08-20", "2024-09-19"), ("2024-09-20", "2024-10-19")),
        # The seed's activePeriod is "TP1", from explicit periods its list does not show; as
        # for ewdwe, the server generates Cycle_1 with the seed's dates.
        running="Cycle_1",
        stamps={
            "Cycle_1": ("2024-08-20T08:42:01.000Z", "2024-09-19T18:29:59.999Z"),
            "Cycle_2": ("2024-09-19T18:30:00.000Z", "2024-10-19T18:29:59.999Z"),
        },
    ),
    # The AUDIENCE_FILTER examples write their attribution times with +0000: their org is on
    # UTC.
    Case(
        id="audience-filter-capping",
        seed=seeds.AUDIENCE_FILTER_CAPPING,
        org="utc_org",
        read_at=at("2024-08-05T00:00:00Z"),
        periods=[("TestPeriod", "2024-07-31", "2024-08-10")],
        running="TestPeriod",
        stamps={"TestPeriod": ("2024-07-31T00:00:00.000Z", "2024-08-10T23:59:59.999Z")},
    ),
    Case(
        id="audience-filter-default",
        seed=seeds.AUDIENCE_FILTER_DEFAULT,
        org="utc_org",
        read_at=at("2024-08-05T00:00:00Z"),
        periods=[("TestPeriod", "2024-07-31", "2024-08-10")],
        running="TestPeriod",
        stamps={"TestPeriod": ("2024-07-31T00:00:00.000Z", "2024-08-10T23:59:59.999Z")},
    ),
    Case(
        id="leaderboard",
        seed=seeds.LEADERBOARD,
        org="utc_org",  # the seed's orgId 4000110, on UTC
        read_at=at("2024-08-02T12:00:00Z"),
        # CUSTOM without periods: one period from targetCycleStartDate to targetCycleEndDate.
        periods=cycles(("2024-08-02", "2024-08-02")),
        running="Cycle_1",
        stamps={"Cycle_1": ("2024-08-02T00:00:00.000Z", "2024-08-02T23:59:59.999Z")},
    ),
]


# --- checks ---------------------------------------------------------------------------------


def check_group(view: Json, case: Case, *, running: str | None) -> None:
    """``view`` (one group as the API shows it) against the seed group of ``case``.

    ``running``: the refCode of the period running at the time of the read, or None not to
    check period statuses and activePeriod (the create answer, given at the seed's createdOn).
    """
    seed = case.seed
    group_id = view["id"]
    assert_id(group_id)
    assert type(view["createdOn"]) is int, view["createdOn"]
    assert_attribution(view["attribution"])

    for key, value in seed.items():
        if key in GROUP_SERVER_MADE or key in GROUP_NESTED:
            continue
        expected = case.group_overrides.get(key, value)
        assert key in view, f"{key} is missing from the read-back"
        assert view[key] == expected, f"{key}: {view[key]!r} != seed {expected!r}"

    periods = view["periods"]
    check_periods(periods, case, group_id, running)
    period_ids = [period["id"] for period in periods]

    assert [t["name"] for t in view["targets"]] == [t["name"] for t in seed["targets"]]
    for target, seed_target in zip(view["targets"], seed["targets"], strict=True):
        check_target(target, seed_target, group_id, period_ids)

    if "streaks" in seed:
        assert [(s["name"], s["targetCountOfSequence"]) for s in view["streaks"]] == [
            (s["name"], s["targetCountOfSequence"]) for s in seed["streaks"]
        ]
        for streak in view["streaks"]:
            assert_id(streak["id"])
            assert_attribution(streak["attribution"])
            assert streak["targetGroupId"] == group_id

    if "unifiedTargetExpression" in seed:
        # The rule is built from this server's target ids, lowest first, as the seed's
        # "(31132 & 31133)" is (SPEC section 4).
        ids = sorted(target["id"] for target in view["targets"])
        expected_unified = dict(seed["unifiedTargetExpression"])
        expected_unified["ruleExpression"] = f"({ids[0]} & {ids[1]})"
        assert view["unifiedTargetExpression"] == expected_unified


def check_periods(periods: Json, case: Case, group_id: int, running: str | None) -> None:
    assert [(p["refCode"], p["startDate"], p["endDate"]) for p in periods] == case.periods
    for period in periods:
        assert_id(period["id"])
        assert_attribution(period["attribution"])
        assert period["targetGroupId"] == group_id
        assert LOCAL_DATE.match(period["startDate"]) and LOCAL_DATE.match(period["endDate"])
        assert UTC_INSTANT.match(period["startDateWithTimeStamp"]), period
        assert UTC_INSTANT.match(period["endDateWithTimeStamp"]), period
    by_ref = {period["refCode"]: period for period in periods}
    for ref_code, (start, end) in case.stamps.items():
        assert by_ref[ref_code]["startDateWithTimeStamp"] == start
        if end is not None:
            assert by_ref[ref_code]["endDateWithTimeStamp"] == end

    # The periods the seed gives (AUDIENCE_FILTER, 000), field by field. 000's startDate and
    # endDate carry a time of day; they read back as local dates (SPEC section 2), checked
    # through case.periods above. periodStatus is derived from the clock (checked below).
    seed_periods = case.seed.get("periods", [])
    assert not seed_periods or len(seed_periods) == len(periods)
    for seed_period, period in zip(seed_periods, periods, strict=False):
        for key, value in seed_period.items():
            if key in PERIOD_SERVER_MADE or key == "periodStatus":
                continue
            if key in ("startDate", "endDate") and not LOCAL_DATE.match(value):
                continue
            assert period.get(key) == value, f"period {key}: {period.get(key)!r} != {value!r}"

    if running is None:
        return
    index = [p["refCode"] for p in periods].index(running)
    statuses = [p["periodStatus"] for p in periods]
    assert statuses == ["ENDED"] * index + ["RUNNING"] + ["NOT_STARTED"] * (
        len(periods) - index - 1
    )


def check_active_period(view: Json, case: Case) -> None:
    """At case.read_at the running period is the group's activePeriod."""
    assert "activePeriod" in view, "activePeriod is missing while a period is running"
    active = view["activePeriod"]
    [running] = [p for p in view["periods"] if p["refCode"] == case.running]
    assert active == running
    assert active["periodStatus"] == "RUNNING"
    seed_active = case.seed.get("activePeriod")
    if seed_active is not None:
        # The seed's own activePeriod: same dates, status and flags (refCode: see the case).
        for key in ("startDate", "endDate", "periodStatus", "active", "description"):
            if key in seed_active:
                assert active.get(key) == seed_active[key], f"activePeriod {key}"


def expected_default_values(seed_target: Body, period_count: int) -> list[float]:
    if "defaultValues" in seed_target:
        values = [entry["defaultValue"] for entry in seed_target["defaultValues"]]
        if len(values) == 1 and period_count > 1:
            # Madridstaloyaltystreak: 15 periods and one defaultValues entry (the seed's
            # list shows one). The server applies one value to every period, so the group
            # reads back with 15 entries of 1.000.
            return values * period_count
        return values
    # 000's defaultValue (one value for the target): one entry per period (SPEC section 4).
    return [seed_target["defaultValue"]] * period_count


def check_target(target: Json, seed_target: Body, group_id: int, period_ids: list[int]) -> None:
    assert_id(target["id"])
    assert_attribution(target["attribution"])
    assert target["targetGroupId"] == group_id

    for key, value in seed_target.items():
        if key in TARGET_SERVER_MADE or key in TARGET_NESTED:
            continue
        assert key in target, f"target {key} is missing from the read-back"
        assert target[key] == value, f"target {key}: {target[key]!r} != seed {value!r}"

    # expression: 000 documents it as a boolean ("has an expression"); the server keeps the
    # expression as text, so `true` reads back as "true".
    seed_expression = seed_target["expression"]
    if isinstance(seed_expression, bool):
        seed_expression = "true" if seed_expression else "false"
    assert target["expression"] == seed_expression

    # expressionJson: a seed written compactly must come back as exactly that text (the
    # `currentTxn.value>500` one above all); the seeds that pretty-print the literal `true`
    # come back as the same JSON tree, written compactly.
    seed_json = seed_target["expressionJson"]
    if seed_json == json.dumps(json.loads(seed_json), separators=(",", ":")):
        assert target["expressionJson"] == seed_json
    else:
        assert json.loads(target["expressionJson"]) == json.loads(seed_json)

    values = target["defaultValues"]
    expected_values = expected_default_values(seed_target, len(period_ids))
    assert [entry["periodId"] for entry in values] == period_ids
    assert len(values) == len(expected_values)
    for entry, expected in zip(values, expected_values, strict=True):
        assert_id(entry["id"])
        assert_money(entry["defaultValue"], expected)
    assert target["targetPeriodDefaultValuesMap"] == {
        str(entry["periodId"]): entry for entry in values
    }

    check_triggers(target, seed_target)

    if "targetAudienceFilter" in seed_target:
        # audienceGroupId is the client's; the seed's versionId, audienceFilterMetaId and
        # lastUpdatedOn are its server's audience bookkeeping, not part of SPEC section 4.
        assert [f["audienceGroupId"] for f in target["targetAudienceFilter"]] == [
            f["audienceGroupId"] for f in seed_target["targetAudienceFilter"]
        ]

    if "extendedFieldInfo" in seed_target:
        for key, value in seed_target["extendedFieldInfo"].items():
            assert target["extendedFieldInfo"].get(key) == value, f"extendedFieldInfo {key}"


def check_triggers(target: Json, seed_target: Body) -> None:
    expected = list(seed_target.get("targetMilestoneTriggers", []))
    if not any(t["triggerName"] == "targetAchieved" for t in expected):
        # SPEC section 4: a system trigger targetAchieved (PERCENTAGE 100) on every target that
        # lacks one, so the user-created seed's `"targetMilestoneTriggers": []` reads back with
        # that one trigger.
        expected.insert(0, SYSTEM_TRIGGER)
    triggers = {t["triggerName"]: t for t in target["targetMilestoneTriggers"]}
    assert sorted(triggers) == sorted(t["triggerName"] for t in expected)
    for seed_trigger in expected:
        trigger = triggers[seed_trigger["triggerName"]]
        assert_id(trigger["id"])
        assert trigger["targetRuleId"] == target["id"]
        for key, value in seed_trigger.items():
            if key in ("id", "targetRuleId"):
                continue
            if key == "triggerValue":
                assert_money(trigger[key], value)
            else:
                assert trigger[key] == value, f"trigger {key}"


# --- every seed group, created and read back ------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_seed_group_is_created_and_read_back_with_the_seeds_names_and_values(
    client: TestClient,
    clock: Clock,
    database: Database,
    request: pytest.FixtureRequest,
    case: Case,
) -> None:
    org: OrgCredentials = request.getfixturevalue(case.org)
    seed = case.seed
    if seed.get("leaderboardEnabled"):
        # Leaderboards are an org setting (SPEC section 13, `milestones org set --leaderboards`).
        admin.set_org(database, org.org_id, leaderboards_enabled=True)
    if "createdOn" in seed:
        # Create at the seed's own createdOn, so that the server's createdOn is the seed's.
        clock.set(from_epoch_ms(seed["createdOn"]))

    created = envelope(client.post("/v3/targetGroups", json=seed, auth=org.auth), 201)["data"]
    group_id = created["id"]
    check_group(created, case, running=None)
    if "createdOn" in seed:
        assert created["createdOn"] == seed["createdOn"]
    if "attribution" in seed:
        assert as_offset_instant(created["attribution"]["createdOn"]) == as_offset_instant(
            seed["attribution"]["createdOn"]
        )

    clock.set(case.read_at)
    one = envelope(
        client.get(f"/v3/targetGroups/{group_id}", params={"includePeriods": "true"}, auth=org.auth)
    )["data"]
    assert one["id"] == group_id
    check_group(one, case, running=case.running)
    check_active_period(one, case)

    listed = envelope(
        client.get(
            "/v3/targetGroups",
            params={
                "includePeriods": "true",
                "includeUserCreatedTargetGroups": "true",
                "limit": 100,
            },
            auth=org.auth,
        )
    )
    assert listed["pagination"] == {"limit": 100, "offset": 0, "total": 1}
    [item] = [group for group in listed["data"] if group["id"] == group_id]
    check_group(item, case, running=case.running)
    check_active_period(item, case)

    targets = envelope(client.get(f"/v3/targetGroups/{group_id}/targets", auth=org.auth))["data"]
    assert [t["id"] for t in targets] == [t["id"] for t in one["targets"]]
    period_ids = [period["id"] for period in one["periods"]]
    for target, seed_target in zip(targets, seed["targets"], strict=True):
        check_target(target, seed_target, group_id, period_ids)

    # userCreated groups are listed only with includeUserCreatedTargetGroups=true (SPEC 3).
    default_list = envelope(client.get("/v3/targetGroups", auth=org.auth))
    shown = [group["id"] for group in default_list["data"]]
    if seed.get("userCreated"):
        assert shown == []
        assert default_list["pagination"]["total"] == 0
    else:
        assert shown == [group_id]


def test_the_streak_seed_expression_parses_to_the_seeds_tree_when_sent_alone(
    client: TestClient, clock: Clock, utc_org: OrgCredentials
) -> None:
    """``currentTxn.value>500`` without its expressionJson: the server writes the seed's text."""
    body = json.loads(json.dumps(seeds.MADRID_STREAK))
    [target] = body["targets"]
    seed_json = target.pop("expressionJson")
    group = envelope(client.post("/v3/targetGroups", json=body, auth=utc_org.auth), 201)["data"]
    assert group["targets"][0]["expression"] == "currentTxn.value>500"
    assert group["targets"][0]["expressionJson"] == seed_json


# --- the list, with the "Get all milestones" groups loaded ----------------------------------

SEED_NAMES = [group["name"] for group in seeds.GET_ALL_MILESTONES]


def load_all_milestones(client: TestClient, clock: Clock, org: OrgCredentials) -> dict[str, int]:
    """The seven "Get all milestones" groups and the user-created one, each created at its
    seed's createdOn (oldest first), in the Kolkata org the seed's +0530 times come from."""
    ids: dict[str, int] = {}
    groups = [*reversed(seeds.GET_ALL_MILESTONES), seeds.USER_CREATED]
    for group in sorted(groups, key=lambda g: g["createdOn"]):
        clock.set(from_epoch_ms(group["createdOn"]))
        response = client.post("/v3/targetGroups", json=group, auth=org.auth)
        ids[group["name"]] = envelope(response, 201)["data"]["id"]
    # When the seed's list was taken: testsub and ewdwe running, the others' periods over.
    clock.set(at("2024-04-10T00:00:00Z"))
    return ids


def names_of(payload: Json) -> list[str]:
    return [group["name"] for group in payload["data"]]


def list_groups(client: TestClient, org: OrgCredentials, **params: object) -> Json:
    return envelope(client.get("/v3/targetGroups", params=params, auth=org.auth))


def test_list_is_newest_first_as_in_the_seed(
    client: TestClient, clock: Clock, org: OrgCredentials
) -> None:
    load_all_milestones(client, clock, org)
    payload = list_groups(client, org)
    assert payload["pagination"] == {"limit": 10, "offset": 0, "total": 7}
    assert names_of(payload) == SEED_NAMES
    for view, seed in zip(payload["data"], seeds.GET_ALL_MILESTONES, strict=True):
        assert view["createdOn"] == seed["createdOn"]
        assert "periods" not in view  # includePeriods defaults to false
        # activePeriod exactly where the seed's list shows one.
        assert ("activePeriod" in view) == ("activePeriod" in seed), seed["name"]
        if "activePeriod" in seed:
            for key in ("startDate", "endDate", "periodStatus", "active"):
                assert view["activePeriod"][key] == seed["activePeriod"][key]
        assert [t["name"] for t in view["targets"]] == [t["name"] for t in seed["targets"]]


def test_list_pages_with_limit_and_offset(
    client: TestClient, clock: Clock, org: OrgCredentials
) -> None:
    load_all_milestones(client, clock, org)
    pages = []
    for offset in (0, 3, 6):
        payload = list_groups(client, org, limit=3, offset=offset)
        assert payload["pagination"] == {"limit": 3, "offset": offset, "total": 7}
        pages.append(names_of(payload))
    assert pages == [SEED_NAMES[0:3], SEED_NAMES[3:6], SEED_NAMES[6:]]

    beyond = list_groups(client, org, limit=3, offset=9)
    assert beyond["data"] == []
    assert beyond["pagination"] == {"limit": 3, "offset": 9, "total": 7}


def test_list_include_only_active(client: TestClient, clock: Clock, org: OrgCredentials) -> None:
    load_all_milestones(client, clock, org)
    # ew, unified, wbc, wew and Madridstaloyaltystreak are inactive in the seed.
    payload = list_groups(client, org, includeOnlyActive="true")
    assert names_of(payload) == ["testsub", "ewdwe"]
    assert payload["pagination"]["total"] == 2

    everything = list_groups(client, org, includeOnlyActive="false")
    assert names_of(everything) == SEED_NAMES
    assert [g["active"] for g in everything["data"]] == [
        g["active"] for g in seeds.GET_ALL_MILESTONES
    ]


@pytest.mark.parametrize(
    ("tracking", "expected"),
    [
        ("STREAKS", ["Madridstaloyaltystreak"]),
        ("STREAK", ["Madridstaloyaltystreak"]),  # alias (SPEC section 4)
        ("UNIFIED", ["unified"]),
        ("DEFAULT", ["testsub", "ew", "wbc", "wew", "ewdwe"]),
        ("CAPPING", []),
    ],
)
def test_list_by_tracking_type(
    client: TestClient, clock: Clock, org: OrgCredentials, tracking: str, expected: list[str]
) -> None:
    load_all_milestones(client, clock, org)
    payload = list_groups(client, org, trackingType=tracking)
    assert names_of(payload) == expected
    assert payload["pagination"]["total"] == len(expected)
    if tracking.startswith("STREAK"):
        [streak] = payload["data"]
        assert streak["trackingType"] == "STREAKS"


def test_list_shows_user_created_groups_only_when_asked(
    client: TestClient, clock: Clock, org: OrgCredentials
) -> None:
    ids = load_all_milestones(client, clock, org)
    user_created = seeds.USER_CREATED["name"]

    hidden = list_groups(client, org, limit=100)
    assert user_created not in names_of(hidden)
    assert hidden["pagination"]["total"] == 7

    shown = list_groups(client, org, limit=100, includeUserCreatedTargetGroups="true")
    assert names_of(shown) == [user_created, *SEED_NAMES]  # created last: newest
    assert shown["pagination"]["total"] == 8
    assert shown["data"][0]["id"] == ids[user_created]
    assert shown["data"][0]["userCreated"] is True

    active = list_groups(
        client, org, includeOnlyActive="true", includeUserCreatedTargetGroups="true"
    )
    assert names_of(active) == [user_created, "testsub", "ewdwe"]


def test_include_periods(client: TestClient, clock: Clock, org: OrgCredentials) -> None:
    ids = load_all_milestones(client, clock, org)

    without = list_groups(client, org, includePeriods="false")
    assert all("periods" not in group for group in without["data"])
    with_periods = list_groups(client, org, includePeriods="true")
    counts = {group["name"]: len(group["periods"]) for group in with_periods["data"]}
    assert counts == {name: 15 if name == "Madridstaloyaltystreak" else 1 for name in SEED_NAMES}

    testsub = ids["testsub"]
    one = envelope(
        client.get(f"/v3/targetGroups/{testsub}", params={"includePeriods": "false"}, auth=org.auth)
    )["data"]
    assert "periods" not in one
    assert one["activePeriod"]["refCode"] == "Cycle_1"  # still shown without the periods
