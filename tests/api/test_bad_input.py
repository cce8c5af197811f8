"""Bad input: malformed and hostile requests (SPEC §2-§5).

Every case asserts the exact status, the envelope (``data`` null, a non-empty
``errors`` list of ``{code, message, field?}``, a ``warnings`` list), that one
error names the field at fault (its ``field`` is that path, or a path inside it,
or its message mentions it) and, for every create attempt, that no target group,
period, target, value, trigger or streak was left behind.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.conftest import OrgCredentials, make_org

GROUPS = "/v3/targetGroups"
LIST_ALL = {"includeUserCreatedTargetGroups": "true"}
GROUP_TABLES = (
    "target_groups",
    "periods",
    "targets",
    "target_period_values",
    "milestone_triggers",
    "streaks",
)
INVALID_INPUT = 300004
NAME_TOO_LONG = 310008
NAME_TAKEN = 310069
LEADERBOARD_OFF_FOR_ORG = 310133
LEADERBOARD_NEEDS_FIXED = 310132
BODY_LIMIT = 2 * 1024 * 1024

BASE: dict[str, Any] = {
    "name": "Spend 1000 a month",
    "trackingType": "DEFAULT",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "frequencyType": "MONTHLY",
    "frequency": 1,
    "totalPeriods": 3,
    "recurringCycles": -1,
    "targetCycleStartDate": "2024-08-01T00:00:00.000",
    "targetCycleEndDate": "2024-10-31T23:59:59.000",
    "targets": [
        {
            "name": "spend",
            "targetEntity": "TRANSACTION",
            "targetType": "SALES",
            "defaultValue": 1000,
        }
    ],
}
THREE_MONTHS = (
    ("2024-08-01", "2024-08-31"),
    ("2024-09-01", "2024-09-30"),
    ("2024-10-01", "2024-10-31"),
)
DROP: Any = object()


# --- bodies ----------------------------------------------------------------------------


def _apply(into: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is DROP:
            into.pop(key, None)
        else:
            into[key] = value
    return into


def group(**changes: Any) -> dict[str, Any]:
    """The base body with top-level fields replaced (``DROP`` removes one)."""
    return _apply(copy.deepcopy(BASE), changes)


def a_target(**changes: Any) -> dict[str, Any]:
    """The base target with fields replaced."""
    return _apply(copy.deepcopy(BASE["targets"][0]), changes)


def target(**changes: Any) -> dict[str, Any]:
    """The base body whose one target has fields replaced."""
    return group(targets=[a_target(**changes)])


def levels(*counts: Any) -> list[dict[str, Any]]:
    return [{"name": f"level {n}", "targetCountOfSequence": n} for n in counts]


def streak_group(**changes: Any) -> dict[str, Any]:
    """The streak base: STREAKS with one level of 2 in a row."""
    return group(**{"trackingType": "STREAKS", "streaks": levels(2), **changes})


def periods(*spans: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"refCode": f"P{n}", "startDate": start, "endDate": end}
        for n, (start, end) in enumerate(spans, start=1)
    ]


def explicit(*spans: tuple[str, str], **changes: Any) -> dict[str, Any]:
    """The base body with explicit periods (three months by default)."""
    return group(periods=periods(*(spans or THREE_MONTHS)), **changes)


def period_without(key: str) -> dict[str, Any]:
    body = explicit()
    del body["periods"][0][key]
    return body


def daily(count: int) -> dict[str, Any]:
    """A DAILY group with ``count`` explicit one-day periods from 2024-09-01."""
    days = [(date(2024, 9, 1) + timedelta(days=n)).isoformat() for n in range(count)]
    return explicit(
        *((day, day) for day in days),
        frequencyType="DAILY",
        totalPeriods=min(count, 100),
        targetCycleStartDate=DROP,
        targetCycleEndDate=DROP,
    )


def values(*amounts: Any) -> list[dict[str, Any]]:
    return [{"defaultValue": amount} for amount in amounts]


def unified(*targets: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return group(trackingType="UNIFIED", targets=list(targets), **changes)


def nested_expression(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"arity": "literal", "value": "true", "type": "boolean:primitive"}
    for _ in range(depth):
        node = {"arity": "unary_operation", "value": "!", "operands": [node]}
    return node


LITERAL_TRUE = {"arity": "literal", "value": "true", "type": "boolean:primitive"}
AGNOSTIC = {"targetEvaluationType": "PERIOD_AGNOSTIC_WINDOW"}
CURRENCY = {"targetEntity": "ALTERNATE_CURRENCIES", "targetType": "ALL"}


# --- assertions ------------------------------------------------------------------------


def _alternatives(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else value


def _names(error: dict[str, Any], expected: str | tuple[str, ...]) -> bool:
    field = error.get("field") or ""
    message = error["message"]
    return any(
        field == path
        or field.startswith((f"{path}.", f"{path}["))
        or path.lower() in message.lower()
        for path in _alternatives(expected)
    )


def assert_refused(
    response: httpx.Response,
    status: int,
    field: str | tuple[str, ...] | None,
    *,
    code: int | None = None,
    mention: str | tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """The status, the error envelope, the field named, and the code when one is given."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.text[:600]}"
    )
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert body["data"] is None, body
    assert isinstance(body["warnings"], list), body
    errors = body["errors"]
    assert isinstance(errors, list) and errors, body
    for error in errors:
        assert isinstance(error, dict), body
        assert set(error) <= {"code", "message", "field"}, error
        assert isinstance(error["code"], int) and not isinstance(error["code"], bool), error
        assert isinstance(error["message"], str) and error["message"].strip(), error
        assert not error["message"].startswith(" "), error
        assert "Traceback" not in error["message"], error
        if "field" in error:
            assert isinstance(error["field"], str) and error["field"], error
    if code is not None:
        assert any(error["code"] == code for error in errors), (code, errors)
    if field is not None:
        assert any(_names(error, field) for error in errors), (field, errors)
    if mention is not None:
        assert any(
            any(word.lower() in error["message"].lower() for word in _alternatives(mention))
            for error in errors
        ), (mention, errors)
    return errors


def count_groups(client: TestClient, org: OrgCredentials) -> int:
    response = client.get(GROUPS, params=LIST_ALL, auth=org.auth)
    assert response.status_code == 200, response.text
    total: int = response.json()["pagination"]["total"]
    return total


