"""Target expressions (SPEC §7) evaluated on real events through POST /v3/events.

A target counts an event only when its expression is true: APPLIED with a side effect on
that target when it is, NO_MATCH when it is false, when an attribute is missing, or when
the types do not fit.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials

Json = dict[str, Any]
USER = 347286146
AT = "2024-08-27T09:43:40.000Z"

# The bill every transaction expression below is evaluated on.
BILL: Json = {
    "eventId": "B-1001",
    "eventName": "TransactionAdd",
    "userId": USER,
    "eventTime": AT,
    "storeId": 11,
    "tillId": 22,
    "transaction": {
        "billNumber": "B-1001",
        "billAmount": 600,
        "grossAmount": 700,
        "discount": 100,
        "extendedFields": {"channel": "online", "CentralGST": 12.5},
        "lineItems": [
            {"itemCode": "SKU1", "category": "shoes", "qty": 2, "rate": 250, "amount": 500},
            {"itemCode": "SKU2", "category": "socks", "qty": 1, "rate": 100, "amount": 100},
        ],
    },
}
SPIN: Json = {
    "eventId": "E-1",
    "eventName": "GameSpin",
    "userId": USER,
    "eventTime": AT,
    "attributes": {"spins": 3, "level": "gold", "bonus": 0.5, "firstSpin": True},
}
COINS: Json = {
    "eventId": "P-1",
    "eventName": "PointsEarned",
    "userId": USER,
    "eventTime": AT,
    "currency": {"identifier": "coins", "programId": 973, "amount": 50, "earnType": "REGULAR"},
}


def counts(client: TestClient, org: OrgCredentials, target: Json, event: Json) -> bool:
    """Create a group with ``target``, send ``event``: did the target count it?"""
    body = monthly_spend("Expression group", targets=[{"defaultValue": 100000, **target}])
    created = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert created.status_code == 201, created.text
    target_id = created.json()["data"]["targets"][0]["id"]
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    touched = [effect["targetRuleId"] for effect in data["sideEffects"]]
    if data["status"] == "APPLIED":
        assert touched == [target_id], data
        return True
    assert data["status"] == "NO_MATCH", data
    assert touched == []
    return False


def spin_target(expression: str) -> Json:
    return {
        "name": "spins",
        "targetEntity": "EVENT",
        "targetType": "COUNT",
        "eventName": "GameSpin",
        "expression": expression,
    }


def bill_target(expression: str) -> Json:
    return {
        "name": "bills",
        "targetEntity": "TRANSACTION",
        "targetType": "COUNT",
        "expression": expression,
    }


OPERATORS = [
    # comparisons
    ("currentTxn.value == 600", True),
    ("currentTxn.value == 601", False),
    ("currentTxn.value != 601", True),
    ("currentTxn.value != 600", False),
    ("currentTxn.value > 599.999", True),
    ("currentTxn.value > 600", False),
    ("currentTxn.value >= 600", True),
    ("currentTxn.value >= 600.001", False),
    ("currentTxn.value < 600.001", True),
    ("currentTxn.value < 600", False),
    ("currentTxn.value <= 600", True),
    ("currentTxn.value <= 599.999", False),
    # logic, both spellings
    ("currentTxn.value > 500 && currentTxn.discount == 100", True),
    ("currentTxn.value > 500 && currentTxn.discount == 99", False),
    ("currentTxn.value > 1000 || currentTxn.discount == 100", True),
    ("currentTxn.value > 1000 || currentTxn.discount == 99", False),
    ("!(currentTxn.value > 1000)", True),
    ("!(currentTxn.value > 500)", False),
    ("currentTxn.value > 500 and currentTxn.grossValue == 700", True),
    ("currentTxn.value > 500 and currentTxn.grossValue == 600", False),
    ("currentTxn.value > 1000 or currentTxn.grossValue == 700", True),
    ("currentTxn.value > 1000 or currentTxn.grossValue == 600", False),
    ("not (currentTxn.value > 1000)", True),
    ("not (currentTxn.value > 500)", False),
    # arithmetic
    ("currentTxn.value + currentTxn.discount == currentTxn.grossValue", True),
    ("currentTxn.value + currentTxn.discount == 600", False),
    ("currentTxn.grossValue - currentTxn.discount == 600", True),
    ("currentTxn.grossValue - currentTxn.discount == 700", False),
    ("currentTxn.value * 2 == 1200", True),
    ("currentTxn.value * 0.1 == 60", True),
    ("currentTxn.value * 2 == 600", False),
    ("currentTxn.value / 4 == 150", True),
    ("currentTxn.value / 7 * 7 > 599", True),
    ("currentTxn.value / 4 == 600", False),
    ("-currentTxn.value == -600", True),
    ("-currentTxn.value > 0", False),
    ("-(currentTxn.value - currentTxn.grossValue) == currentTxn.discount", True),
    ("0.1 + 0.2 == 0.3", True),
    # brackets and precedence
    ("(currentTxn.value + 100) * 2 == 1400", True),
    ("currentTxn.value + 100 * 2 == 800", True),
    ("currentTxn.value + 100 * 2 == 1400", False),
    (
        "(currentTxn.value > 1000 || currentTxn.discount == 100) && currentTxn.numberOfItems == 3",
        True,
    ),
    (
        "currentTxn.value > 1000 || (currentTxn.discount == 100 && currentTxn.numberOfItems == 4)",
        False,
    ),
    (
        "currentTxn.value > 1000 || currentTxn.discount == 100 && currentTxn.numberOfItems == 3",
        True,
    ),
    # the bill's other names
    ("currentTxn.numberOfItems == 3", True),
    ("currentTxn.storeId == 11 && currentTxn.tillId == 22", True),
    ("currentTxn.storeId == 12", False),
]


@pytest.mark.parametrize(("expression", "expected"), OPERATORS)
def test_an_operator_is_evaluated_on_the_bill(
    client: TestClient, org: OrgCredentials, expression: str, expected: bool
) -> None:
    assert counts(client, org, bill_target(expression), BILL) is expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("currentTxn.billNumber == 'B-1001'", True),
        ("currentTxn.billNumber == 'B-1002'", False),
        ("currentTxn.billNumber != 'B-1002'", True),
        ("currentTxn.billNumber != 'B-1001'", False),
        ("currentTxn.extendedFields.channel == 'online'", True),
        ("currentTxn.extendedFields.channel == 'store'", False),
        ("currentTxn.extendedFields.channel != 'store'", True),
    ],
)
def test_strings_compare_as_text(
    client: TestClient, org: OrgCredentials, expression: str, expected: bool
) -> None:
    assert counts(client, org, bill_target(expression), BILL) is expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("currentTxn.extendedFields.CentralGST == 12.5", True),
        ("currentTxn.extendedFields.CentralGST > 12.5", False),
        ("currentTxn.extendedFields.CentralGST * 2 == 25", True),
    ],
)
def test_a_bills_extended_fields_are_read_by_name(
    client: TestClient, org: OrgCredentials, expression: str, expected: bool
) -> None:
    assert counts(client, org, bill_target(expression), BILL) is expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("currentLineItem.category == 'shoes'", 1),
        ("currentLineItem.qty >= 1", 2),
        ("currentLineItem.itemCode != 'SKU1'", 1),
        ("currentLineItem.rate * currentLineItem.qty == currentLineItem.value", 2),
        ("currentLineItem.category == 'socks' && currentTxn.value > 500", 1),
        ("currentLineItem.category == 'socks' && currentTxn.value > 600", 0),
        ("currentLineItem.category == 'belts'", 0),
    ],
)
def test_a_line_item_expression_is_evaluated_on_each_line(
    client: TestClient, org: OrgCredentials, expression: str, expected: int
) -> None:
    target = {
        "name": "lines",
        "targetEntity": "LINEITEM",
        "targetType": "COUNT",
        "expression": expression,
        "defaultValue": 100,
    }
    body = monthly_spend("Line items", targets=[target])
    assert client.post("/v3/targetGroups", json=body, auth=org.auth).status_code == 201
    data = client.post("/v3/events", json=BILL, auth=org.auth).json()["data"]
    counted = [effect["currentEventTargetValue"] for effect in data["sideEffects"]]
    assert counted == ([expected] if expected else []), data


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("currentEvent.spins == 3", True),
        ("currentEvent.spins >= 4", False),
        ("currentEvent.spins * currentEvent.bonus == 1.5", True),
        ("currentEvent.level == 'gold'", True),
        ("currentEvent.level == 'silver'", False),
        ("currentEvent.firstSpin == true", True),
        ("currentEvent.firstSpin == false", False),
        ("currentEvent.eventName == 'GameSpin'", True),
        ("currentEvent.eventName == 'AppOpened'", False),
    ],
)
def test_a_custom_events_attributes_are_read_from_current_event(
    client: TestClient, org: OrgCredentials, expression: str, expected: bool
) -> None:
    assert counts(client, org, spin_target(expression), SPIN) is expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("currentCurrency.amount >= 50 && currentCurrency.earnType == 'REGULAR'", True),
        ("currentCurrency.identifier == 'coins'", True),
        ("currentCurrency.amount > 50", False),
    ],
)
def test_a_currency_earnings_fields_are_read_from_current_currency(
    client: TestClient, org: OrgCredentials, expression: str, expected: bool
) -> None:
    target = {
        "name": "coins",
        "targetEntity": "ALTERNATE_CURRENCIES",
        "targetType": "ALL",
        "alternateCurrencyIdentifier": "coins",
        "programId": 973,
        "expression": expression,
    }
    assert counts(client, org, target, COINS) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "currentEvent.wheel == 'big'",
        "currentEvent.wheel > 0",
        "currentEvent.wheel != 'big'",
        "!(currentEvent.wheel == 'big')",
        "currentEvent.wheel.size == 1",
    ],
)
def test_a_missing_attribute_makes_the_expression_false(
    client: TestClient, org: OrgCredentials, expression: str
) -> None:
    assert counts(client, org, spin_target(expression), SPIN) is False


@pytest.mark.parametrize(
    "expression",
    [
        "currentTxn.extendedFields.missing == 1",
        "currentTxn.extendedFields.missing != 1",
        "!(currentTxn.extendedFields.missing > 1)",
    ],
)
def test_a_missing_extended_field_makes_the_expression_false(
    client: TestClient, org: OrgCredentials, expression: str
) -> None:
    assert counts(client, org, bill_target(expression), BILL) is False


@pytest.mark.parametrize(
    "expression",
    [
        "currentEvent.level > 5",
        "currentEvent.level + 1 == 2",
        "currentEvent.spins == 'three'",
        "currentEvent.spins != 'three'",
        "-currentEvent.level == 1",
        "!currentEvent.spins",
        "currentEvent.spins && true",
        "currentEvent.firstSpin > 0",
    ],
)
def test_a_type_mismatch_in_an_attribute_makes_the_expression_false(
    client: TestClient, org: OrgCredentials, expression: str
) -> None:
    assert counts(client, org, spin_target(expression), SPIN) is False


@pytest.mark.parametrize(
    "expression",
    [
        "currentTxn.extendedFields.channel * 2 > 0",
        "currentTxn.extendedFields.channel > 5",
        "currentTxn.extendedFields.CentralGST == 'twelve'",
    ],
)
def test_a_type_mismatch_in_an_extended_field_makes_the_expression_false(
    client: TestClient, org: OrgCredentials, expression: str
) -> None:
    assert counts(client, org, bill_target(expression), BILL) is False


def test_a_division_by_zero_makes_the_expression_false(
    client: TestClient, org: OrgCredentials
) -> None:
    assert counts(client, org, bill_target("currentTxn.value / 0 > 0"), BILL) is False


def test_an_expression_is_evaluated_per_event(client: TestClient, org: OrgCredentials) -> None:
    body = monthly_spend(
        "Big bills", targets=[{**bill_target("currentTxn.value > 500"), "defaultValue": 10}]
    )
    assert client.post("/v3/targetGroups", json=body, auth=org.auth).status_code == 201
    statuses = []
    for number, amount in enumerate([500, 500.001, 499, 1000]):
        event = {**BILL, "eventId": f"B-{number}"}
        event["transaction"] = {**BILL["transaction"], "billAmount": amount}
        statuses.append(client.post("/v3/events", json=event, auth=org.auth).json()["data"])
    assert [data["status"] for data in statuses] == ["NO_MATCH", "APPLIED", "NO_MATCH", "APPLIED"]
    assert [
        effect["targetAchievedValueAfterEvent"]
        for data in statuses
        for effect in data["sideEffects"]
    ] == [1, 2]
