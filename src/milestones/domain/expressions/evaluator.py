"""Compile a tree once into nested closures, then evaluate it many times against contexts.

Semantics: every operand is evaluated (no short-circuit), and any missing root or
attribute, ``None``, type mismatch, or arithmetic error (division by zero, overflow)
makes the *whole* expression False, so the result never depends on operand order.
An expression whose result is not a boolean (e.g. ``currentTxn.value``) is accepted
when compiled and always evaluates False.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any, TypeAlias

from milestones.domain.expressions.names import validate_names
from milestones.domain.expressions.tree import (
    Dereference,
    Expr,
    Literal,
    Name,
    UnaryOperation,
    check_depth,
)

EvaluationContext: TypeAlias = Mapping[str, Mapping[str, object]]
_Evaluate: TypeAlias = Callable[[EvaluationContext], object]

# Fixed arithmetic context, independent of the thread's decimal context.
_DECIMAL = Context(prec=34, traps=[InvalidOperation, DivisionByZero, Overflow])
_ARITHMETIC: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": _DECIMAL.add,
    "-": _DECIMAL.subtract,
    "*": _DECIMAL.multiply,
    "/": _DECIMAL.divide,
}
_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class _MismatchError(Exception):
    """Internal: the expression cannot be evaluated against this context."""


def _normalise(value: object) -> object:
    """Map context data onto evaluation values: finite Decimal, str, bool or opaque."""
    if isinstance(value, str):
        return value if type(value) is str else str(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        if value.is_finite():
            return value if type(value) is Decimal else Decimal(value)
        raise _MismatchError
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(repr(value))
    if value is None or isinstance(value, float):
        raise _MismatchError
    return value


def _fetch(root: str, path: tuple[str, ...]) -> _Evaluate:
    if len(path) == 1:
        (key,) = path

        def fetch_one(context: EvaluationContext) -> object:
            try:
                return _normalise(context[root][key])
            except (LookupError, TypeError):
                raise _MismatchError from None

        return fetch_one

    def fetch_path(context: EvaluationContext) -> object:
        try:
            value: object = context[root]
            for key in path:
                value = value[key]  # type: ignore[index]
        except (LookupError, TypeError):
            raise _MismatchError from None
        return _normalise(value)

    return fetch_path


def _reference(expr: Name | Dereference) -> _Evaluate:
    path: list[str] = []
    node: Name | Dereference = expr
    while isinstance(node, Dereference):
        path.append(node.attribute)
        node = node.target
    return _fetch(node.name, tuple(reversed(path)))


def _constant(value: object) -> _Evaluate:
    def constant(context: EvaluationContext) -> object:
        return value

    return constant


def _arithmetic(
    function: Callable[[Decimal, Decimal], Decimal], left: _Evaluate, right: _Evaluate
) -> _Evaluate:
    def arithmetic(context: EvaluationContext) -> object:
        a, b = left(context), right(context)
        if type(a) is Decimal and type(b) is Decimal:
            return function(a, b)
        raise _MismatchError

    return arithmetic


def _ordering(
    function: Callable[[object, object], bool], left: _Evaluate, right: _Evaluate
) -> _Evaluate:
    def ordering(context: EvaluationContext) -> object:
        a, b = left(context), right(context)
        kind = type(a)
        if kind is type(b) and (kind is Decimal or kind is str):
            return function(a, b)
        raise _MismatchError

    return ordering


def _equality(negate: bool, left: _Evaluate, right: _Evaluate) -> _Evaluate:
    def equality(context: EvaluationContext) -> object:
        a, b = left(context), right(context)
        kind = type(a)
        if kind is type(b) and (kind is Decimal or kind is str or kind is bool):
            return (a != b) if negate else (a == b)
        raise _MismatchError

    return equality


def _logic(conjunction: bool, left: _Evaluate, right: _Evaluate) -> _Evaluate:
    def logic(context: EvaluationContext) -> object:
        a, b = left(context), right(context)  # both sides always: errors are never skipped
        if type(a) is bool and type(b) is bool:
            return (a and b) if conjunction else (a or b)
        raise _MismatchError

    return logic


def _not(operand: _Evaluate) -> _Evaluate:
    def negation(context: EvaluationContext) -> object:
        value = operand(context)
        if type(value) is bool:
            return not value
        raise _MismatchError

    return negation


def _minus(operand: _Evaluate) -> _Evaluate:
    def minus(context: EvaluationContext) -> object:
        value = operand(context)
        if type(value) is Decimal:
            return _DECIMAL.minus(value)
        raise _MismatchError

    return minus


def _compile(expr: Expr) -> _Evaluate:
    if isinstance(expr, Literal):
        return _constant(expr.value)
    if isinstance(expr, Name | Dereference):
        return _reference(expr)
    if isinstance(expr, UnaryOperation):
        operand = _compile(expr.operand)
        return _not(operand) if expr.operator == "!" else _minus(operand)
    left, right = _compile(expr.left), _compile(expr.right)
    symbol = expr.operator
    if symbol in _ARITHMETIC:
        return _arithmetic(_ARITHMETIC[symbol], left, right)
    if symbol in _ORDERING:
        return _ordering(_ORDERING[symbol], left, right)
    if symbol in ("==", "!="):
        return _equality(symbol == "!=", left, right)
    return _logic(symbol == "&&", left, right)


class CompiledExpression:
    """An expression compiled once into closures; ``matches(context)`` never raises.

    Example: ``compile_expression(parse_expression("currentTxn.value > 500")).matches(
    {"currentTxn": {"value": Decimal("600")}})`` is True.
    """

    __slots__ = ("_evaluate", "tree")

    def __init__(self, tree: Expr, evaluate: _Evaluate) -> None:
        self.tree = tree
        self._evaluate = evaluate

    def matches(self, context: EvaluationContext) -> bool:
        """Return True only if the expression evaluates to boolean true in ``context``."""
        try:
            return self._evaluate(context) is True
        except (_MismatchError, ArithmeticError):
            return False

    __call__ = matches

    def __repr__(self) -> str:
        return f"CompiledExpression({self.tree!r})"


def compile_expression(tree: Expr) -> CompiledExpression:
    """Validate ``tree`` (depth, names) and compile it for fast repeated evaluation."""
    check_depth(tree)
    validate_names(tree)
    return CompiledExpression(tree, _compile(tree))
