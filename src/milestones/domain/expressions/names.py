"""The catalogue of known root names, their attributes and the type tags of each."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from milestones.domain.expressions.tree import (
    ARITHMETIC_OPERATORS,
    BinaryOperation,
    Dereference,
    Expr,
    ExpressionError,
    Literal,
    Name,
    UnaryOperation,
    children,
)

TX_TYPE: Final = "tx:object:primitive"
LINE_ITEM_TYPE: Final = "lineitem:object:primitive"
EVENT_TYPE: Final = "event:object:primitive"
CURRENCY_TYPE: Final = "currency:object:primitive"
CUSTOMER_TYPE: Final = "customer:object:primitive"
REAL_TYPE: Final = "real:object:primitive"
TEXT_TYPE: Final = "string:object:primitive"
ANY_TYPE: Final = "any:object:primitive"
MAP_TYPE: Final = "map:object:primitive"

NUMBER_TYPE: Final = "number:primitive"
STRING_TYPE: Final = "string:primitive"
BOOLEAN_TYPE: Final = "boolean:primitive"

LITERAL_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {"number": NUMBER_TYPE, "string": STRING_TYPE, "boolean": BOOLEAN_TYPE}
)

IDENTIFIER_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

ROOT_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "currentTxn": TX_TYPE,
        "currentLineItem": LINE_ITEM_TYPE,
        "currentEvent": EVENT_TYPE,
        "currentCurrency": CURRENCY_TYPE,
        "customer": CUSTOMER_TYPE,
    }
)

# Objects whose attributes are a closed list: any other attribute is an error.
CLOSED_ATTRIBUTES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        TX_TYPE: MappingProxyType(
            {
                "value": REAL_TYPE,
                "grossValue": REAL_TYPE,
                "discount": REAL_TYPE,
                "billNumber": TEXT_TYPE,
                "numberOfItems": REAL_TYPE,
                "storeId": REAL_TYPE,
                "tillId": REAL_TYPE,
                "extendedFields": MAP_TYPE,
            }
        ),
        LINE_ITEM_TYPE: MappingProxyType(
            {
                "itemCode": TEXT_TYPE,
                "category": TEXT_TYPE,
                "qty": REAL_TYPE,
                "rate": REAL_TYPE,
                "value": REAL_TYPE,
                "grossValue": REAL_TYPE,
                "extendedFields": MAP_TYPE,
            }
        ),
        CURRENCY_TYPE: MappingProxyType(
            {"amount": REAL_TYPE, "identifier": TEXT_TYPE, "earnType": TEXT_TYPE}
        ),
        CUSTOMER_TYPE: MappingProxyType({"customFields": MAP_TYPE}),
    }
)

# Objects open to any attribute: the listed ones have a known type, the rest are "any".
OPEN_ATTRIBUTES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        EVENT_TYPE: MappingProxyType({"eventName": TEXT_TYPE}),
        MAP_TYPE: MappingProxyType({}),
        ANY_TYPE: MappingProxyType({}),
    }
)


def attribute_type(parent_type: str, attribute: str) -> str | None:
    """Return the type tag of ``attribute`` on an object tagged ``parent_type``, or None."""
    closed = CLOSED_ATTRIBUTES.get(parent_type)
    if closed is not None:
        return closed.get(attribute)
    known = OPEN_ATTRIBUTES.get(parent_type)
    if known is not None:
        return known.get(attribute, ANY_TYPE)
    return None


def _suggestion(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_name_message(name: str, where: str) -> str:
    """Explain that ``name`` is not a root name; ``where`` is e.g. ``at position 3``."""
    roots = list(ROOT_TYPES)
    return (
        f"unknown name '{name}' {where}; known names: {', '.join(roots)}{_suggestion(name, roots)}"
    )


def unknown_attribute_message(owner: str, owner_type: str, attribute: str, where: str) -> str:
    """Explain why ``attribute`` cannot be read from ``owner`` (text such as ``currentTxn``)."""
    closed = CLOSED_ATTRIBUTES.get(owner_type)
    if closed is None:
        return (
            f"cannot read attribute '{attribute}' {where}: '{owner}' is a {owner_type} "
            "value, not an object"
        )
    known = list(closed)
    return (
        f"unknown attribute '{attribute}' of {owner} {where}; known attributes: "
        f"{', '.join(known)}{_suggestion(attribute, known)}"
    )


def reference_path(expr: Name | Dereference) -> str:
    """Return the dotted text of a name or dereference chain, e.g. ``currentTxn.value``."""
    parts: list[str] = []
    node: Name | Dereference = expr
    while isinstance(node, Dereference):
        parts.append(node.attribute)
        node = node.target
    parts.append(node.name)
    return ".".join(reversed(parts))


def reference_type(expr: Name | Dereference) -> str:
    """Return the type tag of a name or dereference chain; ``ExpressionError`` if unknown."""
    attributes: list[str] = []
    node: Name | Dereference = expr
    while isinstance(node, Dereference):
        attributes.append(node.attribute)
        node = node.target
    tag = ROOT_TYPES.get(node.name)
    if tag is None:
        raise ExpressionError(unknown_name_message(node.name, "in the tree"), -1)
    owner = node.name
    for attribute in reversed(attributes):
        child = attribute_type(tag, attribute) if IDENTIFIER_RE.fullmatch(attribute) else None
        if child is None:
            raise ExpressionError(
                unknown_attribute_message(owner, tag, attribute, "in the tree"), -1
            )
        tag, owner = child, f"{owner}.{attribute}"
    return tag


def type_of(expr: Expr) -> str:
    """Return the JSON type tag of any node (comparisons and logic are boolean)."""
    if isinstance(expr, Literal):
        return LITERAL_TYPES[expr.kind]
    if isinstance(expr, Name | Dereference):
        return reference_type(expr)
    if isinstance(expr, BinaryOperation):
        return NUMBER_TYPE if expr.operator in ARITHMETIC_OPERATORS else BOOLEAN_TYPE
    return NUMBER_TYPE if expr.operator == "-" else BOOLEAN_TYPE


def validate_names(expr: Expr) -> None:
    """Raise ``ExpressionError`` if any name or attribute in ``expr`` is not in the catalogue."""
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Name | Dereference):
            reference_type(node)
        elif isinstance(node, BinaryOperation | UnaryOperation):
            stack.extend(children(node))
