"""What each KPI of SPEC §6.2 takes from an event, as POST /v3/events answers it.

Every test creates a group, sends real events and reads the side effects: the event's
own contribution (``currentEventTargetValue``) and the progress after it
(``targetAchievedValueAfterEvent``), compared as exact decimals.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials

Json = dict[str, Any]
USER = 347286146
AT = "2024-08-27T09:43:40.000Z"  # the clock is pinned at 2024-08-27T10:00Z
SHOES = "currentLineItem.category == 'shoes'"


def decoded(response: Response) -> Json:
    """The answer with every number as an exact Decimal."""
    body: Json = json.loads(response.content, parse_float=Decimal)
    return body


def create_group(client: TestClient, org: OrgCredentials, *targets: Json, **changes: Any) -> Json:
    """A monthly fixed group (Aug, Sep, Oct 2024) holding ``targets``."""
    body = monthly_spend(changes.pop("name", "KPI group"), targets=list(targets), **changes)
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    group: Json = response.json()["data"]
    return group


def target(entity: str, kpi: str, value: Any = 1000, **fields: Any) -> Json:
    """A target body: ``entity`` measured by ``kpi`` against ``value`` every period."""
    name = f"{entity} {kpi}"
    return {
        "name": name,
        "targetEntity": entity,
        "targetType": kpi,
        "defaultValue": value,
        **fields,
    }


def send(client: TestClient, org: OrgCredentials, event: Json) -> Json:
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text
    data: Json = decoded(response)["data"]
    return data


def bill(event_id: str, amount: Any = 100, *, at: str = AT, **transaction: Any) -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": USER,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount, **transaction},
    }


def custom(event_id: str, name: str = "GameSpin", *, at: str = AT, **attributes: Any) -> Json:
    return {
        "eventId": event_id,
        "eventName": name,
        "userId": USER,
        "eventTime": at,
        "attributes": attributes,
    }


def earning(event_id: str, amount: Any, *, at: str = AT, **currency: Any) -> Json:
    return {
        "eventId": event_id,
        "eventName": "PointsEarned",
        "userId": USER,
        "eventTime": at,
        "currency": {"amount": amount, **currency},
    }


def progress(data: Json) -> list[tuple[Decimal, Decimal]]:
    """(currentEventTargetValue, targetAchievedValueAfterEvent) of each side effect."""
    return [
        (effect["currentEventTargetValue"], effect["targetAchievedValueAfterEvent"])
        for effect in data["sideEffects"]
    ]


def counted(data: Json) -> Decimal:
    """The achieved value after an event that must have counted (exactly one side effect)."""
    assert data["status"] == "APPLIED", data
    assert len(data["sideEffects"]) == 1, data
    after: Decimal = data["sideEffects"][0]["targetAchievedValueAfterEvent"]
    return after


def added_nothing(data: Json) -> bool:
    """True if the event moved no user target (no side effect, or only zero ones)."""
    return all(effect["currentEventTargetValue"] == 0 for effect in data["sideEffects"])


def d(text: str) -> Decimal:
    return Decimal(text)


# TRANSACTION


FIRST_BILL = {
    "grossAmount": 1300,
    "discount": 100,
    "lineItems": [
        {"itemCode": "SKU1", "category": "shoes", "qty": 2, "amount": 800, "grossAmount": 850},
        {"itemCode": "SKU2", "category": "socks", "qty": 1, "amount": 400, "grossAmount": 450},
    ],
}
SECOND_BILL = {
    "grossAmount": 350.5,
    "discount": 50.5,
    "lineItems": [{"itemCode": "SKU3", "category": "belts", "qty": 4, "amount": 300}],
}


@pytest.mark.parametrize(
    ("kpi", "first", "second"),
    [
        ("COUNT", (d("1"), d("1")), (d("1"), d("2"))),
        ("SALES", (d("1200"), d("1200")), (d("300"), d("1500"))),
        ("GROSS_SALES", (d("1300"), d("1300")), (d("350.5"), d("1650.5"))),
        ("QUANTITY", (d("3"), d("3")), (d("4"), d("7"))),
    ],
)
def test_a_transaction_target_takes_its_kpi_from_each_bill(
    client: TestClient,
    org: OrgCredentials,
    kpi: str,
    first: tuple[Decimal, Decimal],
    second: tuple[Decimal, Decimal],
) -> None:
    create_group(client, org, target("TRANSACTION", kpi, 5000))
    assert progress(send(client, org, bill("B-1", 1200, **FIRST_BILL))) == [first]
    assert progress(send(client, org, bill("B-2", 300, **SECOND_BILL))) == [second]


@pytest.mark.parametrize(
    ("zone", "times", "expected"),
    [
        pytest.param(
            None,
            [
                "2024-08-25T19:00:00Z",  # Kolkata 08-26 00:30: the day's first bill
                "2024-08-26T18:00:00Z",  # Kolkata 08-26 23:30: same local day, next UTC day
                "2024-08-26T18:45:00Z",  # Kolkata 08-27 00:15: next local day, same UTC day
            ],
            [(d("1"), d("1")), None, (d("1"), d("2"))],
            id="the org's zone, Asia/Kolkata",
        ),
        pytest.param(
            "America/New_York",
            [
                "2024-08-26T03:00:00Z",  # New York 08-25 23:00 (Kolkata 08-26 08:30)
                "2024-08-26T05:00:00Z",  # New York 08-26 01:00 (Kolkata 08-26 10:30)
                "2024-08-26T20:00:00Z",  # New York 08-26 16:00 (Kolkata 08-27 01:30)
            ],
            [(d("1"), d("1")), (d("1"), d("2")), None],
            id="the group's own zone, America/New_York",
        ),
    ],
)
def test_a_visit_counts_the_first_bill_of_each_local_day_of_the_groups_zone(
    client: TestClient,
    org: OrgCredentials,
    zone: str | None,
    times: list[str],
    expected: list[tuple[Decimal, Decimal] | None],
) -> None:
    changes = {"timeZoneName": zone} if zone else {}
    create_group(client, org, target("TRANSACTION", "VISIT", 10), **changes)
    for number, (at, wanted) in enumerate(zip(times, expected, strict=True)):
        data = send(client, org, bill(f"B-{number}", 100, at=at))
        if wanted is None:
            assert added_nothing(data), data
        else:
            assert progress(data) == [wanted], at


@pytest.mark.parametrize(
    ("function", "values", "expected"),
    [
        ("SUM", [12, None, 8.5], [(d("12"), d("12")), None, (d("8.5"), d("20.5"))]),
        ("COUNT", [12, None, 0], [(d("1"), d("1")), None, (d("1"), d("2"))]),
    ],
)
def test_a_bills_extended_field_is_summed_or_counted(
    client: TestClient,
    org: OrgCredentials,
    function: str,
    values: list[Any],
    expected: list[tuple[Decimal, Decimal] | None],
) -> None:
    info = {"name": "CentralGST", "aggregateFunction": function}
    create_group(client, org, target("TRANSACTION", "EXTENDED_FIELD", extendedFieldInfo=info))
    for number, (value, wanted) in enumerate(zip(values, expected, strict=True)):
        fields = {"OtherField": 1} if value is None else {"CentralGST": value}
        data = send(client, org, bill(f"B-{number}", extendedFields=fields))
        if wanted is None:
            assert data["status"] == "NO_MATCH", data
            assert data["sideEffects"] == []
        else:
            assert progress(data) == [wanted], value


def test_max_of_an_extended_field_adds_each_local_days_highest_value(
    client: TestClient, org: OrgCredentials
) -> None:
    info = {"name": "CentralGST", "aggregateFunction": "MAX"}
    create_group(client, org, target("TRANSACTION", "EXTENDED_FIELD", extendedFieldInfo=info))

    def gst(event_id: str, value: int, at: str) -> Json:
        return send(client, org, bill(event_id, extendedFields={"CentralGST": value}, at=at))

    # 2024-08-26 in Kolkata: 5, then 8, then 4; the day's highest is 8.
    assert progress(gst("B-1", 5, "2024-08-26T04:00:00Z")) == [(d("5"), d("5"))]
    assert progress(gst("B-2", 8, "2024-08-26T08:00:00Z")) == [(d("3"), d("8"))]
    assert added_nothing(gst("B-3", 4, "2024-08-26T10:00:00Z"))
    # 2024-08-27 in Kolkata: 3 is that day's highest: 8 + 3.
    data = gst("B-4", 3, "2024-08-27T04:00:00Z")
    assert progress(data) == [(d("3"), d("11"))]
    assert data["sideEffects"][0]["targetAchievedValueBeforeEvent"] == d("8")


# LINEITEM: the lines for which the expression is true.


LINES = [
    {
        "itemCode": "SKU1",
        "category": "shoes",
        "qty": 2,
        "rate": 600,
        "amount": 1200,
        "grossAmount": 1300,
        "extendedFields": {"points": 5},
    },
    {
        "itemCode": "SKU2",
        "category": "socks",
        "qty": 3,
        "rate": 50,
        "amount": 150,
        "grossAmount": 180,
        "extendedFields": {"points": 9},
    },
    {
        "itemCode": "SKU3",
        "category": "shoes",
        "qty": 1,
        "rate": 600.25,
        "amount": 600.25,
        "grossAmount": 650.5,
        "extendedFields": {"points": 7},
    },
]


@pytest.mark.parametrize(
    ("kpi", "info", "expected"),
    [
        ("COUNT", None, d("2")),
        ("SALES", None, d("1800.25")),
        ("GROSS_SALES", None, d("1950.5")),
        ("QUANTITY", None, d("3")),
        ("EXTENDED_FIELD", {"name": "points", "aggregateFunction": "SUM"}, d("12")),
        ("EXTENDED_FIELD", {"name": "points", "aggregateFunction": "COUNT"}, d("2")),
    ],
)
def test_a_line_item_target_counts_only_the_lines_its_expression_matches(
    client: TestClient, org: OrgCredentials, kpi: str, info: Json | None, expected: Decimal
) -> None:
    fields = {"expression": SHOES} | ({"extendedFieldInfo": info} if info else {})
    create_group(client, org, target("LINEITEM", kpi, 10000, **fields))
    data = send(client, org, bill("B-1", 1950.25, lineItems=LINES))
    assert progress(data) == [(expected, expected)]


def test_a_bill_without_a_matching_line_is_no_match_for_a_line_item_target(
    client: TestClient, org: OrgCredentials
) -> None:
    create_group(client, org, target("LINEITEM", "SALES", expression=SHOES))
    data = send(client, org, bill("B-1", 150, lineItems=[LINES[1]]))
    assert data["status"] == "NO_MATCH"
    assert data["sideEffects"] == []


# EVENT


def test_an_event_count_target_counts_each_event_of_its_name(
    client: TestClient, org: OrgCredentials
) -> None:
    create_group(client, org, target("EVENT", "COUNT", 10, eventName="GameSpin"))
    assert progress(send(client, org, custom("E-1", spins=3))) == [(d("1"), d("1"))]
    assert progress(send(client, org, custom("E-2"))) == [(d("1"), d("2"))]
    other = send(client, org, custom("E-3", "AppOpened"))
    assert other["status"] == "NO_MATCH"


@pytest.mark.parametrize(
    ("entity", "name"), [("EVENT", "StoreCheckIn"), ("REWARDS", "RewardIssued")]
)
def test_an_event_or_reward_visit_target_counts_one_per_local_day(
    client: TestClient, org: OrgCredentials, entity: str, name: str
) -> None:
    create_group(client, org, target(entity, "VISIT", 10, eventName=name))
    day_one = send(client, org, custom("E-1", name, at="2024-08-25T19:00:00Z"))
    assert progress(day_one) == [(d("1"), d("1"))]
    assert added_nothing(send(client, org, custom("E-2", name, at="2024-08-26T18:00:00Z")))
    day_two = send(client, org, custom("E-3", name, at="2024-08-26T18:45:00Z"))
    assert progress(day_two) == [(d("1"), d("2"))]


@pytest.mark.parametrize("kpi", ["EVENT_ATTRIBUTE", "EXTENDED_FIELD"])
@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("SUM", [(d("3"), d("3")), (d("4.5"), d("7.5"))]),
        ("COUNT", [(d("1"), d("1")), (d("1"), d("2"))]),
        ("MAX", [(d("3"), d("3")), (d("1.5"), d("4.5"))]),
    ],
)
def test_an_event_attribute_target_aggregates_the_named_attribute(
    client: TestClient,
    org: OrgCredentials,
    kpi: str,
    function: str,
    expected: list[tuple[Decimal, Decimal]],
) -> None:
    info = {"name": "spins", "aggregateFunction": function}
    create_group(
        client, org, target("EVENT", kpi, 100, eventName="GameSpin", extendedFieldInfo=info)
    )
    assert progress(send(client, org, custom("E-1", spins=3, at="2024-08-27T04:00:00Z"))) == [
        expected[0]
    ]
    without = send(client, org, custom("E-2", level="gold", at="2024-08-27T05:00:00Z"))
    assert without["status"] == "NO_MATCH"
    assert progress(send(client, org, custom("E-3", spins=4.5, at="2024-08-27T06:00:00Z"))) == [
        expected[1]
    ]


# REWARDS, ALTERNATE_CURRENCIES, POINTS


def test_a_rewards_count_target_counts_each_reward_issued(
    client: TestClient, org: OrgCredentials
) -> None:
    create_group(client, org, target("REWARDS", "COUNT", 5))
    assert progress(send(client, org, custom("R-1", "RewardIssued"))) == [(d("1"), d("1"))]
    assert progress(send(client, org, custom("R-2", "RewardIssued"))) == [(d("1"), d("2"))]


COINS = {"alternateCurrencyIdentifier": "coins", "programId": 973}


@pytest.mark.parametrize(
    ("kpi", "currency", "counts"),
    [
        ("ALL", {"identifier": "coins", "programId": 973, "earnType": "REGULAR"}, True),
        ("ALL", {"identifier": "coins", "programId": 973, "earnType": "PROMOTIONAL"}, True),
        ("REGULAR", {"identifier": "coins", "programId": 973, "earnType": "REGULAR"}, True),
        ("REGULAR", {"identifier": "coins", "programId": 973, "earnType": "PROMOTIONAL"}, False),
        ("PROMOTION", {"identifier": "coins", "programId": 973, "earnType": "PROMOTIONAL"}, True),
        ("PROMOTION", {"identifier": "coins", "programId": 973, "earnType": "REGULAR"}, False),
        ("ALL", {"identifier": "gems", "programId": 973, "earnType": "REGULAR"}, False),
        ("ALL", {"identifier": "coins", "programId": 974, "earnType": "REGULAR"}, False),
    ],
    ids=[
        "ALL-regular",
        "ALL-promotional",
        "REGULAR-regular",
        "REGULAR-promotional",
        "PROMOTION-promotional",
        "PROMOTION-regular",
        "another-identifier",
        "another-program",
    ],
)
def test_an_alternate_currency_target_counts_its_identifier_program_and_earn_type(
    client: TestClient, org: OrgCredentials, kpi: str, currency: Json, counts: bool
) -> None:
    create_group(client, org, target("ALTERNATE_CURRENCIES", kpi, 500, **COINS))
    data = send(client, org, earning("P-1", 50.25, **currency))
    if counts:
        assert progress(data) == [(d("50.25"), d("50.25"))]
    else:
        assert data["status"] == "NO_MATCH", data
        assert data["sideEffects"] == []


@pytest.mark.parametrize(
    ("kpi", "expected"),
    [
        ("ALL_POINTS", [(d("120"), d("120")), (d("30"), d("150"))]),
        ("REGULAR_POINTS", [(d("120"), d("120")), None]),
        ("PROMOTIONAL_POINTS", [None, (d("30"), d("30"))]),
    ],
)
def test_a_points_target_counts_the_points_earned(
    client: TestClient,
    org: OrgCredentials,
    kpi: str,
    expected: list[tuple[Decimal, Decimal] | None],
) -> None:
    create_group(client, org, target("POINTS", kpi, 500))
    regular = send(client, org, earning("P-1", 120, earnType="REGULAR"))
    promotional = send(client, org, earning("P-2", 30, earnType="PROMOTIONAL"))
    for data, wanted in [(regular, expected[0]), (promotional, expected[1])]:
        if wanted is None:
            assert data["status"] == "NO_MATCH", data
        else:
            assert progress(data) == [wanted]


# Filters and default event names


@pytest.mark.parametrize(
    ("entity_type", "field"), [("STORE", "storeId"), ("ZONE", "zoneId"), ("CONCEPT", "conceptId")]
)
@pytest.mark.parametrize(
    ("value", "counts"), [(101, True), (102, True), (103, False), (None, False)]
)
def test_a_filter_counts_only_events_from_its_stores_zones_or_concepts(
    client: TestClient,
    org: OrgCredentials,
    entity_type: str,
    field: str,
    value: int | None,
    counts: bool,
) -> None:
    filters = [{"entityType": entity_type, "entityIds": [101, 102]}]
    create_group(client, org, target("TRANSACTION", "SALES", filters=filters))
    event = bill("B-1", 250)
    if value is not None:
        event[field] = value
    data = send(client, org, event)
    if counts:
        assert progress(data) == [(d("250"), d("250"))]
    else:
        assert data["status"] == "NO_MATCH", data


@pytest.mark.parametrize(
    ("store", "zone", "counts"), [(101, 7, True), (101, 8, False), (102, 7, False)]
)
def test_every_filter_of_a_target_must_match(
    client: TestClient, org: OrgCredentials, store: int, zone: int, counts: bool
) -> None:
    filters = [
        {"entityType": "STORE", "entityIds": [101]},
        {"entityType": "ZONE", "entityIds": [7]},
    ]
    create_group(client, org, target("TRANSACTION", "COUNT", 5, filters=filters))
    data = send(client, org, bill("B-1", 10) | {"storeId": store, "zoneId": zone})
    assert (data["status"] == "APPLIED") is counts, data


@pytest.mark.parametrize(
    ("entity", "kpi", "extra", "event_name", "event", "other_name"),
    [
        ("TRANSACTION", "SALES", {}, "TransactionAdd", bill("X-1", 10), "BillAdded"),
        ("LINEITEM", "COUNT", {}, "TransactionAdd", bill("X-1", 10, lineItems=[LINES[0]]), "X"),
        ("POINTS", "ALL_POINTS", {}, "PointsEarned", earning("X-1", 10), "PointsAdded"),
        (
            "ALTERNATE_CURRENCIES",
            "ALL",
            COINS,
            "PointsEarned",
            earning("X-1", 10, identifier="coins", programId=973),
            "CoinsEarned",
        ),
        ("REWARDS", "COUNT", {}, "RewardIssued", custom("X-1", "RewardIssued"), "RewardGiven"),
    ],
)
def test_a_target_without_an_event_name_listens_to_its_entitys_default_event(
    client: TestClient,
    org: OrgCredentials,
    entity: str,
    kpi: str,
    extra: Json,
    event_name: str,
    event: Json,
    other_name: str,
) -> None:
    group = create_group(client, org, target(entity, kpi, 100, **extra))
    assert group["targets"][0]["eventName"] == event_name
    renamed = event | {"eventId": "X-2", "eventName": other_name}
    assert send(client, org, renamed)["status"] == "NO_MATCH"
    data = send(client, org, event)
    assert data["status"] == "APPLIED", data
    assert [effect["targetRuleId"] for effect in data["sideEffects"]] == [group["targets"][0]["id"]]


# Exact decimals


@pytest.mark.parametrize(
    ("amounts", "target_value", "afters"),
    [
        ([0.1, 0.2, 0.3], 0.6, [d("0.1"), d("0.3"), d("0.6")]),
        ([0.7, 0.1], 0.8, [d("0.7"), d("0.8")]),  # 0.7 + 0.1 is 0.7999999999999999 in floats
    ],
)
def test_kpi_values_add_up_exactly_without_float_drift(
    client: TestClient,
    org: OrgCredentials,
    amounts: list[float],
    target_value: float,
    afters: list[Decimal],
) -> None:
    create_group(client, org, target("TRANSACTION", "SALES", target_value))
    for number, (amount, after) in enumerate(zip(amounts, afters, strict=True)):
        effect = send(client, org, bill(f"B-{number}", amount))["sideEffects"][0]
        assert effect["currentEventTargetValue"] == Decimal(str(amount))
        assert effect["targetAchievedValueAfterEvent"] == after
        assert effect["definedTargetValue"] == Decimal(str(target_value))
        assert effect["targetAchieved"] is (number == len(amounts) - 1)


def test_kpi_values_are_answered_as_numbers_with_three_decimal_places(
    client: TestClient, org: OrgCredentials
) -> None:
    create_group(client, org, target("TRANSACTION", "SALES", 1000))
    response = client.post("/v3/events", json=bill("B-1", 0.1), auth=org.auth)
    assert response.status_code == 200, response.text
    for name in (
        "definedTargetValue",
        "currentEventTargetValue",
        "targetAchievedValueBeforeEvent",
        "targetAchievedValueAfterEvent",
    ):
        written = re.search(rf'"{name}":(-?[0-9.]+)', response.text)
        assert written is not None, name
        assert re.fullmatch(r"-?\d+\.\d{3}", written.group(1)), (name, written.group(1))