def assert_nothing_created(client: TestClient, org: OrgCredentials, database: Database) -> None:
    """The org lists no group, and no table holds a half-made one."""
    assert count_groups(client, org) == 0
    with database.engine.connect() as connection:
        for table in GROUP_TABLES:
            rows = connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            assert rows == 0, f"{rows} row(s) left in {table}"


def create(client: TestClient, org: OrgCredentials, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(GROUPS, json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def read(client: TestClient, org: OrgCredentials, group_id: int) -> dict[str, Any]:
    response = client.get(f"{GROUPS}/{group_id}", auth=org.auth)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def basic(value: str) -> dict[str, str]:
    return {"Authorization": f"Basic {value}"}


def encoded(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# --- the valid neighbours --------------------------------------------------------------

VALID = [
    pytest.param(group(), id="the base DEFAULT monthly group"),
    pytest.param(streak_group(), id="the streak base"),
    pytest.param(explicit(), id="three explicit periods"),
    pytest.param(daily(100), id="100 explicit periods"),
    pytest.param(target(defaultValue=DROP, defaultValues=values(1, 2, 3)), id="3 defaultValues"),
    pytest.param(target(defaultValue=1000.125), id="a value with 3 decimal places"),
    pytest.param(group(name="n" * 200), id="a name of 200 characters"),
    pytest.param(group(description="d" * 255), id="a description of 255 characters"),
    pytest.param(group(recurringCycles=100), id="100 recurring cycles"),
    pytest.param(group(targets=[a_target(name=f"t{n}") for n in range(50)]), id="50 targets"),
    pytest.param(
        streak_group(
            frequencyType="DAILY",
            totalPeriods=10,
            targetCycleEndDate=DROP,
            streaks=levels(*range(1, 11)),
        ),
        id="10 streak levels up to the 10 periods",
    ),
    pytest.param(group(**AGNOSTIC), id="a PERIOD_AGNOSTIC group"),
    pytest.param(group(targetEvaluationType="CYCLIC_WINDOW"), id="a CYCLIC group"),
    pytest.param(unified(a_target(), a_target(name="visits")), id="UNIFIED with two targets"),
    pytest.param(
        target(**CURRENCY, alternateCurrencyIdentifier="coins", programId=7),
        id="ALTERNATE_CURRENCIES with identifier and program",
    ),
    pytest.param(
        target(targetEntity="EVENT", targetType="COUNT", eventName="AppOpened"),
        id="an EVENT target with its eventName",
    ),
    pytest.param(
        target(
            targetType="EXTENDED_FIELD",
            extendedFieldInfo={"name": "fuel_litres", "aggregateFunction": "SUM"},
        ),
        id="an EXTENDED_FIELD target with its extendedFieldInfo",
    ),
    pytest.param(
        target(expression="currentTxn.value > 500 && currentTxn.numberOfItems >= 2"),
        id="a well-formed expression",
    ),
    pytest.param(group(timeZoneName="Europe/Berlin"), id="an IANA time zone"),
]


@pytest.mark.parametrize("body", VALID)
def test_the_valid_neighbours_of_the_bad_cases_are_accepted(
    client: TestClient, org: OrgCredentials, body: dict[str, Any]
) -> None:
    response = client.post(GROUPS, json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    assert response.json()["errors"] == []
    assert count_groups(client, org) == 1


# --- malformed create bodies -----------------------------------------------------------


def case(
    name: str,
    body: dict[str, Any],
    field: str | tuple[str, ...],
    *,
    status: int = 400,
    code: int | None = None,
    mention: str | tuple[str, ...] | None = None,
) -> Any:
    return pytest.param(body, status, field, code, mention, id=name)


REQUIRED_FIELDS = [
    case(f"missing {key}", group(**{key: DROP}), key)
    for key in (
        "name",
        "trackingType",
        "targetEvaluationType",
        "frequencyType",
        "frequency",
        "totalPeriods",
        "recurringCycles",
        "targets",
    )
]
REQUIRED_FIELDS += [
    case(f"missing targets[0].{key}", target(**{key: DROP}), f"targets[0].{key}")
    for key in ("name", "targetEntity", "targetType", "defaultValue")
]
REQUIRED_FIELDS += [
    case(f"missing periods[0].{key}", period_without(key), f"periods[0].{key}")
    for key in ("refCode", "startDate", "endDate")
]
REQUIRED_FIELDS += [
    case("missing streaks[0].targetCountOfSequence", streak_group(streaks=[{"name": "x"}]),
         "streaks[0].targetCountOfSequence"),
    case("missing the trigger's triggerValue",
         target(targetMilestoneTriggers=[{"triggerName": "half", "triggerValueType": "PERCENTAGE"}]),
         "targets[0].targetMilestoneTriggers[0].triggerValue"),
    case("missing the filter's entityType", target(filters=[{"entityIds": [1]}]),
         "targets[0].filters[0].entityType"),
]  # fmt: skip

WRONG_TYPES = [
    case("a string for an int frequency", group(frequency="monthly"), "frequency"),
    case("a number as a string for totalPeriods", group(totalPeriods="3"), "totalPeriods"),
    case("a fraction for an int recurringCycles", group(recurringCycles=1.5), "recurringCycles"),
    case("3.0 for an int totalPeriods", group(totalPeriods=3.0), "totalPeriods"),
    case("true for an int frequency", group(frequency=True), "frequency"),
    case("an int for a string name", group(name=1000), "name"),
    case("yes for a boolean active", group(active="yes"), "active"),
    case("1 for a boolean leaderboardEnabled", group(leaderboardEnabled=1), "leaderboardEnabled"),
    case("a string true for userCreated", group(userCreated="true"), "userCreated"),
    case("a number as a string for defaultValue", target(defaultValue="1000"),
         "targets[0].defaultValue"),
    case("a boolean for defaultValue", target(defaultValue=True), "targets[0].defaultValue"),
    case("an object where the targets list goes", group(targets=BASE["targets"][0]), "targets"),
    case("a string where the periods list goes", group(periods="Cycle_1"), "periods"),
    case("an object where defaultValues goes", target(defaultValue=DROP,
         defaultValues={"defaultValue": 1000}), "targets[0].defaultValues"),
    case("a list where a target object goes", group(targets=[["spend", "SALES"]]), "targets[0]"),
    case("a list where unifiedTargetExpression goes",
         unified(a_target(), a_target(name="b"), unifiedTargetExpression=["SUM", 10]),
         "unifiedTargetExpression"),
    case("a string where extendedFieldInfo goes",
         target(targetType="EXTENDED_FIELD", extendedFieldInfo="fuel_litres"),
         "targets[0].extendedFieldInfo"),
    case("null for the required name", group(name=None), "name"),
    case("null for the required targets", group(targets=None), "targets"),
    case("null for the required targetType", target(targetType=None), "targets[0].targetType"),
    case("a string in filter entityIds", target(filters=[{"entityType": "STORE",
         "entityIds": ["store-1"]}]), "targets[0].filters[0].entityIds"),
    case("a string for a streak's targetCountOfSequence",
         streak_group(streaks=[{"name": "two", "targetCountOfSequence": "2"}]),
         "streaks[0].targetCountOfSequence"),
    case("a string for preferredTillId", group(preferredTillId="till-1"), "preferredTillId"),
    case("a number for targetCycleStartDate", group(targetCycleStartDate=20240801),
         "targetCycleStartDate"),
    case("a 31-digit frequency", group(frequency=10**30), "frequency"),
    case("a programId beyond 64 bits", target(**CURRENCY, alternateCurrencyIdentifier="coins",
         programId=2**70), "targets[0].programId"),
]  # fmt: skip

UNKNOWN_ENUMS = [
    case("unknown trackingType", group(trackingType="WEEKLY_STREAK"), "trackingType"),
    case("lower-case trackingType", group(trackingType="default"), "trackingType"),
    case("unknown targetEvaluationType", group(targetEvaluationType="ROLLING_WINDOW"),
         "targetEvaluationType"),
    case("unknown frequencyType", group(frequencyType="FORTNIGHTLY"), "frequencyType"),
    case("unknown targetEntity", target(targetEntity="COUPON"), "targets[0].targetEntity"),
    case("unknown targetType", target(targetType="REVENUE"), "targets[0].targetType"),
    case("a targetType of another entity (ALL_POINTS on TRANSACTION)",
         target(targetType="ALL_POINTS"), "targets[0].targetType"),
    case("a targetType of another entity (VISIT on LINEITEM)",
         target(targetEntity="LINEITEM", targetType="VISIT"), "targets[0].targetType"),
    case("unknown enrolmentMethod", target(enrolmentMethod="MANUAL"), "targets[0].enrolmentMethod"),
    case("unknown triggerValueType", target(targetMilestoneTriggers=[{"triggerName": "half",
         "triggerValueType": "FRACTION", "triggerValue": 50}]),
         "targets[0].targetMilestoneTriggers[0].triggerValueType"),
    case("unknown filter entityType", target(filters=[{"entityType": "COUNTRY", "entityIds": [1]}]),
         "targets[0].filters[0].entityType"),
    case("unknown combinationType", unified(a_target(), a_target(name="b"), combinationType="SOME"),
         "combinationType"),
    case("unknown unified aggregation", unified(a_target(), a_target(name="b"),
         unifiedTargetExpression={"aggregation": "AVG", "thresholdValue": 10}),
         "unifiedTargetExpression.aggregation"),
    case("unknown extendedFieldInfo aggregateFunction", target(targetType="EXTENDED_FIELD",
         extendedFieldInfo={"name": "fuel", "aggregateFunction": "AVG"}),
         "targets[0].extendedFieldInfo.aggregateFunction"),
]  # fmt: skip

LENGTHS_AND_COUNTS = [
    case("a name of 201 characters", group(name="n" * 201), "name", code=NAME_TOO_LONG),
    case("a name of 201 characters inside spaces", group(name=f"  {'n' * 201}  "), "name",
         code=NAME_TOO_LONG),
    case("a name of only spaces", group(name="     "), "name"),
    case("an empty name", group(name=""), "name"),
    case("a name holding a NUL character", group(name="Spend\u0000 1000"), "name"),
    case("a description of 256 characters", group(description="d" * 256), "description"),
    case("a target name of 201 characters", target(name="t" * 201), "targets[0].name"),
    case("a target description of 256 characters", target(description="d" * 256),
         "targets[0].description"),
    case("recurringCycles 101", group(recurringCycles=101), "recurringCycles"),
    case("recurringCycles -2", group(recurringCycles=-2), "recurringCycles"),
    case("totalPeriods 0", group(totalPeriods=0), "totalPeriods"),
    case("totalPeriods 101", group(totalPeriods=101), "totalPeriods"),
    case("a negative frequency", group(frequency=-1), "frequency"),
    case("101 explicit periods", daily(101), "periods"),
    case("no targets", group(targets=[]), "targets"),
    case("51 targets", group(targets=[a_target(name=f"t{n}") for n in range(51)]), "targets"),
]  # fmt: skip

PERIOD_RULES = [
    case("overlapping periods", explicit(("2024-08-01", "2024-08-31"), ("2024-08-15", "2024-09-30")),
         ("periods[1].startDate", "periods[0].endDate")),
    case("periods sharing one day", explicit(("2024-08-01", "2024-08-31"), ("2024-08-31", "2024-09-30")),
         ("periods[1].startDate", "periods[0].endDate")),
    case("a period whose start is after its end", explicit(("2024-08-31", "2024-08-01")),
         ("periods[0].startDate", "periods[0].endDate")),
    case("a period date 2024-13-45", explicit(("2024-13-45", "2024-08-31")), "periods[0].startDate"),
    case("a period date 'yesterday'", explicit(("2024-08-01", "2024-08-31"), ("2024-09-01", "yesterday")),
         "periods[1].endDate"),
    case("two periods with one refCode",
         group(periods=[{"refCode": "P", "startDate": s, "endDate": e} for s, e in THREE_MONTHS[:2]]),
         "periods[1].refCode"),
    case("a blank refCode", group(periods=[{"refCode": "  ", "startDate": "2024-08-01",
         "endDate": "2024-08-31"}]), "periods[0].refCode"),
    case("a targetCycleStartDate that is not a date", group(targetCycleStartDate="next monday"),
         "targetCycleStartDate"),
    case("a targetCycleEndDate before the start", group(targetCycleEndDate="2024-07-01T00:00:00"),
         "targetCycleEndDate"),
    case("a CYCLIC group without targetCycleEndDate",
         group(targetEvaluationType="CYCLIC_WINDOW", targetCycleEndDate=DROP), "targetCycleEndDate"),
    case("an unknown timeZoneName", group(timeZoneName="Mars/Olympus_Mons"), "timeZoneName"),
    case("a timeZoneName that is a path", group(timeZoneName="../../etc/passwd"), "timeZoneName"),
]  # fmt: skip

VALUE_RULES = [
    case("2 defaultValues for 3 periods", target(defaultValue=DROP, defaultValues=values(1, 2)),
         "targets[0].defaultValues"),
    case("4 defaultValues for 3 explicit periods",
         explicit(targets=[a_target(defaultValue=DROP, defaultValues=values(1, 2, 3, 4))]),
         "targets[0].defaultValues"),
    case("a negative defaultValue", target(defaultValue=-5), "targets[0].defaultValue"),
    case("a zero defaultValue", target(defaultValue=0), "targets[0].defaultValue"),
    case("a zero among defaultValues", target(defaultValue=DROP, defaultValues=values(1, 0, 3)),
         "targets[0].defaultValues[1]"),
    case("a value with 4 decimal places", target(defaultValue=1000.1234), "targets[0].defaultValue"),
    case("a value of 10^15", target(defaultValue=10**15), "targets[0].defaultValue"),
    case("a value of 1,000 digits", target(defaultValue=10**1000), "targets[0].defaultValue"),
    case("a zero triggerValue", target(targetMilestoneTriggers=[{"triggerName": "half",
         "triggerValueType": "PERCENTAGE", "triggerValue": 0}]),
         "targets[0].targetMilestoneTriggers[0].triggerValue"),
    case("two triggers with one name", target(targetMilestoneTriggers=[
         {"triggerName": "half", "triggerValueType": "PERCENTAGE", "triggerValue": 50},
         {"triggerName": "half", "triggerValueType": "PERCENTAGE", "triggerValue": 60}]),
         "targets[0].targetMilestoneTriggers[1].triggerName"),
]  # fmt: skip

STREAK_AND_GROUP_RULES = [
    case("a streak group without streaks", streak_group(streaks=DROP), "streaks"),
    case("a streak group with an empty streaks list", streak_group(streaks=[]), "streaks"),
    case("a NON_CONTINUOUS_STREAKS group without streaks",
         streak_group(trackingType="NON_CONTINUOUS_STREAKS", streaks=DROP), "streaks"),
    case("a streak group with 11 levels", streak_group(frequencyType="DAILY", totalPeriods=11,
         targetCycleEndDate=DROP, streaks=levels(*range(1, 12))), "streaks"),
    case("descending streak levels", streak_group(streaks=levels(3, 2)),
         "streaks[1].targetCountOfSequence"),
    case("a repeated streak level", streak_group(streaks=levels(2, 2)),
         "streaks[1].targetCountOfSequence"),
    case("a streak level of 0", streak_group(streaks=levels(0)), "streaks[0].targetCountOfSequence"),
    case("a streak level above the number of periods", streak_group(streaks=levels(4)),
         "streaks[0].targetCountOfSequence"),
    case("a streak group on CYCLIC_WINDOW", streak_group(targetEvaluationType="CYCLIC_WINDOW"),
         "targetEvaluationType"),
    case("a STREAK alias group on PERIOD_AGNOSTIC_WINDOW",
         streak_group(trackingType="STREAK", **AGNOSTIC), "targetEvaluationType"),
    case("UNIFIED with one target", unified(a_target()), "targets"),
    case("UNIFIED aggregation without thresholdValue", unified(a_target(), a_target(name="b"),
         unifiedTargetExpression={"aggregation": "SUM"}), "unifiedTargetExpression.thresholdValue"),
    case("explicit periods on a CYCLIC group",
         explicit(targetEvaluationType="CYCLIC_WINDOW"), "periods"),
]  # fmt: skip

TARGET_RULES = [
    case("ALTERNATE_CURRENCIES without alternateCurrencyIdentifier", target(**CURRENCY, programId=7),
         "targets[0].alternateCurrencyIdentifier"),
    case("ALTERNATE_CURRENCIES without programId",
         target(**CURRENCY, alternateCurrencyIdentifier="coins"), "targets[0].programId"),
    case("IMPORT enrolment on PERIOD_AGNOSTIC_WINDOW",
         group(**AGNOSTIC, targets=[a_target(enrolmentMethod="IMPORT")]), "targets[0].enrolmentMethod"),
    case("AUDIENCE_FILTER enrolment on PERIOD_AGNOSTIC_WINDOW",
         group(**AGNOSTIC, targets=[a_target(enrolmentMethod="AUDIENCE_FILTER",
               targetAudienceFilter=[{"audienceGroupId": 1}])]), "targets[0].enrolmentMethod"),
    case("AUDIENCE_FILTER without targetAudienceFilter", target(enrolmentMethod="AUDIENCE_FILTER"),
         "targets[0].targetAudienceFilter"),
    case("an EVENT target without eventName", target(targetEntity="EVENT", targetType="COUNT"),
         "targets[0].eventName"),
    case("an EVENT target with an empty eventName",
         target(targetEntity="EVENT", targetType="COUNT", eventName=""), "targets[0].eventName"),
    case("EXTENDED_FIELD without extendedFieldInfo", target(targetType="EXTENDED_FIELD"),
         "targets[0].extendedFieldInfo"),
    case("EXTENDED_FIELD without an aggregateFunction",
         target(targetType="EXTENDED_FIELD", extendedFieldInfo={"name": "fuel"}),
         "targets[0].extendedFieldInfo"),
    case("the second of two targets broken",
         group(targets=[a_target(), a_target(name="b", targetType="REVENUE")]),
         "targets[1].targetType"),
]  # fmt: skip

EXPRESSIONS = [
    case("an expression with a syntax error", target(expression="currentTxn.value > > 500"),
         "targets[0].expression", mention="position"),
    case("an expression with an unclosed bracket", target(expression="(currentTxn.value > 500"),
         "targets[0].expression", mention="position"),
    case("an expression with an unknown name", target(expression="currentTx.value > 500"),
         "targets[0].expression", mention="currentTx"),
    case("an expression with an unknown attribute", target(expression="currentTxn.colour == 'red'"),
         "targets[0].expression", mention="colour"),
    case("an expression that tries Python", target(expression="__import__('os').system('id')"),
         "targets[0].expression"),
    case("an expressionJson with an unknown arity",
         target(expressionJson={"arity": "ternary", "value": "?", "operands": []}),
         "targets[0].expressionJson", mention="ternary"),
    case("an expressionJson string that is not JSON", target(expressionJson="{arity: literal"),
         "targets[0].expressionJson"),
    case("an expressionJson nested 60 deep", target(expressionJson=nested_expression(60)),
         "targets[0].expressionJson"),
    case("expression and expressionJson that disagree",
         target(expression="currentTxn.value > 500", expressionJson=LITERAL_TRUE),
         ("targets[0].expressionJson", "targets[0].expression")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "field", "code", "mention"),
    REQUIRED_FIELDS
    + WRONG_TYPES
    + UNKNOWN_ENUMS
    + LENGTHS_AND_COUNTS
    + PERIOD_RULES
    + VALUE_RULES
    + STREAK_AND_GROUP_RULES
    + TARGET_RULES
    + EXPRESSIONS,
)
def test_a_malformed_create_body_is_refused_naming_the_field_and_leaves_nothing_behind(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    body: dict[str, Any],
    status: int,
    field: str | tuple[str, ...],
    code: int | None,
    mention: str | None,
) -> None:
    response = client.post(GROUPS, json=body, auth=org.auth)
    assert_refused(response, status, field, code=code, mention=mention)
    assert_nothing_created(client, org, database)


def test_leaderboards_on_a_cyclic_group_are_refused_with_310132(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    admin.set_org(database, org.org_id, leaderboards_enabled=True)
    body = group(targetEvaluationType="CYCLIC_WINDOW", leaderboardEnabled=True)
    response = client.post(GROUPS, json=body, auth=org.auth)
    assert_refused(response, 400, "leaderboardEnabled", code=LEADERBOARD_NEEDS_FIXED)
    assert_nothing_created(client, org, database)


def test_leaderboards_in_an_org_without_them_are_refused_with_310133(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    response = client.post(GROUPS, json=group(leaderboardEnabled=True), auth=org.auth)
    assert_refused(response, 400, "leaderboardEnabled", code=LEADERBOARD_OFF_FOR_ORG)
    assert_nothing_created(client, org, database)


# --- bodies that are not a JSON object -------------------------------------------------

JSON_TYPE = "application/json"
BASE_TEXT = json.dumps(BASE)

RAW_BODIES = [
    pytest.param(BASE_TEXT[:-12].encode(), JSON_TYPE, "JSON", id="truncated JSON"),
    pytest.param(b'{"name": "x",}', JSON_TYPE, "JSON", id="a trailing comma"),
    pytest.param(b"{'name': 'x'}", JSON_TYPE, "JSON", id="single-quoted JSON"),
    pytest.param(json.dumps([BASE]).encode(), JSON_TYPE, "body", id="a JSON array body"),
    pytest.param(b"null", JSON_TYPE, "body", id="a JSON null body"),
    pytest.param(b"42", JSON_TYPE, "body", id="a JSON number body"),
    pytest.param(b'"a string"', JSON_TYPE, "body", id="a JSON string body"),
    pytest.param(b"", JSON_TYPE, "body", id="an empty body"),
    pytest.param(b"   \n  ", JSON_TYPE, "JSON", id="a body of whitespace"),
    pytest.param(b"\xff\xfe{\x00\x00", JSON_TYPE, "JSON", id="bytes that are not UTF-8"),
    pytest.param(
        BASE_TEXT.replace('"defaultValue": 1000', '"defaultValue": NaN').encode(),
        JSON_TYPE,
        "NaN",
        id="NaN in the JSON",
    ),
    pytest.param(
        BASE_TEXT.replace('"defaultValue": 1000', '"defaultValue": Infinity').encode(),
        JSON_TYPE,
        "Infinity",
        id="Infinity in the JSON",
    ),
    pytest.param(
        BASE_TEXT.replace('"frequency": 1', '"frequency": -Infinity').encode(),
        JSON_TYPE,
        "Infinity",
        id="-Infinity in the JSON",
    ),
    pytest.param(
        ("[" * 100_000 + "]" * 100_000).encode(), JSON_TYPE, "JSON", id="100,000 nested arrays"
    ),
    pytest.param(
        ('{"a":' * 50_000 + "1" + "}" * 50_000).encode(),
        JSON_TYPE,
        "JSON",
        id="50,000 nested objects",
    ),
    pytest.param(
        BASE_TEXT.replace('"defaultValue": 1000', '"defaultValue": 1' + "0" * 5000).encode(),
        JSON_TYPE,
        ("defaultValue", "digits"),
        id="a number of 5,000 digits",
    ),
]


@pytest.mark.parametrize(("content", "content_type", "mention"), RAW_BODIES)
def test_a_create_body_that_is_not_a_json_object_is_refused_with_400(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    content: bytes,
    content_type: str,
    mention: str,
) -> None:
    response = client.post(
        GROUPS, content=content, headers={"Content-Type": content_type}, auth=org.auth
    )
    assert_refused(response, 400, None, mention=mention)
    assert_nothing_created(client, org, database)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b"name=x&&&==;;\x01", "text/plain", id="garbage as text/plain"),
        pytest.param(b"<group><name>x</name></group>", "application/xml", id="an XML body"),
    ],
)
def test_a_create_body_that_is_not_json_is_refused_with_415(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    content: bytes,
    content_type: str,
) -> None:
    response = client.post(
        GROUPS, content=content, headers={"Content-Type": content_type}, auth=org.auth
    )
    assert_refused(response, 415, "Content-Type", code=300015, mention="application/json")
    assert_nothing_created(client, org, database)


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"name": "big", "description": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


@pytest.mark.parametrize(
    "streamed",
    [
        pytest.param(False, id="with a Content-Length of about 3 MB"),
        pytest.param(True, id="streamed in chunks without a Content-Length"),
    ],
)
def test_a_body_over_the_size_limit_is_refused_with_413(
    client: TestClient, org: OrgCredentials, database: Database, streamed: bool
) -> None:
    size = 3 * 1000 * 1000
    assert size > BODY_LIMIT
    if streamed:
        response = client.post(
            GROUPS, content=_chunks(size), headers={"Content-Type": JSON_TYPE}, auth=org.auth
        )
    else:
        response = client.post(GROUPS, json=group(description="x" * size), auth=org.auth)
    assert_refused(response, 413, None, mention=("body", "large", "limit"))
    assert_nothing_created(client, org, database)


def test_a_put_body_over_the_size_limit_is_refused_with_413_and_changes_nothing(
    client: TestClient, org: OrgCredentials
) -> None:
    created = create(client, org, group())
    before = read(client, org, created["id"])
    response = client.put(
        f"{GROUPS}/{created['id']}", json={"description": "x" * 3_000_000}, auth=org.auth
    )
    assert_refused(response, 413, None, mention=("body", "large", "limit"))
    assert read(client, org, created["id"]) == before


# --- names already used ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Spend 1000 a month", id="the same name"),
        pytest.param("SPEND 1000 A MONTH", id="the name in upper case"),
        pytest.param("spend 1000 a month", id="the name in lower case"),
        pytest.param("  sPEND 1000 a Month  ", id="the name in mixed case inside spaces"),
    ],
)
def test_a_name_already_used_in_the_org_is_refused_with_409_whatever_its_case(
    client: TestClient, org: OrgCredentials, name: str
) -> None:
    create(client, org, group())
    response = client.post(
        GROUPS, json=group(name=name, targets=[a_target(name="other")]), auth=org.auth
    )
    assert_refused(response, 409, "name", code=NAME_TAKEN)
    assert count_groups(client, org) == 1


# --- credentials -----------------------------------------------------------------------


CREDENTIALS = [
    pytest.param({}, "Authorization", id="no Authorization header"),
    pytest.param(basic(encoded("client-50363", "wrong")), "secret", id="a wrong secret"),
    pytest.param(basic(encoded("client-50363", "")), "secret", id="an empty secret"),
    pytest.param(basic(encoded("client-nobody", "secret-50363")), "client", id="an unknown client"),
    pytest.param(basic("!!!not-base64!!!"), "base64", id="malformed Basic base64"),
    pytest.param(basic(base64.b64encode(b"no-colon").decode()), "clientId", id="Basic without ':'"),
    pytest.param(basic(base64.b64encode(b"\xff\xfe:\xff").decode()), "base64", id="Basic not UTF-8"),
    pytest.param({"Authorization": "Basic"}, "Authorization", id="Basic with nothing after it"),
    pytest.param({"Authorization": "Bearer not-a-token"}, "token", id="an unknown bearer token"),
    pytest.param({"Authorization": "Bearer "}, "Authorization", id="an empty bearer token"),
    pytest.param({"Authorization": "Token abc"}, "Authorization", id="an unknown scheme"),
    pytest.param(
        basic(encoded("client-50363", "secret-50363" + "x" * 10_000)),
        "secret",
        id="a 10,000-character secret",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("headers", "mention"), CREDENTIALS)
def test_a_read_with_bad_credentials_is_refused_with_401(
    client: TestClient, org: OrgCredentials, headers: dict[str, str], mention: str
) -> None:
    response = client.get(GROUPS, headers=headers)
    assert_refused(response, 401, None, mention=mention)
    assert "www-authenticate" in response.headers


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(("client-50363", "wrong"), id="a wrong secret"),
        pytest.param(None, id="no credentials"),
    ],
)
def test_a_create_with_bad_credentials_is_refused_with_401_and_creates_nothing(
    client: TestClient, org: OrgCredentials, database: Database, auth: tuple[str, str] | None
) -> None:
    response = client.post(GROUPS, json=group(), auth=auth)
    assert_refused(response, 401, None, mention=("secret", "credentials"))
    assert_nothing_created(client, org, database)


