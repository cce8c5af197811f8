"""What one event contributes to one target (SPEC §6.2), before the per-day rules.

``read`` answers the amount a target's KPI takes from an event, or None when the
target does not count the event. Event name, enrolment, periods and filters are
the engine's checks (``passes_filters`` is here, but separate).

Example: for a TRANSACTION/SALES target and a bill of 1200,
``read(target, compile_expression(TRUE), event, EventContexts(event))`` is
``Reading(Decimal("1200"))``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final, TypeAlias

from milestones.domain.event_context import KPI_ARITHMETIC, EventContexts
from milestones.domain.events import Event, LineItem, Transaction
from milestones.domain.expressions import CompiledExpression, Literal
from milestones.domain.returns import Loss
from milestones.domain.target_groups import Target, TargetEntity


class DayRule(StrEnum):
    """How the engine folds a reading into its local day."""

    VISIT = "VISIT"
    MAX = "MAX"


@dataclass(frozen=True, slots=True)
class Reading:
    """What one event brings to one target before the per-day rules.

    Example: ``Reading(Decimal("1200"))``; ``Reading(Decimal(1), DayRule.VISIT)``.
    """

    amount: Decimal
    day_rule: DayRule | None = None


_Reader: TypeAlias = Callable[[Target, CompiledExpression, Event, EventContexts], "Reading | None"]

_ONE: Final = Decimal(1)
_ZERO: Final = Decimal(0)
_COUNTED: Final = Reading(_ONE)
_VISITED: Final = Reading(_ONE, DayRule.VISIT)
_PLACES: Final = Decimal("0.001")
_NUMBER_TEXT: Final = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)
_LONGEST_NUMBER_TEXT: Final = 100
_REGULAR: Final = frozenset({"REGULAR"})
_PROMOTIONAL: Final = frozenset({"PROMOTIONAL", "PROMOTION"})


def _number(value: object) -> Decimal | None:
    """A finite int, Decimal or decimal text, quantized to 3 places; None for anything else."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str):
        if len(value) > _LONGEST_NUMBER_TEXT or _NUMBER_TEXT.fullmatch(value) is None:
            return None
        try:
            number = Decimal(value)
        except ArithmeticError:
            return None
    else:
        return None
    if not number.is_finite():
        return None
    try:
        return number.quantize(_PLACES, context=KPI_ARITHMETIC)
    except ArithmeticError:
        return None


def _total(values: Iterable[Decimal]) -> Decimal:
    add = KPI_ARITHMETIC.add
    total = _ZERO
    for value in values:
        total = add(total, value)
    return total


def _always(expression: CompiledExpression) -> bool:
    tree = expression.tree
    return type(tree) is Literal and tree.value is True


def _event_matches(expression: CompiledExpression, contexts: EventContexts) -> bool:
    return _always(expression) or expression.matches(contexts.for_event())


def _field_spec(target: Target) -> tuple[str, str] | None:
    info = target.extended_field_info
    if info is None:
        return None
    name, function = info.get("name"), info.get("aggregateFunction")
    if isinstance(name, str) and isinstance(function, str):
        return name, function
    return None


def _one_field(target: Target, fields: Mapping[str, object]) -> Reading | None:
    """SUM / COUNT / MAX of one field of one mapping (a bill's or the event's)."""
    spec = _field_spec(target)
    if spec is None:
        return None
    name, function = spec
    value = fields.get(name)
    if function == "COUNT":
        return None if value is None else _COUNTED
    number = _number(value)
    if number is None:
        return None
    if function == "SUM":
        return Reading(number)
    return Reading(number, DayRule.MAX) if function == "MAX" else None


def _many_fields(target: Target, lines: Sequence[LineItem]) -> Reading | None:
    """SUM / COUNT / MAX of one field over the matching lines; None if none has it."""
    spec = _field_spec(target)
    if spec is None:
        return None
    name, function = spec
    if function == "COUNT":
        present = sum(1 for line in lines if line.extended_fields.get(name) is not None)
        return Reading(Decimal(present)) if present else None
    numbers = [
        number for line in lines if (number := _number(line.extended_fields.get(name))) is not None
    ]
    if not numbers:
        return None
    if function == "SUM":
        return Reading(_total(numbers))
    return Reading(max(numbers), DayRule.MAX) if function == "MAX" else None


# TRANSACTION: the bill as a whole, expression evaluated once.


def _bill_reader(amount: Callable[[Target, Transaction, EventContexts], Reading | None]) -> _Reader:
    def reader(
        target: Target, expression: CompiledExpression, event: Event, contexts: EventContexts
    ) -> Reading | None:
        transaction = event.transaction
        if transaction is None:
            return None
        reading = amount(target, transaction, contexts)
        if reading is None or not _event_matches(expression, contexts):
            return None
        return reading

    return reader


