"""The safe condition language of milestones: parse, print, JSON form and evaluation."""

from milestones.domain.expressions.evaluator import (
    CompiledExpression,
    EvaluationContext,
    compile_expression,
)
from milestones.domain.expressions.json_form import expression_from_json, expression_to_json
from milestones.domain.expressions.parser import parse_expression
from milestones.domain.expressions.printer import print_expression
from milestones.domain.expressions.tree import (
    FALSE,
    MAX_DEPTH,
    MAX_TEXT_LENGTH,
    TRUE,
    BinaryOperation,
    Dereference,
    Expr,
    ExpressionError,
    Literal,
    Name,
    UnaryOperation,
)

__all__ = [
    "FALSE",
    "MAX_DEPTH",
    "MAX_TEXT_LENGTH",
    "TRUE",
    "BinaryOperation",
    "CompiledExpression",
    "Dereference",
    "EvaluationContext",
    "Expr",
    "ExpressionError",
    "Literal",
    "Name",
    "UnaryOperation",
    "compile_expression",
    "expression_from_json",
    "expression_to_json",
    "parse_expression",
    "print_expression",
]
