"""The typed expression tree: immutable nodes, the error type and the size limits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeAlias

MAX_DEPTH = 50
MAX_TEXT_LENGTH = 2000

ARITHMETIC_OPERATORS = frozenset({"+", "-", "*", "/"})
COMPARISON_OPERATORS = frozenset({"==", "!=", ">", ">=", "<", "<="})
LOGICAL_OPERATORS = frozenset({"&&", "||"})
BINARY_OPERATORS = ARITHMETIC_OPERATORS | COMPARISON_OPERATORS | LOGICAL_OPERATORS
UNARY_OPERATORS = frozenset({"!", "-"})


class ExpressionError(ValueError):
    """An expression that cannot be parsed, decoded or compiled, and where it went wrong.

    ``position`` is a 0-based character offset in the text, or -1 for the JSON form
    (the message then names the node, e.g. ``$.operands[1]``).

    Example: ``ExpressionError("unexpected ')' at position 14", 14)``.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: a finite ``Decimal``, a ``str`` or a ``bool``.

    Example: ``Literal(Decimal("500"))``, ``Literal("GOLD")``, ``Literal(True)``.
    """

    value: Decimal | str | bool
    kind: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        value = self.value
        if isinstance(value, bool):
            kind = "boolean"
        elif isinstance(value, str):
            kind = "string"
        elif isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"number literals must be finite, got {value!r}")
            kind = "number"
        else:
            raise TypeError(f"literal values are Decimal, str or bool, got {type(value).__name__}")
        object.__setattr__(self, "kind", kind)


@dataclass(frozen=True, slots=True)
class Name:
    """A root name such as ``currentTxn``.  Example: ``Name("currentTxn")``."""

    name: str


@dataclass(frozen=True, slots=True)
class Dereference:
    """An attribute of a name or of another dereference.

    Example: ``Dereference(Name("currentTxn"), "value")`` is ``currentTxn.value``.
    """

    target: Name | Dereference
    attribute: str


@dataclass(frozen=True, slots=True)
class BinaryOperation:
    """An infix operation; logic is always spelled ``&&``/``||``.

    Example: ``BinaryOperation("+", Literal(Decimal(1)), Literal(Decimal(2)))`` is ``1 + 2``.
    """

    operator: str
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        if self.operator not in BINARY_OPERATORS:
            raise ValueError(f"unknown binary operator {self.operator!r}")


@dataclass(frozen=True, slots=True)
class UnaryOperation:
    """A prefix ``!`` (logical not) or ``-`` (negation).

    Example: ``UnaryOperation("!", Literal(False))``.
    """

    operator: str
    operand: Expr

    def __post_init__(self) -> None:
        if self.operator not in UNARY_OPERATORS:
            raise ValueError(f"unknown unary operator {self.operator!r}")


Expr: TypeAlias = Literal | Name | Dereference | BinaryOperation | UnaryOperation

TRUE: Expr = Literal(True)
FALSE: Expr = Literal(False)


def children(expr: Expr) -> Iterator[Expr]:
    """Yield the direct sub-expressions of ``expr`` (an attribute is not one)."""
    if isinstance(expr, Dereference):
        yield expr.target
    elif isinstance(expr, BinaryOperation):
        yield expr.left
        yield expr.right
    elif isinstance(expr, UnaryOperation):
        yield expr.operand


def names_of(expr: Expr) -> set[str]:
    """The top-level names ``expr`` reads (``customer`` in ``customer.customFields.tier``).

    >>> sorted(names_of(BinaryOperation("==", Dereference(Name("customer"), "tier"), Name("x"))))
    ['customer', 'x']
    """
    found: set[str] = set()
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            found.add(node.name)
        stack.extend(children(node))
    return found


def tree_depth(expr: Expr, limit: int | None = None) -> int:
    """Return the depth of ``expr`` (a leaf is 1) without recursion, stopping past ``limit``."""
    deepest = 0
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if limit is not None and deepest > limit:
                return deepest
        stack.extend((child, depth + 1) for child in children(node))
    return deepest


def check_depth(expr: Expr, position: int = -1) -> None:
    """Raise ``ExpressionError`` when ``expr`` is deeper than ``MAX_DEPTH`` levels."""
    if tree_depth(expr, MAX_DEPTH) > MAX_DEPTH:
        raise ExpressionError(
            f"expression is nested too deeply: more than {MAX_DEPTH} levels; "
            "split it or remove brackets",
            position,
        )
