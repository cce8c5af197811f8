"""Tree to text with the fewest brackets the precedence rules allow."""

from __future__ import annotations

from decimal import Decimal

from milestones.domain.expressions.tree import (
    COMPARISON_OPERATORS,
    BinaryOperation,
    Dereference,
    Expr,
    Literal,
    Name,
    UnaryOperation,
    check_depth,
)

_BINARY_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    **{operator: 4 for operator in COMPARISON_OPERATORS},
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
}
_NOT_PRECEDENCE = 3
_COMPARISON_PRECEDENCE = 4
_NEGATION_PRECEDENCE = 7
_ATOM_PRECEDENCE = 8
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _precedence(expr: Expr) -> int:
    if isinstance(expr, BinaryOperation):
        return _BINARY_PRECEDENCE[expr.operator]
    if isinstance(expr, UnaryOperation):
        return _NOT_PRECEDENCE if expr.operator == "!" else _NEGATION_PRECEDENCE
    return _ATOM_PRECEDENCE


def format_number(value: Decimal) -> str:
    """Write a Decimal in plain notation (never an exponent), e.g. ``1E+2`` as ``100``."""
    return format(value, "f")


def format_literal(literal: Literal) -> str:
    """Write a literal as expression text: ``500``, ``'it\\'s'``, ``true``."""
    value = literal.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_number(value)
    return "'" + value.translate(_STRING_ESCAPES) + "'"


def _bracketed(expr: Expr, needs_brackets: bool) -> str:
    text = _print(expr)
    return f"({text})" if needs_brackets else text


def _print(expr: Expr) -> str:
    if isinstance(expr, Literal):
        return format_literal(expr)
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, Dereference):
        return f"{_print(expr.target)}.{expr.attribute}"
    if isinstance(expr, UnaryOperation):
        operand = expr.operand
        if expr.operator == "!":
            # `!` binds looser than comparisons; bracket any operation for readability.
            return "!" + _bracketed(operand, isinstance(operand, BinaryOperation))
        # `-5` is read back as a negative literal, so negating a literal 5 is written `-(5)`.
        plain_number = (
            isinstance(operand, Literal)
            and isinstance(operand.value, Decimal)
            and not operand.value.is_signed()
        )
        needs = plain_number or _precedence(operand) < _NEGATION_PRECEDENCE
        return "-" + _bracketed(operand, needs)
    level = _BINARY_PRECEDENCE[expr.operator]
    left_level, right_level = _precedence(expr.left), _precedence(expr.right)
    if level == _COMPARISON_PRECEDENCE:  # comparisons do not chain: bracket both sides
        left = _bracketed(expr.left, left_level <= level)
    else:
        left = _bracketed(expr.left, left_level < level)
    right = _bracketed(expr.right, right_level <= level)
    return f"{left} {expr.operator} {right}"


def print_expression(tree: Expr) -> str:
    """Write a tree as expression text that parses back to an equal tree.

    Example: ``print_expression(parse_expression("currentTxn.value>500"))`` is
    ``"currentTxn.value > 500"``.
    """
    check_depth(tree)
    return _print(tree)
