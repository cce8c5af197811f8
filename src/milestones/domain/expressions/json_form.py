"""Tree to and from the seeds' JSON form (``arity``/``value``/``type``/``operands`` nodes)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

from milestones.domain.expressions.names import (
    IDENTIFIER_RE,
    LITERAL_TYPES,
    ROOT_TYPES,
    attribute_type,
    reference_path,
    reference_type,
    type_of,
    unknown_attribute_message,
    unknown_name_message,
)
from milestones.domain.expressions.printer import format_literal
from milestones.domain.expressions.tree import (
    BINARY_OPERATORS,
    MAX_DEPTH,
    UNARY_OPERATORS,
    BinaryOperation,
    Dereference,
    Expr,
    ExpressionError,
    Literal,
    Name,
    UnaryOperation,
    check_depth,
)
from milestones.domain.json_input import fault_field, read_json

MAX_JSON_LENGTH = 100_000

_ARITIES = ("literal", "name", "object_dereference", "binary_operation", "unary_operation")
_NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}
_KIND_OF_TYPE = {tag: kind for kind, tag in LITERAL_TYPES.items()}


def _to_node(expr: Expr) -> dict[str, object]:
    if isinstance(expr, Literal):
        text = format_literal(expr) if expr.kind != "string" else str(expr.value)
        return {"arity": "literal", "value": text, "type": LITERAL_TYPES[expr.kind]}
    if isinstance(expr, Name):
        return {"arity": "name", "value": expr.name, "type": type_of(expr)}
    if isinstance(expr, Dereference):
        tag = type_of(expr)
        attribute = {"arity": "name", "value": expr.attribute, "type": tag}
        return {
            "arity": "object_dereference",
            "type": tag,
            "operands": [_to_node(expr.target), attribute],
        }
    arity = "binary_operation" if isinstance(expr, BinaryOperation) else "unary_operation"
    operands = [expr.left, expr.right] if isinstance(expr, BinaryOperation) else [expr.operand]
    return {
        "arity": arity,
        "value": expr.operator,
        "type": type_of(expr),
        "operands": [_to_node(operand) for operand in operands],
    }


def expression_to_json(tree: Expr) -> str:
    """Write a tree as the seeds' compact JSON string (keys in the seeds' order).

    Example: ``expression_to_json(TRUE)`` is
    ``{"arity":"literal","value":"true","type":"boolean:primitive"}``.
    """
    check_depth(tree)
    return json.dumps(_to_node(tree), separators=(",", ":"), ensure_ascii=False)


def _fail(message: str, where: str, hint: str = "") -> ExpressionError:
    return ExpressionError(f"{message} at {where}" + (f"; {hint}" if hint else ""), -1)


def _field(node: Mapping[str, object], key: str, where: str) -> object:
    if key not in node:
        raise _fail(f'missing "{key}"', where)
    return node[key]


def _text(node: Mapping[str, object], key: str, where: str) -> str:
    value = _field(node, key, where)
    if not isinstance(value, str):
        raise _fail(f'"{key}" must be a string, got {json.dumps(value, default=repr)}', where)
    return value


def _operands(node: Mapping[str, object], count: int, where: str) -> list[object]:
    operands = _field(node, "operands", where)
    if not isinstance(operands, Sequence) or isinstance(operands, str):
        raise _fail('"operands" must be a list', where)
    if len(operands) != count:
        raise _fail(f"expected {count} operand(s), got {len(operands)}", where)
    return list(operands)


def _read_literal(node: Mapping[str, object], where: str) -> Literal:
    tag = _text(node, "type", where)
    kind = _KIND_OF_TYPE.get(tag)
    if kind is None:
        known = ", ".join(LITERAL_TYPES.values())
        raise _fail(f"unknown literal type '{tag}'", where, f"expected one of: {known}")
    value = _field(node, "value", where)
    if kind == "string":
        if not isinstance(value, str):
            raise _fail('a string literal\'s "value" must be a string', where)
        return Literal(value)
    text = json.dumps(value) if isinstance(value, bool | int) else value
    if kind == "boolean":
        if text not in ("true", "false"):
            raise _fail(
                f'a boolean literal\'s "value" must be "true" or "false", got {value!r}', where
            )
        return Literal(text == "true")
    if not isinstance(text, str) or isinstance(value, bool) or not _NUMBER_RE.fullmatch(text):
        raise _fail(
            f'a number literal\'s "value" must look like 500 or -12.5, got {value!r}', where
        )
    return Literal(Decimal(text))


def _read_reference(node: object, where: str, depth: int) -> Name | Dereference:
    expr = _read(node, where, depth)
    if not isinstance(expr, Name | Dereference):
        raise _fail("the object of a dereference must be a name or another dereference", where)
    return expr


def _read_attribute(node: object, owner: Name | Dereference, where: str) -> str:
    if not isinstance(node, Mapping) or node.get("arity") != "name":
        raise _fail('the attribute of a dereference must be a "name" node', where)
    attribute = _text(node, "value", where)
    if not IDENTIFIER_RE.fullmatch(attribute):
        raise _fail(
            f"attribute '{attribute}' is not a valid name (letters, digits and _, "
            "not starting with a digit)",
            where,
        )
    owner_type = reference_type(owner)
    if attribute_type(owner_type, attribute) is None:
        message = unknown_attribute_message(
            reference_path(owner), owner_type, attribute, f"at {where}"
        )
        raise ExpressionError(message, -1)
    return attribute


def _operator(node: Mapping[str, object], allowed: frozenset[str], where: str) -> str:
    text = _text(node, "value", where)
    operator = _WORD_OPERATORS.get(text.lower(), text)
    if operator not in allowed:
        known = ", ".join(sorted(allowed))
        raise _fail(f"unknown operator '{text}'", where, f"expected one of: {known}")
    return operator


def _read(node: object, where: str, depth: int) -> Expr:
    if depth > MAX_DEPTH:
        raise _fail(f"expression is nested too deeply (more than {MAX_DEPTH} levels)", where)
    if not isinstance(node, Mapping):
        raise _fail(f"expected an object node, got {type(node).__name__}", where)
    arity = _field(node, "arity", where)
    if arity == "literal":
        return _read_literal(node, where)
    if arity == "name":
        name = _text(node, "value", where)
        if name not in ROOT_TYPES:
            raise ExpressionError(unknown_name_message(name, f"at {where}"), -1)
        return Name(name)
    if arity == "object_dereference":
        target_node, attribute_node = _operands(node, 2, where)
        target = _read_reference(target_node, f"{where}.operands[0]", depth + 1)
        attribute = _read_attribute(attribute_node, target, f"{where}.operands[1]")
        return Dereference(target, attribute)
    if arity == "binary_operation":
        operator = _operator(node, BINARY_OPERATORS, where)
        left, right = _operands(node, 2, where)
        return BinaryOperation(
            operator,
            _read(left, f"{where}.operands[0]", depth + 1),
            _read(right, f"{where}.operands[1]", depth + 1),
        )
    if arity == "unary_operation":
        operator = _operator(node, UNARY_OPERATORS, where)
        (operand,) = _operands(node, 1, where)
        return UnaryOperation(operator, _read(operand, f"{where}.operands[0]", depth + 1))
    raise _fail(
        f"unknown arity {json.dumps(arity, default=repr)}",
        where,
        f"expected one of: {', '.join(_ARITIES)}",
    )


def expression_from_json(value: str | Mapping[str, object]) -> Expr:
    """Read the seeds' JSON form (a JSON string, pretty or compact, or a decoded dict).

    The ``type`` fields are ignored except on literals, where they give the literal's kind.
    Example: ``expression_from_json('{"arity":"name","value":"customer","type":"x"}')``.
    """
    data: object = value
    if isinstance(value, str):
        if len(value) > MAX_JSON_LENGTH:
            raise ExpressionError(
                f"expression JSON is too long (over {MAX_JSON_LENGTH} characters)", -1
            )
        try:
            parsed = read_json(value)
        except json.JSONDecodeError as error:
            if error.msg == "nested too deeply":
                raise ExpressionError("expression JSON is nested too deeply", -1) from None
            raise ExpressionError(
                f"expression JSON is not valid JSON: {error.msg} at line {error.lineno} "
                f"column {error.colno}",
                -1,
            ) from None
        if parsed.faults:
            fault = parsed.faults[0]
            where = fault_field(fault.path) or "$"
            raise ExpressionError(f"expression JSON at {where}: {fault.problem}", -1)
        data = parsed.value
    return _read(data, "$", 1)