def _bill_sales(target: Target, bill: Transaction, contexts: EventContexts) -> Reading:
    return Reading(bill.bill_amount)


def _bill_gross_sales(target: Target, bill: Transaction, contexts: EventContexts) -> Reading:
    return Reading(bill.bill_amount if bill.gross_amount is None else bill.gross_amount)


def _bill_quantity(target: Target, bill: Transaction, contexts: EventContexts) -> Reading:
    return Reading(contexts.number_of_items)


def _bill_field(target: Target, bill: Transaction, contexts: EventContexts) -> Reading | None:
    return _one_field(target, bill.extended_fields)


# LINEITEM: the bill's lines for which the expression is true.


def _matching_lines(
    expression: CompiledExpression, event: Event, contexts: EventContexts
) -> Sequence[LineItem]:
    transaction = event.transaction
    if transaction is None:
        return ()
    lines = transaction.line_items
    if _always(expression):
        return lines
    matches, for_line = expression.matches, contexts.for_line
    return [line for index, line in enumerate(lines) if matches(for_line(index))]


def _lines_reader(amount: Callable[[Target, Sequence[LineItem]], Reading | None]) -> _Reader:
    def reader(
        target: Target, expression: CompiledExpression, event: Event, contexts: EventContexts
    ) -> Reading | None:
        lines = _matching_lines(expression, event, contexts)
        return amount(target, lines) if lines else None

    return reader


def _lines_count(target: Target, lines: Sequence[LineItem]) -> Reading:
    return Reading(Decimal(len(lines)))


def _lines_sales(target: Target, lines: Sequence[LineItem]) -> Reading:
    return Reading(_total(line.amount for line in lines))


def _lines_gross_sales(target: Target, lines: Sequence[LineItem]) -> Reading:
    return Reading(
        _total(line.amount if line.gross_amount is None else line.gross_amount for line in lines)
    )


def _lines_quantity(target: Target, lines: Sequence[LineItem]) -> Reading:
    return Reading(_total(line.qty for line in lines))


# EVENT and REWARDS: any event.


def _constant_reader(reading: Reading) -> _Reader:
    def reader(
        target: Target, expression: CompiledExpression, event: Event, contexts: EventContexts
    ) -> Reading | None:
        return reading if _event_matches(expression, contexts) else None

    return reader


def _attribute(
    target: Target, expression: CompiledExpression, event: Event, contexts: EventContexts
) -> Reading | None:
    reading = _one_field(target, event.attributes)
    if reading is None or not _event_matches(expression, contexts):
        return None
    return reading


# ALTERNATE_CURRENCIES and POINTS: the currency earned, by earn type.


def _currency_reader(earn_types: frozenset[str] | None, alternate: bool) -> _Reader:
    def reader(
        target: Target, expression: CompiledExpression, event: Event, contexts: EventContexts
    ) -> Reading | None:
        currency = event.currency
        if currency is None:
            return None
        if earn_types is not None:
            earn_type = currency.earn_type
            if earn_type not in earn_types and earn_type.upper() not in earn_types:
                return None
        identifier = currency.identifier
        if alternate:
            wanted = target.alternate_currency_identifier
            if wanted is None or identifier != wanted:
                return None
            program = target.program_id
            if program is not None and currency.program_id not in (None, program):
                return None
        elif identifier is not None and identifier.upper() != "POINTS":
            return None
        return Reading(currency.amount) if _event_matches(expression, contexts) else None

    return reader


def _currency_readers(alternate: bool) -> dict[str, _Reader]:
    every = _currency_reader(None, alternate)
    regular = _currency_reader(_REGULAR, alternate)
    promotional = _currency_reader(_PROMOTIONAL, alternate)
    return {
        "ALL": every,
        "ALL_POINTS": every,
        "REGULAR": regular,
        "REGULAR_POINTS": regular,
        "PROMOTION": promotional,
        "PROMOTIONAL_POINTS": promotional,
    }


_COUNT_READER: Final = _constant_reader(_COUNTED)
_VISIT_READER: Final = _constant_reader(_VISITED)

