"""The user view's orjson rendering writes exactly what simplejson writes, or hands over."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from milestones.api.envelope import Prerendered, render, render_float_free


class Kind(enum.StrEnum):
    SALES = "SALES"


@dataclass
class Point:
    x: int


FLOAT_FREE = [
    {"a": 'é\u2028\u2029\x00\x1f\b\f\n\r\t"\\/\x7f\U0001f600', "b": None, "c": True},
    [Decimal("1200.000"), Decimal("0E-3"), Decimal("-0.5"), Decimal("1E+3"), Decimal("-0")],
    [2**63 - 1, -(2**63), 2**64, 2**70],  # beyond 64 bits: simplejson writes them
    {1: "int key"},
    {"kind": Kind.SALES},
    {"nested": [{"deep": [Decimal("1.5"), {"x": []}]}], "empty": {}},
]


@pytest.mark.parametrize("content", FLOAT_FREE)
def test_float_free_content_renders_byte_for_byte_as_simplejson(content: object) -> None:
    assert render_float_free(content) == render(content)


@pytest.mark.parametrize(
    "content", [[Decimal("NaN")], [Decimal("Infinity")], {"at": datetime(2024, 1, 1, tzinfo=UTC)}]
)
def test_what_simplejson_refuses_is_still_refused(content: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        render(content)
    with pytest.raises((TypeError, ValueError)):
        render_float_free(content)


def test_a_dataclass_is_refused_as_before() -> None:
    with pytest.raises(TypeError):
        render_float_free({"p": Point(1)})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_float_free_json_renders_as_simplejson(content: object) -> None:
    assert render_float_free(content) == render(content)


def test_prerendered_json_is_spliced_in_by_orjson_and_written_plain_by_simplejson() -> None:
    plain = {"name": "é", "value": Decimal("1.50")}
    kept = Prerendered(render(plain), lambda: plain)
    content = {"groups": [kept, {"x": 1}]}
    expected = b'{"groups":[{"name":"\xc3\xa9","value":1.50},{"x":1}]}'
    assert render_float_free(content) == render(content) == expected
    too_big = {"groups": [kept], "n": 2**70}  # orjson refuses: simplejson writes it all
    assert (
        render_float_free(too_big)
        == b'{"groups":[{"name":"\xc3\xa9","value":1.50}],"n":' + str(2**70).encode() + b"}"
    )
