"""Tests for what an event contributes to a target (SPEC §6.2) and its expression contexts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from milestones.domain.events import CurrencyEarning, Event, LineItem, Transaction
from milestones.domain.expressions import (
    TRUE,
    CompiledExpression,
    compile_expression,
    parse_expression,
)
from milestones.domain.kpis import DayRule, EventContexts, Reading, passes_filters, read
from milestones.domain.target_groups import Audit, EnrolmentMethod, Target, TargetEntity

WHEN = datetime(2024, 8, 27, 9, 43, 40, tzinfo=UTC)
ALWAYS = compile_expression(TRUE)
ONE = Reading(Decimal(1))
VISIT = Reading(Decimal(1), DayRule.VISIT)

TXN = TargetEntity.TRANSACTION
LINE = TargetEntity.LINEITEM
EVT = TargetEntity.EVENT
REWARDS = TargetEntity.REWARDS
ALT = TargetEntity.ALTERNATE_CURRENCIES
POINTS = TargetEntity.POINTS


def when(text: str) -> CompiledExpression:
    return compile_expression(parse_expression(text))


def make_target(
    entity: TargetEntity,
    target_type: str,
    *,
    name: str | None = None,
    function: str | None = None,
    identifier: str | None = None,
    program_id: int | None = None,
) -> Target:
    info: dict[str, object] | None = None
    if name is not None:
        info = {"name": name, "aggregateFunction": function}
    return Target(
        id=1,
        group_id=1,
        position=0,
        name="target",
        description=None,
        active=True,
        entity=entity,
        target_type=target_type,
        event_name="TransactionAdd",
        expression="true",
        expression_json="",
        filters=[],
        enrolment_method=EnrolmentMethod.TRANSACTION,
        audience_filter=[],
        extended_field_info=info,
        alternate_currency_identifier=identifier,
        program_id=program_id,
        default_values=[],
        triggers=[],
        audit=Audit(WHEN, 1, WHEN, 1),
    )


def make_event(name: str = "TransactionAdd", **fields: object) -> Event:
    return Event("E-1", name, 42, WHEN, **fields)  # type: ignore[arg-type]


def line(
    category: str = "shoes",
    qty: str = "1",
    amount: str = "100",
    gross: str | None = None,
    **extended: object,
) -> LineItem:
    return LineItem(
        item_code=f"SKU-{category}",
        category=category,
        qty=Decimal(qty),
        rate=Decimal(amount),
        amount=Decimal(amount),
        gross_amount=None if gross is None else Decimal(gross),
        extended_fields=extended,
    )


BILL = make_event(
    store_id=7,
    till_id=3,
    zone_id=2,
    concept_id=9,
    transaction=Transaction(
        bill_number="B-1",
        bill_amount=Decimal("1200"),
        gross_amount=Decimal("1300"),
        discount=Decimal("100"),
        extended_fields={"CentralGST": 12, "channel": "online"},
        line_items=(
            line("shoes", "2", "800", "850", gst="8"),
            line("socks", "3", "400", None, gst=Decimal("4")),
        ),
    ),
)
CUSTOM = make_event("GameSpin", attributes={"spins": "3", "level": {"tier": "GOLD"}})
REWARD = make_event("RewardIssued")
EARNING = make_event(
    "PointsEarned",
    currency=CurrencyEarning("coins", 973, Decimal("50"), "REGULAR"),
)
POINTS_EARNING = make_event(
    "PointsEarned", currency=CurrencyEarning(None, None, Decimal("25"), "PROMOTIONAL")
)


def reading(
    target: Target, event: Event, expression: CompiledExpression = ALWAYS
) -> Reading | None:
    return read(target, expression, event, EventContexts(event))


# Every row of the KPI table: target, event, expected reading.
KPI_ROWS = [
    pytest.param(make_target(TXN, "COUNT"), BILL, ONE, id="transaction-count"),
    pytest.param(make_target(TXN, "SALES"), BILL, Reading(Decimal("1200")), id="transaction-sales"),
    pytest.param(
        make_target(TXN, "GROSS_SALES"), BILL, Reading(Decimal("1300")), id="transaction-gross"
    ),
    pytest.param(make_target(TXN, "QUANTITY"), BILL, Reading(Decimal("5")), id="transaction-qty"),
    pytest.param(make_target(TXN, "VISIT"), BILL, VISIT, id="transaction-visit"),
    pytest.param(
        make_target(TXN, "EXTENDED_FIELD", name="CentralGST", function="SUM"),
        BILL,
        Reading(Decimal("12.000")),
        id="transaction-extended-field",
    ),
    pytest.param(make_target(LINE, "COUNT"), BILL, Reading(Decimal(2)), id="lineitem-count"),
    pytest.param(make_target(LINE, "SALES"), BILL, Reading(Decimal("1200")), id="lineitem-sales"),
    pytest.param(
        make_target(LINE, "GROSS_SALES"), BILL, Reading(Decimal("1250")), id="lineitem-gross"
    ),
    pytest.param(make_target(LINE, "QUANTITY"), BILL, Reading(Decimal("5")), id="lineitem-qty"),
    pytest.param(
        make_target(LINE, "EXTENDED_FIELD", name="gst", function="SUM"),
        BILL,
        Reading(Decimal("12")),
        id="lineitem-extended-field",
    ),
    pytest.param(make_target(EVT, "COUNT"), CUSTOM, ONE, id="event-count"),
    pytest.param(make_target(EVT, "VISIT"), CUSTOM, VISIT, id="event-visit"),
    pytest.param(
        make_target(EVT, "EVENT_ATTRIBUTE", name="spins", function="SUM"),
        CUSTOM,
        Reading(Decimal("3")),
        id="event-attribute",
    ),
    pytest.param(
        make_target(EVT, "EXTENDED_FIELD", name="spins", function="SUM"),
        CUSTOM,
        Reading(Decimal("3")),
        id="event-extended-field-alias",
    ),
    pytest.param(make_target(REWARDS, "COUNT"), REWARD, ONE, id="rewards-count"),
    pytest.param(make_target(REWARDS, "VISIT"), REWARD, VISIT, id="rewards-visit"),
    *(
        pytest.param(
            make_target(ALT, kpi, identifier="coins", program_id=973),
            EARNING,
            Reading(Decimal("50")),
            id=f"alternate-currency-{kpi.lower()}",
        )
        for kpi in ("ALL", "ALL_POINTS", "REGULAR", "REGULAR_POINTS")
    ),
    *(
        pytest.param(
            make_target(POINTS, kpi),
            POINTS_EARNING,
            Reading(Decimal("25")),
            id=f"points-{kpi.lower()}",
        )
        for kpi in ("ALL", "ALL_POINTS", "PROMOTION", "PROMOTIONAL_POINTS")
    ),
]


@pytest.mark.parametrize(("target", "event", "expected"), KPI_ROWS)
def test_each_kpi_reads_its_contribution_when_the_expression_is_true(
    target: Target, event: Event, expected: Reading
) -> None:
    assert reading(target, event) == expected
    assert reading(target, event, when(f"currentEvent.eventName == '{event.event_name}'")) == (
        expected
    )


@pytest.mark.parametrize(("target", "event", "expected"), KPI_ROWS)
def test_each_kpi_counts_nothing_when_the_expression_is_false(
    target: Target, event: Event, expected: Reading
) -> None:
    assert reading(target, event, when(f"currentEvent.eventName != '{event.event_name}'")) is None


@pytest.mark.parametrize(
    ("target", "event"),
    [
        pytest.param(make_target(TXN, kpi), CUSTOM, id=f"transaction-{kpi.lower()}")
        for kpi in ("COUNT", "SALES", "GROSS_SALES", "QUANTITY", "VISIT")
    ]
    + [
        pytest.param(make_target(LINE, kpi), CUSTOM, id=f"lineitem-{kpi.lower()}")
        for kpi in ("COUNT", "SALES", "GROSS_SALES", "QUANTITY")
    ]
    + [
        pytest.param(make_target(ALT, "ALL", identifier="coins"), BILL, id="alternate-currency"),
        pytest.param(make_target(POINTS, "ALL"), BILL, id="points"),
        pytest.param(
            make_target(EVT, "EVENT_ATTRIBUTE", name="missing", function="COUNT"),
            CUSTOM,
            id="event-attribute-missing",
        ),
        pytest.param(
            make_target(TXN, "EXTENDED_FIELD", name="missing", function="SUM"),
            BILL,
            id="transaction-field-missing",
        ),
        pytest.param(make_target(EVT, "EVENT_ATTRIBUTE"), CUSTOM, id="no-extended-field-info"),
        pytest.param(make_target(EVT, "SALES"), CUSTOM, id="kpi-the-entity-does-not-measure"),
    ],
)
def test_an_event_without_the_data_a_kpi_needs_is_not_counted(target: Target, event: Event) -> None:
    assert reading(target, event) is None


@pytest.mark.parametrize(
    ("kpi", "expected"),
    [
        ("COUNT", Reading(Decimal(1))),
        ("SALES", Reading(Decimal("800"))),
        ("GROSS_SALES", Reading(Decimal("850"))),
        ("QUANTITY", Reading(Decimal("2"))),
    ],
)
def test_lineitem_kpis_count_only_the_lines_where_the_expression_is_true(
    kpi: str, expected: Reading
) -> None:
    shoes = when("currentLineItem.category == 'shoes' && currentTxn.value > 1000")
    assert reading(make_target(LINE, kpi), BILL, shoes) == expected


@pytest.mark.parametrize("kpi", ["COUNT", "SALES", "GROSS_SALES", "QUANTITY"])
def test_lineitem_kpis_count_nothing_when_no_line_matches(kpi: str) -> None:
    hats = when("currentLineItem.category == 'hats'")
    assert reading(make_target(LINE, kpi), BILL, hats) is None


def test_lineitem_kpis_count_nothing_on_a_bill_without_lines() -> None:
    empty = make_event(transaction=Transaction(bill_amount=Decimal("5")))
    assert reading(make_target(LINE, "COUNT"), empty) is None


FIELD_LINES = make_event(
    transaction=Transaction(
        bill_amount=Decimal("10"),
        line_items=(
            line("shoes", weight="1.5"),
            line("shoes", weight=4),
            line("shoes", weight="heavy"),
            line("shoes"),
            line("socks", weight=100),
        ),
    )
)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("SUM", Reading(Decimal("5.5"))),
        ("COUNT", Reading(Decimal(3))),
        ("MAX", Reading(Decimal("4"), DayRule.MAX)),
    ],
)
def test_a_lineitem_extended_field_aggregates_over_the_matching_lines(
    function: str, expected: Reading
) -> None:
    target = make_target(LINE, "EXTENDED_FIELD", name="weight", function=function)
    assert reading(target, FIELD_LINES, when("currentLineItem.category == 'shoes'")) == expected


@pytest.mark.parametrize("function", ["SUM", "COUNT", "MAX"])
def test_a_lineitem_extended_field_no_matching_line_has_is_not_counted(function: str) -> None:
    target = make_target(LINE, "EXTENDED_FIELD", name="colour", function=function)
    assert reading(target, FIELD_LINES) is None


@pytest.mark.parametrize(
    ("entity", "event", "name", "function", "expected"),
    [
        (TXN, BILL, "CentralGST", "SUM", Reading(Decimal("12"))),
        (TXN, BILL, "CentralGST", "COUNT", ONE),
        (TXN, BILL, "channel", "COUNT", ONE),
        (TXN, BILL, "CentralGST", "MAX", Reading(Decimal("12"), DayRule.MAX)),
        (TXN, BILL, "channel", "SUM", None),
        (TXN, BILL, "channel", "MAX", None),
        (EVT, CUSTOM, "spins", "SUM", Reading(Decimal("3"))),
        (EVT, CUSTOM, "spins", "COUNT", ONE),
        (EVT, CUSTOM, "spins", "MAX", Reading(Decimal("3"), DayRule.MAX)),
        (EVT, CUSTOM, "level", "COUNT", ONE),
        (EVT, CUSTOM, "level", "SUM", None),
        (EVT, CUSTOM, "spins", "AVG", None),
    ],
)
def test_an_extended_field_is_read_by_its_aggregate_function(
    entity: TargetEntity, event: Event, name: str, function: str, expected: Reading | None
) -> None:
    target = make_target(entity, "EXTENDED_FIELD", name=name, function=function)
    assert reading(target, event) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, Decimal("5.000")),
        (-2, Decimal("-2.000")),
        ("5", Decimal("5")),
        (" 7.5 ", Decimal("7.5")),
        ("-0.25", Decimal("-0.25")),
        ("1e2", Decimal("100")),
        (".5", Decimal("0.5")),
        (Decimal("1.2345"), Decimal("1.234")),
        (Decimal("1.2355"), Decimal("1.236")),
        ("2.0005", Decimal("2.000")),
        ("abc", None),
        ("", None),
        ("NaN", None),
        ("Infinity", None),
        ("1_000", None),
        ("١٢", None),
        ("1e999999999999", None),
        ("9" * 200, None),
        (Decimal("NaN"), None),
        (Decimal("-Infinity"), None),
        (True, None),
        (1.5, None),
        (None, None),
        ([3], None),
        ({"n": 3}, None),
    ],
)
def test_an_attribute_counts_only_as_a_finite_number_quantized_to_three_places(
    value: object, expected: Decimal | None
) -> None:
    event = make_event("GameSpin", attributes={"score": value})
    target = make_target(EVT, "EVENT_ATTRIBUTE", name="score", function="SUM")
    result = reading(target, event)
    if expected is None:
        assert result is None
    else:
        assert result == Reading(expected)
        assert result.amount.as_tuple().exponent == -3


def test_sums_across_lines_are_exact() -> None:
    event = make_event(
        transaction=Transaction(
            bill_amount=Decimal("0.3"),
            line_items=(
                line(amount="0.1", qty="0.1", bonus="0.1"),
                line(amount="0.2", qty="0.2", bonus="0.2"),
            ),
        )
    )
    for kpi, expected in [("SALES", "0.3"), ("QUANTITY", "0.3"), ("GROSS_SALES", "0.3")]:
        assert reading(make_target(LINE, kpi), event) == Reading(Decimal(expected))
    target = make_target(LINE, "EXTENDED_FIELD", name="bonus", function="SUM")
    assert reading(target, event) == Reading(Decimal("0.300"))
    assert reading(make_target(TXN, "QUANTITY"), event) == Reading(Decimal("0.3"))


@pytest.mark.parametrize(
    ("gross", "expected"), [(None, Decimal("1200")), (Decimal("1300"), Decimal("1300"))]
)
def test_transaction_gross_sales_falls_back_to_the_bill_amount(
    gross: Decimal | None, expected: Decimal
) -> None:
    event = make_event(transaction=Transaction(bill_amount=Decimal("1200"), gross_amount=gross))
    assert reading(make_target(TXN, "GROSS_SALES"), event) == Reading(expected)


def test_lineitem_gross_sales_falls_back_to_each_lines_amount() -> None:
    event = make_event(
        transaction=Transaction(line_items=(line(amount="10", gross="12"), line(amount="5")))
    )
    assert reading(make_target(LINE, "GROSS_SALES"), event) == Reading(Decimal("17"))


@pytest.mark.parametrize(
    ("kpi", "expected"),
    [("SALES", Reading(Decimal("-50"))), ("COUNT", ONE), ("VISIT", VISIT)],
)
def test_a_negative_bill_reads_negative_except_for_count_and_visit(
    kpi: str, expected: Reading
) -> None:
    event = make_event(transaction=Transaction(bill_amount=Decimal("-50")))
    assert reading(make_target(TXN, kpi), event) == expected


@pytest.mark.parametrize(
    ("identifier", "program_id", "currency", "counted"),
    [
        ("coins", 973, CurrencyEarning("coins", 973, Decimal(5)), True),
        ("coins", None, CurrencyEarning("coins", 1, Decimal(5)), True),
        ("coins", 973, CurrencyEarning("coins", None, Decimal(5)), True),
        ("coins", 973, CurrencyEarning("coins", 974, Decimal(5)), False),
        ("coins", 973, CurrencyEarning("gems", 973, Decimal(5)), False),
        ("coins", 973, CurrencyEarning("COINS", 973, Decimal(5)), False),
        ("coins", 973, CurrencyEarning(None, 973, Decimal(5)), False),
        (None, None, CurrencyEarning("coins", 973, Decimal(5)), False),
    ],
)
def test_an_alternate_currency_target_counts_only_its_identifier_and_program(
    identifier: str | None, program_id: int | None, currency: CurrencyEarning, counted: bool
) -> None:
    target = make_target(ALT, "ALL", identifier=identifier, program_id=program_id)
    expected = Reading(Decimal(5)) if counted else None
    assert reading(target, make_event("PointsEarned", currency=currency)) == expected


@pytest.mark.parametrize(
    ("kpi", "earn_type", "counted"),
    [
        ("ALL", "REGULAR", True),
        ("ALL_POINTS", "PROMOTIONAL", True),
        ("REGULAR", "REGULAR", True),
        ("REGULAR", "regular", True),
        ("REGULAR_POINTS", "PROMOTIONAL", False),
        ("PROMOTION", "PROMOTIONAL", True),
        ("PROMOTION", "PROMOTION", True),
        ("PROMOTIONAL_POINTS", "promotional", True),
        ("PROMOTIONAL_POINTS", "REGULAR", False),
        ("PROMOTION", "BONUS", False),
    ],
)
@pytest.mark.parametrize("entity", [ALT, POINTS])
def test_a_currency_target_counts_only_its_earn_type(
    entity: TargetEntity, kpi: str, earn_type: str, counted: bool
) -> None:
    target = make_target(entity, kpi, identifier="POINTS")
    event = make_event("PointsEarned", currency=CurrencyEarning("POINTS", 1, Decimal(9), earn_type))
    assert reading(target, event) == (Reading(Decimal(9)) if counted else None)


@pytest.mark.parametrize(
    ("identifier", "counted"),
    [(None, True), ("POINTS", True), ("points", True), ("Points", True), ("coins", False)],
)
def test_a_points_target_counts_only_points(identifier: str | None, counted: bool) -> None:
    event = make_event("PointsEarned", currency=CurrencyEarning(identifier, 1, Decimal(3)))
    assert reading(make_target(POINTS, "ALL"), event) == (Reading(Decimal(3)) if counted else None)


def test_a_currency_expression_reads_the_current_currency() -> None:
    target = make_target(ALT, "ALL", identifier="coins")
    rich = when("currentCurrency.amount >= 50 && currentCurrency.identifier == 'coins'")
    poor = when("currentCurrency.amount > 50")
    assert reading(target, EARNING, rich) == Reading(Decimal("50"))
    assert reading(target, EARNING, poor) is None


@pytest.mark.parametrize(
    ("filters", "passes"),
    [
        ([], True),
        ([{"entityType": "STORE", "entityIds": []}], True),
        ([{"entityType": "STORE", "entityIds": [7, 8]}], True),
        ([{"entityType": "STORE", "entityIds": [8]}], False),
        ([{"entityType": "ZONE", "entityIds": [2]}], True),
        ([{"entityType": "ZONE", "entityIds": [3]}], False),
        ([{"entityType": "CONCEPT", "entityIds": [9]}], True),
        ([{"entityType": "CONCEPT", "entityIds": [1]}], False),
        (
            [{"entityType": "STORE", "entityIds": [7]}, {"entityType": "ZONE", "entityIds": [3]}],
            False,
        ),
        (
            [{"entityType": "STORE", "entityIds": [7]}, {"entityType": "CONCEPT", "entityIds": []}],
            True,
        ),
        ([{"entityType": "REGION", "entityIds": [7]}], False),
    ],
)
def test_filters_restrict_by_store_zone_and_concept(
    filters: list[Mapping[str, object]], passes: bool
) -> None:
    assert passes_filters(filters, BILL) is passes


@pytest.mark.parametrize("entity_type", ["STORE", "ZONE", "CONCEPT"])
def test_an_event_lacking_the_filtered_id_fails_the_filter(entity_type: str) -> None:
    assert not passes_filters([{"entityType": entity_type, "entityIds": [1]}], CUSTOM)
    assert passes_filters([{"entityType": entity_type, "entityIds": []}], CUSTOM)


def test_the_event_context_describes_the_bill_event_and_customer() -> None:
    contexts = EventContexts(BILL, {"tier": "GOLD"})
    context = contexts.for_event()
    assert context["currentTxn"] == {
        "value": Decimal("1200"),
        "grossValue": Decimal("1300"),
        "discount": Decimal("100"),
        "billNumber": "B-1",
        "numberOfItems": Decimal("5"),
        "storeId": 7,
        "tillId": 3,
        "extendedFields": {"CentralGST": 12, "channel": "online"},
    }
    assert context["currentEvent"] == {"eventName": "TransactionAdd"}
    assert context["customer"] == {"customFields": {"tier": "GOLD"}}
    assert "currentCurrency" not in context
    assert "currentLineItem" not in context
    assert contexts.for_event() is context


def test_a_line_context_adds_the_current_line_item_and_is_built_once() -> None:
    contexts = EventContexts(BILL)
    second = contexts.for_line(1)
    assert second["currentLineItem"] == {
        "itemCode": "SKU-socks",
        "category": "socks",
        "qty": Decimal("3"),
        "rate": Decimal("400"),
        "value": Decimal("400"),
        "extendedFields": {"gst": Decimal("4")},
    }
    assert second["currentTxn"] is contexts.for_event()["currentTxn"]
    assert contexts.for_line(1) is second
    assert contexts.for_line(0)["currentLineItem"]["grossValue"] == Decimal("850")
    assert "currentLineItem" not in contexts.for_event()


def test_missing_values_are_left_out_of_the_contexts() -> None:
    event = make_event(transaction=Transaction(line_items=(LineItem(),)))
    contexts = EventContexts(event)
    assert set(contexts.for_event()["currentTxn"]) == {"value", "numberOfItems", "extendedFields"}
    assert set(contexts.for_line(0)["currentLineItem"]) == {"qty", "value", "extendedFields"}
    assert contexts.for_event()["customer"] == {"customFields": {}}
    assert not when("currentTxn.storeId > 0").matches(contexts.for_event())


def test_the_current_event_carries_the_attributes_and_its_own_name() -> None:
    event = make_event(
        "GameSpin", attributes={"spins": 3, "eventName": "spoof", "level": {"tier": "GOLD"}}
    )
    context = EventContexts(event).for_event()
    assert context["currentEvent"] == {
        "eventName": "GameSpin",
        "spins": 3,
        "level": {"tier": "GOLD"},
    }
    assert "currentTxn" not in context
    assert when("currentEvent.level.tier == 'GOLD' && currentEvent.spins == 3").matches(context)


def test_the_currency_context_leaves_out_a_missing_identifier() -> None:
    assert EventContexts(POINTS_EARNING).for_event()["currentCurrency"] == {
        "amount": Decimal("25"),
        "earnType": "PROMOTIONAL",
    }


@pytest.mark.parametrize(
    ("expression", "counted"),
    [
        ("customer.customFields.tier == 'GOLD'", True),
        ("customer.customFields.tier == 'SILVER'", False),
        ("currentTxn.numberOfItems == 5", True),
        ("currentTxn.extendedFields.CentralGST > 10", True),
        ("currentEvent.spins > 1", False),
    ],
)
def test_a_transaction_expression_sees_the_customer_and_the_bill(
    expression: str, counted: bool
) -> None:
    contexts = EventContexts(BILL, {"tier": "GOLD"})
    result = read(make_target(TXN, "COUNT"), when(expression), BILL, contexts)
    assert result == (ONE if counted else None)


def test_string_digits_in_attributes_are_compared_as_text_by_expressions() -> None:
    context = EventContexts(CUSTOM).for_event()
    assert when("currentEvent.spins == '3'").matches(context)
    assert not when("currentEvent.spins == 3").matches(context)