def test_a_bad_body_with_bad_credentials_is_refused_as_unauthenticated(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    response = client.post(GROUPS, json=group(name=None), auth=("client-50363", "wrong"))
    assert_refused(response, 401, None, mention="secret")
    assert_nothing_created(client, org, database)


# --- data scope ------------------------------------------------------------------------


@pytest.fixture
def neighbours(database: Database, clock: Clock, org: OrgCredentials) -> tuple[int, int]:
    """Org 60001, connected to ``org``, and org 60002, which is not."""
    make_org(database, clock, 60001)
    make_org(database, clock, 60002)
    admin.connect_orgs(database, org.org_id, 60001)
    return 60001, 60002


SCOPES = [
    pytest.param({"DATA-SCOPE": "EVERYONE"}, 400, "DATA-SCOPE", id="an unknown DATA-SCOPE"),
    pytest.param({"DATA-SCOPE": "OTHER"}, 400, "DATA-SCOPE-ORG", id="OTHER without DATA-SCOPE-ORG"),
    pytest.param({"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": " , "}, 400, "DATA-SCOPE-ORG",
                 id="OTHER with an empty DATA-SCOPE-ORG"),
    pytest.param({"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "60002"}, 403, "DATA-SCOPE-ORG",
                 id="OTHER naming an org that is not connected"),
    pytest.param({"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "60001,60002"}, 403, "DATA-SCOPE-ORG",
                 id="OTHER naming a connected and an unconnected org"),
    pytest.param({"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "987654"}, 403, "DATA-SCOPE-ORG",
                 id="OTHER naming an org that does not exist"),
    pytest.param({"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "abc"}, 400, "DATA-SCOPE-ORG",
                 id="OTHER with a non-numeric DATA-SCOPE-ORG"),
    pytest.param({"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "-5"}, 400, "DATA-SCOPE-ORG",
                 id="OTHER with a negative DATA-SCOPE-ORG"),
    pytest.param({"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": "9" * 40}, 400, "DATA-SCOPE-ORG",
                 id="OTHER with a 40-digit DATA-SCOPE-ORG"),
]  # fmt: skip


@pytest.mark.parametrize(("headers", "status", "field"), SCOPES)
@pytest.mark.parametrize("path", ["list", "one group"])
def test_a_data_scope_outside_the_caller_s_reach_is_refused(
    client: TestClient,
    org: OrgCredentials,
    neighbours: tuple[int, int],
    headers: dict[str, str],
    status: int,
    field: str,
    path: str,
) -> None:
    created = create(client, org, group())
    url = GROUPS if path == "list" else f"{GROUPS}/{created['id']}"
    response = client.get(url, headers=headers, auth=org.auth)
    assert_refused(response, status, field)


# --- other orgs' and unknown resources -------------------------------------------------


def test_another_org_s_group_cannot_be_read_listed_or_changed(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    other = make_org(database, clock, 70001)
    theirs = create(client, other, group())
    before = read(client, other, theirs["id"])
    target_id = before["targets"][0]["id"]
    attempts = [
        client.get(f"{GROUPS}/{theirs['id']}", auth=org.auth),
        client.get(f"{GROUPS}/{theirs['id']}/targets", auth=org.auth),
        client.put(f"{GROUPS}/{theirs['id']}", json={"description": "mine now"}, auth=org.auth),
        client.put(
            f"{GROUPS}/{theirs['id']}",
            json={"targets": [{"id": target_id, "defaultValue": 1}]},
            auth=org.auth,
        ),
    ]
    for response in attempts:
        assert_refused(response, 404, "id", mention=str(theirs["id"]))
    assert count_groups(client, org) == 0
    assert read(client, other, theirs["id"]) == before


@pytest.mark.parametrize(
    ("method", "suffix", "status", "field"),
    [
        pytest.param("GET", "/999999", 404, "id", id="GET of an unknown id"),
        pytest.param("GET", "/999999/targets", 404, "id", id="GET targets of an unknown id"),
        pytest.param("PUT", "/999999", 404, "id", id="PUT of an unknown id"),
        pytest.param("GET", "/abc", 400, "groupId", id="GET of a non-numeric id"),
        pytest.param("GET", "/1.5", 400, "groupId", id="GET of a fractional id"),
        pytest.param("GET", "/-3", 400, "groupId", id="GET of a negative id"),
        pytest.param("GET", "/abc/targets", 400, "groupId", id="GET targets of a non-numeric id"),
        pytest.param("PUT", "/abc", 400, "groupId", id="PUT of a non-numeric id"),
        pytest.param("GET", "/" + "9" * 30, 400, "groupId", id="GET of a 30-digit id"),
    ],
)
def test_an_unknown_or_malformed_group_id_is_refused(
    client: TestClient,
    org: OrgCredentials,
    method: str,
    suffix: str,
    status: int,
    field: str,
) -> None:
    create(client, org, group())
    kwargs: dict[str, Any] = {"json": {"description": "x"}} if method == "PUT" else {}
    response = client.request(method, f"{GROUPS}{suffix}", auth=org.auth, **kwargs)
    assert_refused(response, status, field)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"limit": "0"}, "limit", id="limit=0"),
        pytest.param({"limit": "101"}, "limit", id="limit=101"),
        pytest.param({"limit": "abc"}, "limit", id="limit=abc"),
        pytest.param({"limit": "-1"}, "limit", id="limit=-1"),
        pytest.param({"offset": "-1"}, "offset", id="offset=-1"),
        pytest.param({"offset": "ten"}, "offset", id="offset=ten"),
        pytest.param({"offset": "9" * 30}, "offset", id="offset of 30 digits"),
        pytest.param({"includePeriods": "maybe"}, "includePeriods", id="includePeriods=maybe"),
        pytest.param({"trackingType": "WEEKLY"}, "trackingType", id="trackingType=WEEKLY"),
    ],
)
def test_bad_list_query_parameters_are_refused_with_400(
    client: TestClient, org: OrgCredentials, params: dict[str, str], field: str
) -> None:
    response = client.get(GROUPS, params=params, auth=org.auth)
    assert_refused(response, 400, field)


# --- updates that would rewrite history ------------------------------------------------

Update = Callable[[dict[str, Any]], dict[str, Any]]


def _target_change(**changes: Any) -> Update:
    return lambda stored: {"targets": [{"id": stored["targets"][0]["id"], **changes}]}


def _period_change(index: int, **changes: Any) -> Update:
    def build(stored: dict[str, Any]) -> dict[str, Any]:
        period = stored["periods"][index]
        entry = {key: period[key] for key in ("id", "refCode", "startDate", "endDate")}
        return {"periods": [{**entry, **changes}]}

    return build


def _value_for_period(index: int, amount: Any) -> Update:
    def build(stored: dict[str, Any]) -> dict[str, Any]:
        entry = {"periodId": stored["periods"][index]["id"], "defaultValue": amount}
        return {"targets": [{"id": stored["targets"][0]["id"], "defaultValues": [entry]}]}

    return build


def _new_period(start: str, end: str, ref_code: str = "Cycle_4") -> Update:
    return lambda stored: {"periods": [{"refCode": ref_code, "startDate": start, "endDate": end}]}


def _fixed(body: dict[str, Any]) -> Update:
    return lambda stored: body


ENDED_AUGUST = datetime(2024, 9, 15, 6, 0, tzinfo=UTC)


def refused_update(
    name: str,
    update: Update,
    field: str,
    *,
    now: datetime | None = None,
    code: int | None = None,
) -> Any:
    return pytest.param(update, now, field, code, id=name)


UPDATES = [
    refused_update("a new frequencyType", _fixed({"frequencyType": "WEEKLY"}), "frequencyType"),
    refused_update("a new frequency", _fixed({"frequency": 2}), "frequency"),
    refused_update("a new trackingType", _fixed({"trackingType": "STREAKS"}), "trackingType"),
    refused_update("a new targetEvaluationType", _fixed({"targetEvaluationType": "CYCLIC_WINDOW"}),
                   "targetEvaluationType"),
    refused_update("new recurringCycles", _fixed({"recurringCycles": 5}), "recurringCycles"),
    refused_update("a new timeZoneName", _fixed({"timeZoneName": "UTC"}), "timeZoneName"),
    refused_update("a totalPeriods that is not the period count", _fixed({"totalPeriods": 7}),
                   "totalPeriods"),
    refused_update("a new value for an ended period", _value_for_period(0, 5),
                   "targets[0].defaultValues", now=ENDED_AUGUST),
    refused_update("a zero value for a future period", _value_for_period(1, 0),
                   "targets[0].defaultValues"),
    refused_update("a negative defaultValue", _target_change(defaultValue=-1),
                   "targets[0].defaultValue"),
    refused_update("new dates for an existing period", _period_change(0, startDate="2024-08-05"),
                   "periods[0]"),
    refused_update("a new endDate for a future period", _period_change(1, endDate="2024-09-20"),
                   "periods[0]"),
    refused_update("a new refCode for an existing period", _period_change(1, refCode="September"),
                   "periods[0]"),
    refused_update("a period id not in the group", _period_change(0, id=999999), "periods[0].id"),
    refused_update("an existing period with an impossible date",
                   _period_change(0, startDate="2024-02-30"), "periods[0].startDate"),
    refused_update("a new period in the past", _new_period("2024-06-01", "2024-06-30"),
                   "periods[0].startDate"),
    refused_update("a new period overlapping the last one", _new_period("2024-10-15", "2024-11-30"),
                   "periods[0].startDate"),
    refused_update("a new period reusing a refCode",
                   _new_period("2024-11-01", "2024-11-30", "Cycle_2"), "periods[0].refCode"),
    refused_update("a new period that ends before it starts",
                   _new_period("2024-11-30", "2024-11-01"), "periods[0]"),
    refused_update("a new targetType", _target_change(targetType="COUNT"), "targets[0].targetType"),
    refused_update("a new targetEntity", _target_change(targetEntity="LINEITEM"),
                   "targets[0].targetEntity"),
    refused_update("a new enrolmentMethod", _target_change(enrolmentMethod="IMPORT"),
                   "targets[0].enrolmentMethod"),
    refused_update("a target id not in the group",
                   _fixed({"targets": [{"id": 999999, "description": "x"}]}), "targets[0].id"),
    refused_update("a target without its id", _fixed({"targets": [{"description": "no id"}]}),
                   "targets[0].id"),
    refused_update("a broken expression", _target_change(expression="currentTxn.value >"),
                   "targets[0].expression"),
    refused_update("a name of 201 characters", _fixed({"name": "n" * 201}), "name",
                   code=NAME_TOO_LONG),
    refused_update("a name of only spaces", _fixed({"name": "   "}), "name"),
    refused_update("yes for active", _fixed({"active": "yes"}), "active"),
    refused_update("a description of 256 characters", _fixed({"description": "d" * 256}),
                   "description"),
    refused_update("an object where the periods list goes", _fixed({"periods": {"refCode": "x"}}),
                   "periods"),
]  # fmt: skip


@pytest.mark.parametrize(("update", "now", "field", "code"), UPDATES)
def test_an_update_that_rewrites_history_or_breaks_a_rule_is_refused_and_changes_nothing(
    client: TestClient,
    org: OrgCredentials,
    clock: Clock,
    update: Update,
    now: datetime | None,
    field: str,
    code: int | None,
) -> None:
    created = create(client, org, group())
    if now is not None:
        clock.set(now)
    before = read(client, org, created["id"])
    response = client.put(f"{GROUPS}/{created['id']}", json=update(before), auth=org.auth)
    assert_refused(response, 400, field, code=code)
    assert read(client, org, created["id"]) == before


def test_an_update_to_a_name_used_by_another_group_is_refused_with_409(
    client: TestClient, org: OrgCredentials
) -> None:
    create(client, org, group())
    second = create(client, org, group(name="Visit twice"))
    before = read(client, org, second["id"])
    response = client.put(
        f"{GROUPS}/{second['id']}", json={"name": "spend 1000 A MONTH"}, auth=org.auth
    )
    assert_refused(response, 409, "name", code=NAME_TAKEN)
    assert read(client, org, second["id"]) == before


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"description": "x"', id="truncated JSON"),
        pytest.param(b"[]", id="a JSON array"),
        pytest.param(b'{"description": NaN}', id="NaN"),
    ],
)
def test_an_update_body_that_is_not_a_json_object_is_refused_and_changes_nothing(
    client: TestClient, org: OrgCredentials, content: bytes
) -> None:
    created = create(client, org, group())
    before = read(client, org, created["id"])
    response = client.put(
        f"{GROUPS}/{created['id']}",
        content=content,
        headers={"Content-Type": JSON_TYPE},
        auth=org.auth,
    )
    assert_refused(response, 400, None)
    assert read(client, org, created["id"]) == before


# --- oauth, paths, methods -------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_kwargs", "status", "field", "mention"),
    [
        pytest.param({"data": {"grant_type": "password", "client_id": "client-50363",
                               "client_secret": "secret-50363"}}, 400, "grant_type", None,
                     id="a wrong grant_type"),
        pytest.param({"data": {"client_id": "client-50363", "client_secret": "secret-50363"}},
                     400, "grant_type", None, id="no grant_type"),
        pytest.param({"data": {"grant_type": "client_credentials", "client_id": "client-50363",
                               "client_secret": "wrong"}}, 401, None, "secret",
                     id="a wrong secret"),
        pytest.param({"data": {"grant_type": "client_credentials", "client_id": "nobody",
                               "client_secret": "secret-50363"}}, 401, None, "client",
                     id="an unknown client"),
        pytest.param({"data": {"grant_type": "client_credentials"}}, 401, None, "client_id",
                     id="no client credentials"),
        pytest.param({"json": {"grant_type": "client_credentials", "client_id": "client-50363",
                               "client_secret": "wrong"}}, 401, None, "secret",
                     id="a wrong secret in JSON"),
        pytest.param({"content": b'{"grant_type": ', "headers": {"Content-Type": JSON_TYPE}},
                     400, None, "JSON", id="truncated JSON"),
        pytest.param({"json": ["client_credentials"]}, 400, None, "object", id="a JSON array"),
        pytest.param({"content": b"grant_type=client_credentials",
                      "headers": {"Content-Type": "application/x-www-form-urlencoded",
                                  "Authorization": "Basic %%%"}}, 401, None, "base64",
                     id="malformed Basic on the token endpoint"),
    ],
)  # fmt: skip
def test_a_bad_token_request_is_refused(
    client: TestClient,
    org: OrgCredentials,
    request_kwargs: dict[str, Any],
    status: int,
    field: str | None,
    mention: str | None,
) -> None:
    response = client.post("/v3/oauth/token", **request_kwargs)
    assert_refused(response, status, field, mention=mention)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/v3/nothing", 404, id="an unknown path"),
        pytest.param("GET", "/v4/targetGroups", 404, id="an unknown version"),
        pytest.param("GET", "/v3/targetGroups/1/periods", 404, id="an unknown sub-resource"),
        pytest.param("DELETE", "/v3/targetGroups", 405, id="DELETE on the collection"),
        pytest.param("PATCH", "/v3/targetGroups/1", 405, id="PATCH on a group"),
        pytest.param("PUT", "/v3/targetGroups", 405, id="PUT on the collection"),
        pytest.param("POST", "/health", 405, id="POST on health"),
    ],
)
def test_an_unknown_path_or_wrong_method_answers_in_the_envelope(
    client: TestClient, org: OrgCredentials, method: str, path: str, status: int
) -> None:
    response = client.request(method, path, auth=org.auth, json={})
    assert_refused(response, status, None, mention=("path", "method", "resource"))
