"""Text to tree: a hand-written tokenizer and recursive-descent parser with a depth guard."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from milestones.domain.expressions.names import (
    ROOT_TYPES,
    attribute_type,
    reference_path,
    unknown_attribute_message,
    unknown_name_message,
)
from milestones.domain.expressions.tree import (
    COMPARISON_OPERATORS,
    MAX_DEPTH,
    MAX_TEXT_LENGTH,
    BinaryOperation,
    Dereference,
    Expr,
    ExpressionError,
    Literal,
    Name,
    UnaryOperation,
    children,
)

_E = TypeVar("_E", bound=Expr)

_TOKEN_RE = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]+)?)"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|>=|<=|&&|\|\||[<>+\-*/!().])"
)
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}
_BOOLEANS = {"true": True, "false": False}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_LONE_CHARACTER_HINTS = {
    "=": "; use '==' to compare",
    "&": "; use '&&' or 'and'",
    "|": "; use '||' or 'or'",
}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # number, string, boolean, ident, op, end
    value: str  # the number text, the decoded string, the name, or the normalised operator
    text: str  # as written, for messages
    position: int

    def describe(self) -> str:
        return "end of expression" if self.kind == "end" else f"'{self.text}'"


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    parts: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            return "".join(parts), index + 1
        if char == "\\" and index + 1 < len(text):
            escaped = _ESCAPES.get(text[index + 1])
            if escaped is None:
                raise ExpressionError(
                    f"unknown escape '\\{text[index + 1]}' at position {index}; "
                    "use \\\\, \\', \\\", \\n, \\t or \\r",
                    index,
                )
            parts.append(escaped)
            index += 2
            continue
        parts.append(char)
        index += 1
    raise ExpressionError(f"unterminated string starting at position {start}", start)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char in "'\"":
            value, end = _read_string(text, index)
            tokens.append(_Token("string", value, text[index:end], index))
            index = end
            continue
        match = _TOKEN_RE.match(text, index)
        if match is None:
            hint = _LONE_CHARACTER_HINTS.get(char, "")
            raise ExpressionError(f"unexpected character '{char}' at position {index}{hint}", index)
        word = match.group()
        kind = match.lastgroup or "op"
        after_dot = bool(tokens) and tokens[-1].kind == "op" and tokens[-1].value == "."
        if kind == "ident" and not after_dot:
            lowered = word.lower()
            if lowered in _WORD_OPERATORS:
                tokens.append(_Token("op", _WORD_OPERATORS[lowered], word, index))
            elif lowered in _BOOLEANS:
                tokens.append(_Token("boolean", lowered, word, index))
            else:
                tokens.append(_Token("ident", word, word, index))
        else:
            tokens.append(_Token(kind, word, word, index))
        index = match.end()
    tokens.append(_Token("end", "", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._nesting = 0
        self._depths: dict[int, int] = {}

    def parse(self) -> Expr:
        if self._peek().kind == "end":
            raise ExpressionError(
                "empty expression at position 0; write a condition such as true", 0
            )
        expr = self._or()
        token = self._peek()
        if token.kind != "end":
            hint = (
                "there is no matching '('"
                if token.value == ")"
                else "expected an operator or the end of the expression"
            )
            raise ExpressionError(
                f"unexpected {token.describe()} at position {token.position}; {hint}",
                token.position,
            )
        return expr

    # -- helpers -----------------------------------------------------------------------------

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _advance(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _at_operator(self, operators: frozenset[str] | set[str]) -> bool:
        token = self._peek()
        return token.kind == "op" and token.value in operators

    def _enter(self, token: _Token) -> None:
        self._nesting += 1
        if self._nesting > MAX_DEPTH:
            raise ExpressionError(
                f"expression is nested too deeply at position {token.position}: "
                f"more than {MAX_DEPTH} levels",
                token.position,
            )

    def _node(self, expr: _E, token: _Token) -> _E:
        depth = 1 + max((self._depths.get(id(c), 1) for c in children(expr)), default=0)
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f"expression is nested too deeply at position {token.position}: "
                f"more than {MAX_DEPTH} levels; split it into smaller conditions",
                token.position,
            )
        self._depths[id(expr)] = depth
        return expr

    def _unexpected(self, token: _Token, expected: str) -> ExpressionError:
        return ExpressionError(
            f"unexpected {token.describe()} at position {token.position}; expected {expected}",
            token.position,
        )

    # -- grammar, lowest precedence first ----------------------------------------------------

    def _left_associative(self, operators: set[str], operand: Callable[[], Expr]) -> Expr:
        left = operand()
        while self._at_operator(operators):
            token = self._advance()
            left = self._node(BinaryOperation(token.value, left, operand()), token)
        return left

    def _or(self) -> Expr:
        return self._left_associative({"||"}, self._and)

    def _and(self) -> Expr:
        return self._left_associative({"&&"}, self._not)

    def _not(self) -> Expr:
        if not self._at_operator({"!"}):
            return self._comparison()
        token = self._advance()
        self._enter(token)
        operand = self._not()
        self._nesting -= 1
        return self._node(UnaryOperation("!", operand), token)

    def _comparison(self) -> Expr:
        left = self._additive()
        if not self._at_operator(COMPARISON_OPERATORS):
            return left
        token = self._advance()
        expr = self._node(BinaryOperation(token.value, left, self._additive()), token)
        if self._at_operator(COMPARISON_OPERATORS):
            chained = self._peek()
            raise ExpressionError(
                f"comparisons cannot be chained: '{chained.text}' at position "
                f"{chained.position}; add brackets, e.g. (a < b) == true",
                chained.position,
            )
        return expr

    def _additive(self) -> Expr:
        return self._left_associative({"+", "-"}, self._multiplicative)

    def _multiplicative(self) -> Expr:
        return self._left_associative({"*", "/"}, self._negation)

    def _negation(self) -> Expr:
        if not self._at_operator({"-"}):
            return self._primary()
        token = self._advance()
        if self._peek().kind == "number":  # "-5" is a negative literal, "-(5)" a negation
            return Literal(Decimal(self._advance().value).copy_negate())
        self._enter(token)
        operand = self._negation()
        self._nesting -= 1
        return self._node(UnaryOperation("-", operand), token)

    def _primary(self) -> Expr:
        token = self._advance()
        if token.kind == "number":
            return Literal(Decimal(token.value))
        if token.kind == "string":
            return Literal(token.value)
        if token.kind == "boolean":
            return Literal(_BOOLEANS[token.value])
        if token.kind == "ident":
            return self._reference(token)
        if token.kind == "op" and token.value == "(":
            self._enter(token)
            expr = self._or()
            closing = self._peek()
            if closing.kind == "end":
                raise ExpressionError(
                    f"unclosed '(' at position {token.position}; add a ')'", token.position
                )
            if closing.value != ")" or closing.kind != "op":
                raise self._unexpected(closing, "')' or an operator")
            self._advance()
            self._nesting -= 1
            return expr
        raise self._unexpected(token, "a number, a 'string', true, false, a name or '('")

    def _reference(self, token: _Token) -> Expr:
        tag = ROOT_TYPES.get(token.value)
        if tag is None:
            where = f"at position {token.position}"
            raise ExpressionError(unknown_name_message(token.value, where), token.position)
        expr: Name | Dereference = Name(token.value)
        while self._at_operator({"."}):
            self._advance()
            attribute = self._advance()
            if attribute.kind != "ident":
                raise self._unexpected(attribute, "an attribute name after '.'")
            child = attribute_type(tag, attribute.value)
            if child is None:
                where = f"at position {attribute.position}"
                message = unknown_attribute_message(
                    reference_path(expr), tag, attribute.value, where
                )
                raise ExpressionError(message, attribute.position)
            expr, tag = self._node(Dereference(expr, attribute.value), attribute), child
        return expr


def parse_expression(text: str) -> Expr:
    """Parse expression text into a tree, or raise ``ExpressionError`` saying where and why.

    Example: ``parse_expression("currentTxn.value > 500")``.
    """
    if len(text) > MAX_TEXT_LENGTH:
        raise ExpressionError(
            f"expression is too long at position {MAX_TEXT_LENGTH}: {len(text)} characters, "
            f"at most {MAX_TEXT_LENGTH} allowed",
            MAX_TEXT_LENGTH,
        )
    return _Parser(_tokenize(text)).parse()