_READERS: Final[Mapping[TargetEntity, Mapping[str, _Reader]]] = {
    TargetEntity.TRANSACTION: {
        "COUNT": _bill_reader(lambda target, bill, contexts: _COUNTED),
        "SALES": _bill_reader(_bill_sales),
        "GROSS_SALES": _bill_reader(_bill_gross_sales),
        "QUANTITY": _bill_reader(_bill_quantity),
        "VISIT": _bill_reader(lambda target, bill, contexts: _VISITED),
        "EXTENDED_FIELD": _bill_reader(_bill_field),
    },
    TargetEntity.LINEITEM: {
        "COUNT": _lines_reader(_lines_count),
        "SALES": _lines_reader(_lines_sales),
        "GROSS_SALES": _lines_reader(_lines_gross_sales),
        "QUANTITY": _lines_reader(_lines_quantity),
        "EXTENDED_FIELD": _lines_reader(_many_fields),
    },
    TargetEntity.EVENT: {
        "COUNT": _COUNT_READER,
        "VISIT": _VISIT_READER,
        "EVENT_ATTRIBUTE": _attribute,
        "EXTENDED_FIELD": _attribute,
    },
    TargetEntity.REWARDS: {"COUNT": _COUNT_READER, "VISIT": _VISIT_READER},
    TargetEntity.ALTERNATE_CURRENCIES: _currency_readers(alternate=True),
    TargetEntity.POINTS: _currency_readers(alternate=False),
}

_NO_READERS: Final[Mapping[str, _Reader]] = {}


def keeps_days(target: Target) -> bool:
    """Whether ``target`` reads with a day rule (VISIT once a day, MAX only a day's best), and
    so keeps a record per customer and local day."""
    if target.target_type == "VISIT":
        return True
    spec = _field_spec(target)
    return spec is not None and spec[1] == "MAX"


def read(
    target: Target, expression: CompiledExpression, event: Event, contexts: EventContexts
) -> Reading | None:
    """What ``event`` brings to ``target`` (SPEC §6.2), or None if the target does not count it."""
    reader = _READERS.get(target.entity, _NO_READERS).get(target.target_type)
    return None if reader is None else reader(target, expression, event, contexts)


_LOSSES: Final[Mapping[str, Loss]] = {
    "SALES": Loss.MONEY,
    "GROSS_SALES": Loss.MONEY,
    "QUANTITY": Loss.QUANTITY,
    "COUNT": Loss.COUNT,
    "VISIT": Loss.KEPT,
}


def loss_of(target: Target) -> Loss:
    """How ``target`` loses value when a bill it counted comes back (§10)."""
    kpi = target.target_type
    if kpi == "VISIT":
        return Loss.KEPT
    if target.entity is TargetEntity.TRANSACTION:
        # The bill's money (net or gross) comes back in the share its returned lines are of
        # it (a bill-level discount shared by the lines' prices); units and the bill as such.
        return {"QUANTITY": Loss.QUANTITY, "COUNT": Loss.COUNT}.get(kpi, Loss.SHARE)
    if target.entity is not TargetEntity.LINEITEM:
        return Loss.SHARE
    if kpi == "EXTENDED_FIELD":
        function = (_field_spec(target) or ("", ""))[1]
        return {"SUM": Loss.MONEY, "COUNT": Loss.COUNT}.get(function, Loss.SHARE)
    return _LOSSES.get(kpi, Loss.SHARE)


def by_line(
    target: Target, expression: CompiledExpression, event: Event, contexts: EventContexts
) -> tuple[Decimal | None, ...] | None:
    """What each line of the bill gives ``target`` (None: a line it does not count).

    None when the target does not count the bill line by line: a bill-level COUNT, an
    extended field of the bill, or a line field taken by its day's maximum.
    """
    transaction = event.transaction
    if transaction is None:
        return None
    lines = transaction.line_items
    kpi = target.target_type
    if target.entity is TargetEntity.TRANSACTION:
        return tuple(line.qty for line in lines) if kpi == "QUANTITY" else None
    if target.entity is not TargetEntity.LINEITEM:
        return None
    if kpi == "EXTENDED_FIELD" and (_field_spec(target) or ("", ""))[1] not in ("SUM", "COUNT"):
        return None
    counted = set(map(id, _matching_lines(expression, event, contexts)))
    return tuple(_line_value(kpi, target, line) if id(line) in counted else None for line in lines)


def _line_value(kpi: str, target: Target, line: LineItem) -> Decimal | None:
    if kpi == "SALES":
        return line.amount
    if kpi == "GROSS_SALES":
        return line.amount if line.gross_amount is None else line.gross_amount
    if kpi == "QUANTITY":
        return line.qty
    if kpi == "COUNT":
        return _ONE
    reading = _many_fields(target, (line,))
    return None if reading is None else reading.amount


def passes_filters(filters: Sequence[Mapping[str, object]], event: Event) -> bool:
    """True if the event's store, zone and concept are in every non-empty filter's ids."""
    for entry in filters:
        ids = entry.get("entityIds")
        if not ids:
            continue
        entity_type = entry.get("entityType")
        if entity_type == "STORE":
            value = event.store_id
        elif entity_type == "ZONE":
            value = event.zone_id
        elif entity_type == "CONCEPT":
            value = event.concept_id
        else:
            return False
        if value is None or not isinstance(ids, list | tuple | set | frozenset) or value not in ids:
            return False
    return True


__all__ = ["DayRule", "EventContexts", "Reading", "passes_filters", "read"]
