"""Tests for the expression language: parsing, printing, JSON form and evaluation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milestones.domain.expressions import (
    MAX_DEPTH,
    TRUE,
    BinaryOperation,
    Dereference,
    Expr,
    ExpressionError,
    Literal,
    Name,
    UnaryOperation,
    compile_expression,
    expression_from_json,
    expression_to_json,
    parse_expression,
    print_expression,
)
from milestones.domain.expressions.names import (
    CLOSED_ATTRIBUTES,
    OPEN_ATTRIBUTES,
    ROOT_TYPES,
    attribute_type,
)
from milestones.domain.expressions.tree import BINARY_OPERATORS, tree_depth

SEED_JSON = (
    '{"arity":"binary_operation","value":">","type":"boolean:primitive","operands":['
    '{"arity":"object_dereference","type":"real:object:primitive","operands":['
    '{"arity":"name","value":"currentTxn","type":"tx:object:primitive"},'
    '{"arity":"name","value":"value","type":"real:object:primitive"}]},'
    '{"arity":"literal","value":"500","type":"number:primitive"}]}'
)
TRUE_JSON = '{"arity":"literal","value":"true","type":"boolean:primitive"}'
PRETTY_TRUE_JSON = '\n{\n  "arity":"literal",\n  "value":"true",\n  "type":"boolean:primitive"\n}'

CONTEXT: dict[str, Mapping[str, object]] = {
    "currentTxn": {
        "value": Decimal("600"),
        "grossValue": 650,
        "discount": Decimal("50.00"),
        "billNumber": "B-1",
        "numberOfItems": 3,
        "storeId": 12,
        "tillId": 4,
        "extendedFields": {"channel": "online", "points": 5, "gift": True},
    },
    "currentLineItem": {
        "itemCode": "SKU1",
        "category": "shoes",
        "qty": 2,
        "rate": Decimal("12.5"),
        "value": Decimal("25"),
        "grossValue": Decimal("25"),
        "extendedFields": {"brand": "acme"},
    },
    "currentEvent": {"eventName": "AppLogin", "device": "ios", "meta": {"version": 3}},
    "currentCurrency": {"amount": Decimal("10"), "identifier": "points", "earnType": "regular"},
    "customer": {"customFields": {"tier": "gold", "age": 30, "nickname": None}},
}


def evaluate(text: str, context: Mapping[str, Mapping[str, object]] = CONTEXT) -> bool:
    return compile_expression(parse_expression(text)).matches(context)


# -- the seeds' JSON form ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("currentTxn.value>500", SEED_JSON), ("true", TRUE_JSON)],
)
def test_seed_expressions_produce_exactly_the_seed_json(text: str, expected: str) -> None:
    assert expression_to_json(parse_expression(text)) == expected


@pytest.mark.parametrize("value", [PRETTY_TRUE_JSON, TRUE_JSON, json.loads(TRUE_JSON)])
def test_the_seed_json_for_true_reads_as_true_pretty_compact_or_decoded(
    value: str | Mapping[str, object],
) -> None:
    assert expression_from_json(value) == TRUE


def test_the_seed_json_reads_back_to_the_parsed_tree() -> None:
    assert expression_from_json(SEED_JSON) == parse_expression("currentTxn.value > 500")


def test_the_type_field_is_ignored_on_input_except_for_literals() -> None:
    mangled = SEED_JSON.replace('"type":"real:object:primitive"', '"type":"whatever"')
    assert expression_to_json(expression_from_json(mangled)) == SEED_JSON


ROUND_TRIP_TEXTS = [
    "true",
    "false",
    "currentTxn.value > 500",
    "currentTxn.value >= 12.5 && currentTxn.billNumber != 'B-1'",
    "currentLineItem.qty * currentLineItem.rate <= 100 || currentLineItem.category == 'shoes'",
    "!(currentEvent.eventName == 'AppLogin')",
    "currentEvent.meta.version < 3 and not false",
    "currentCurrency.amount - -5 == 15",
    "-(5) + -currentCurrency.amount > 0",
    "(1 + 2) * 3 / (4 - 1) == 3",
    "1 - (2 - 3) == 2",
    "customer.customFields.tier == 'it\\'s \"gold\"'",
    "currentTxn.extendedFields.channel == 'online' || (true && false)",
    "(currentTxn.value > 1) == true",
    "(!true) != false",
    "currentEvent.and == 'x'",
]


@pytest.mark.parametrize("text", ROUND_TRIP_TEXTS)
def test_text_to_json_to_text_to_json_is_stable(text: str) -> None:
    tree = parse_expression(text)
    first_json = expression_to_json(tree)
    reread = expression_from_json(first_json)
    assert reread == tree
    reprinted = print_expression(reread)
    assert parse_expression(reprinted) == tree
    assert expression_to_json(parse_expression(reprinted)) == first_json


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("currentTxn.value>500", "currentTxn.value > 500"),
        ("((1 + 2)) * 3 == 9", "(1 + 2) * 3 == 9"),
        ("1 + (2 * 3) == 7", "1 + 2 * 3 == 7"),
        ("true AND (false OR true)", "true && (false || true)"),
        ("NOT currentTxn.value > 1", "!(currentTxn.value > 1)"),
        ('customer.customFields.x == "a\'b\\\\c"', "customer.customFields.x == 'a\\'b\\\\c'"),
        ("- - 5 < 0", "--5 < 0"),
    ],
)
def test_the_printer_uses_minimal_brackets_and_spaced_operators(text: str, printed: str) -> None:
    assert print_expression(parse_expression(text)) == printed


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("-5", Literal(Decimal("-5"))),
        ("-(5)", UnaryOperation("-", Literal(Decimal("5")))),
        ("TRUE", TRUE),
        ("'a\\nb'", Literal("a\nb")),
        ("currentTxn . value", Dereference(Name("currentTxn"), "value")),
    ],
)
def test_parsing_builds_the_expected_tree(text: str, tree: Expr) -> None:
    assert parse_expression(text) == tree


def test_a_number_literal_is_never_equal_to_a_boolean_literal() -> None:
    assert Literal(Decimal(1)) != Literal(True)


# -- evaluation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3 == 7", True),
        ("(1 + 2) * 3 == 9", True),
        ("10 - 4 - 3 == 3", True),
        ("12 / 4 / 3 == 1", True),
        ("1 / 3 * 3 == 1", False),
        ("-currentCurrency.amount == -10", True),
        ("- -3 == 3", True),
        ("0.1 + 0.2 == 0.3", True),
        ("2 == 2.000", True),
        ("2 != 3", True),
        ("2 != 2", False),
        ("3 > 2", True),
        ("2 > 2", False),
        ("2 >= 2", True),
        ("1 < 2", True),
        ("2 < 2", False),
        ("2 <= 2", True),
        ("true && false", False),
        ("true && true", True),
        ("false || true", True),
        ("false || false", False),
        ("!false", True),
        ("!true", False),
        ("true AND NOT false", True),
        ("false Or true", True),
        ("not (1 < 2)", False),
        ("true == true", True),
        ("true != false", True),
        ("false || true && false", False),
        ("currentTxn.value > 500", True),
        ("currentTxn.value - currentTxn.discount == 550", True),
        ("currentTxn.grossValue == 650 && currentTxn.numberOfItems >= 3", True),
        ("currentTxn.storeId == 12 && currentTxn.tillId != 5", True),
        ("currentLineItem.qty * currentLineItem.rate == currentLineItem.value", True),
    ],
)
def test_every_operator_evaluates_with_the_usual_precedence(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("currentTxn.billNumber == 'B-1'", True),
        ('currentTxn.billNumber != "B-2"', True),
        ("currentLineItem.category == 'Shoes'", False),
        ("currentLineItem.itemCode < 'SKU2'", True),
        ("currentCurrency.identifier == 'points' && currentCurrency.earnType == 'regular'", True),
        ("currentEvent.eventName == 'AppLogin'", True),
    ],
)
def test_strings_compare_as_text(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "currentTxn.extendedFields.channel == 'online'",
        "currentTxn.extendedFields.points + 1 == 6",
        "currentTxn.extendedFields.gift",
        "currentLineItem.extendedFields.brand == 'acme'",
        "customer.customFields.tier == 'gold' && customer.customFields.age >= 18",
        "currentEvent.device == 'ios'",
        "currentEvent.meta.version == 3",
    ],
)
def test_open_ended_fields_and_custom_event_attributes_are_readable(text: str) -> None:
    assert evaluate(text) is True


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("currentEvent.missing == 1", CONTEXT),
        ("currentTxn.extendedFields.nothing == 'x'", CONTEXT),
        ("!(currentEvent.missing == 1)", CONTEXT),
        ("currentEvent.meta.version.deeper == 1", CONTEXT),
        ("currentCurrency.amount > 1", {"currentTxn": {"value": 1}}),
        ("currentTxn.value > 1", {}),
        ("customer.customFields.nickname == 'x'", CONTEXT),
        ("customer.customFields.nickname != 'x'", CONTEXT),
        ("true || currentEvent.missing == 1", CONTEXT),
        ("currentEvent.missing == 1 || true", CONTEXT),
    ],
)
def test_a_missing_root_attribute_or_none_makes_the_whole_expression_false(
    text: str, context: Mapping[str, Mapping[str, object]]
) -> None:
    assert evaluate(text, context) is False


@pytest.mark.parametrize(
    "text",
    [
        "currentTxn.billNumber > 5",
        "currentTxn.billNumber == 5",
        "currentTxn.billNumber + 1 == 2",
        "'a' + 'b' == 'ab'",
        "-'a' == 'a'",
        "1 && true",
        "!1",
        "true > false",
        "true == 1",
        "currentTxn.extendedFields == 1",
        "currentTxn.value",
        "'yes'",
        "currentTxn",
        "1 / 0 == 1",
        "currentTxn.value / (currentTxn.tillId - 4) > 0",
        "0 / 0 == 0",
    ],
)
def test_type_mismatches_division_by_zero_and_non_booleans_evaluate_false(text: str) -> None:
    assert evaluate(text) is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("600"), True),
        (600, True),
        (600.0, True),
        (Decimal("NaN"), False),
        (float("inf"), False),
        (True, False),
        ("600", False),
        (None, False),
        ({"nested": 1}, False),
    ],
)
def test_context_values_are_normalised_before_comparing(value: object, expected: bool) -> None:
    assert evaluate("currentTxn.value == 600", {"currentTxn": {"value": value}}) is expected


def test_a_compiled_expression_is_reusable_and_callable() -> None:
    compiled = compile_expression(parse_expression("currentTxn.value > 500"))
    assert compiled.matches({"currentTxn": {"value": 501}}) is True
    assert compiled({"currentTxn": {"value": 499}}) is False
    assert compiled.tree == parse_expression("currentTxn.value > 500")


@pytest.mark.parametrize(
    "tree",
    [
        Name("currentTx"),
        Dereference(Name("currentTxn"), "valu"),
        Dereference(Dereference(Name("currentTxn"), "value"), "x"),
    ],
)
def test_compiling_a_hand_built_tree_with_unknown_names_is_an_error(tree: Expr) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(tree)


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("currentTx.value > 1", 0, "unknown name 'currentTx' at position 0; known names: "),
        ("currentTxn.valu > 1", 11, "unknown attribute 'valu' of currentTxn at position 11"),
        ("customer.tier == 'x'", 9, "known attributes: customFields"),
        ("currentTxn.value.x", 17, "'currentTxn.value' is a real:object:primitive value"),
        ("1 == 'abc", 5, "unterminated string starting at position 5"),
        ("'a\\q'", 2, "unknown escape"),
        ("1 + * 2", 4, "unexpected '*' at position 4"),
        ("currentTxn.value > 500)", 22, "unexpected ')' at position 22"),
        ("true false", 5, "unexpected 'false' at position 5"),
        ("", 0, "empty expression"),
        ("   ", 0, "empty expression"),
        ("((1 + 2) == 3", 0, "unclosed '(' at position 0"),
        ("(1 + 2)) == 3", 7, "unexpected ')' at position 7"),
        ("1 = 1", 2, "use '=='"),
        ("1 # 1", 2, "unexpected character '#'"),
        ("1 < 2 < 3", 6, "cannot be chained"),
        ("currentTxn.", 11, "expected an attribute name"),
        ("x" * 2001, 2000, "too long"),
        ("(" * 10_000 + "true" + ")" * 10_000, 2000, "too long"),
        ("(" * 60 + "true" + ")" * 60, 50, "nested too deeply"),
        ("!" * 60 + "true", 50, "nested too deeply"),
        ("-" * 60 + "(1)", 50, "nested too deeply"),
        (" || ".join(["true"] * 60), 397, "nested too deeply"),
    ],
)
def test_bad_text_raises_an_expression_error_with_its_position(
    text: str, position: int, fragment: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert caught.value.position == position
    assert fragment in caught.value.message
    assert str(caught.value) == caught.value.message


def _deep_json(levels: int) -> str:
    node = TRUE_JSON
    for _ in range(levels):
        node = f'{{"arity":"unary_operation","value":"!","operands":[{node}]}}'
    return node


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("not json at all", "not valid JSON"),
        ('{"arity":"ternary","value":"?"}', 'unknown arity "ternary" at $'),
        ('{"value":"true"}', 'missing "arity" at $'),
        ("[1, 2]", "expected an object node"),
        (
            '{"arity":"binary_operation","value":">","operands":[' + TRUE_JSON + "]}",
            "expected 2 operand(s), got 1 at $",
        ),
        (
            '{"arity":"binary_operation","value":"<>","operands":['
            + TRUE_JSON
            + ","
            + TRUE_JSON
            + "]}",
            "unknown operator '<>'",
        ),
        ('{"arity":"unary_operation","value":"!","operands":"x"}', "must be a list"),
        ('{"arity":"name","value":"currentTx"}', "unknown name 'currentTx' at $"),
        (SEED_JSON.replace('"value":"value"', '"value":"valu"'), "at $.operands[0].operands[1]"),
        (SEED_JSON.replace('"500"', '"5e2"'), "must look like 500"),
        ('{"arity":"literal","value":"true","type":"bool"}', "unknown literal type 'bool'"),
        (_deep_json(60), "nested too deeply"),
        ("[" * 100_001, "too long"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
    ],
)
def test_bad_json_raises_an_expression_error_naming_the_node(value: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        expression_from_json(value)
    assert caught.value.position == -1
    assert fragment in caught.value.message


def test_word_operators_in_json_are_normalised_to_symbols() -> None:
    operand = json.loads(TRUE_JSON)
    data = {"arity": "binary_operation", "value": "AND", "operands": [operand, operand]}
    assert expression_from_json(data) == BinaryOperation("&&", TRUE, TRUE)


# -- properties ----------------------------------------------------------------------------------

_IDENTIFIERS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)


@st.composite
def _references(draw: st.DrawFn) -> Name | Dereference:
    root = draw(st.sampled_from(sorted(ROOT_TYPES)))
    expr: Name | Dereference = Name(root)
    tag: str | None = ROOT_TYPES[root]
    for _ in range(draw(st.integers(0, 3))):
        assert tag is not None
        if tag in CLOSED_ATTRIBUTES:
            attribute = draw(st.sampled_from(sorted(CLOSED_ATTRIBUTES[tag])))
        elif tag in OPEN_ATTRIBUTES:
            attribute = draw(_IDENTIFIERS | st.sampled_from(["eventName", "and", "x"]))
        else:
            break
        expr, tag = Dereference(expr, attribute), attribute_type(tag, attribute)
    return expr


_LITERALS = st.builds(
    Literal,
    st.decimals(
        min_value=-(10**6), max_value=10**6, places=3, allow_nan=False, allow_infinity=False
    )
    | st.text(max_size=8)
    | st.booleans(),
)
_TREES: st.SearchStrategy[Expr] = st.recursive(
    _LITERALS | _references(),
    lambda inner: (
        st.builds(BinaryOperation, st.sampled_from(sorted(BINARY_OPERATORS)), inner, inner)
        | st.builds(UnaryOperation, st.sampled_from(["!", "-"]), inner)
    ),
    max_leaves=12,
).filter(lambda tree: tree_depth(tree) <= MAX_DEPTH)

_ATTRIBUTE_KEYS = st.sampled_from(
    sorted({key for table in CLOSED_ATTRIBUTES.values() for key in table} | {"eventName", "x"})
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals()
    | st.floats()
    | st.text(max_size=4)
    | st.lists(st.integers(), max_size=2)
)
_VALUES = st.recursive(
    _SCALARS, lambda inner: st.dictionaries(_ATTRIBUTE_KEYS | _IDENTIFIERS, inner, max_size=3)
)
_CONTEXTS = st.dictionaries(
    st.sampled_from(sorted(ROOT_TYPES)) | _IDENTIFIERS,
    st.dictionaries(_ATTRIBUTE_KEYS | _IDENTIFIERS, _VALUES, max_size=6) | _SCALARS,
    max_size=5,
)


@settings(max_examples=300)
@given(_TREES)
def test_random_trees_survive_printing_and_json_round_trips(tree: Expr) -> None:
    assert parse_expression(print_expression(tree)) == tree
    assert expression_from_json(expression_to_json(tree)) == tree


@settings(max_examples=300)
@given(_TREES, _CONTEXTS)
def test_matches_never_raises_on_random_contexts(tree: Expr, context: dict[str, object]) -> None:
    assert compile_expression(tree).matches(context) in (True, False)  # type: ignore[arg-type]
