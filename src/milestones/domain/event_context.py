"""The expression contexts of one event (SPEC §7), built once and shared by every target.

Keys whose value the event lacks are left out rather than set to None, so the
evaluator reads them as missing (and the expression as false).

Example: for a bill of 600, ``EventContexts(event).for_event()["currentTxn"]["value"]``
is ``Decimal("600")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, Overflow
from types import MappingProxyType
from typing import Final

from milestones.domain.events import Event, LineItem, Transaction
from milestones.domain.expressions import EvaluationContext

# KPI sums use a fixed, wide context so the thread's decimal context never rounds them.
KPI_ARITHMETIC: Final = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, Overflow]
)

_NO_FIELDS: Final[Mapping[str, object]] = MappingProxyType({})
_ZERO: Final = Decimal(0)


def _transaction_context(
    event: Event, transaction: Transaction, number_of_items: Decimal
) -> dict[str, object]:
    context: dict[str, object] = {
        "value": transaction.bill_amount,
        "numberOfItems": number_of_items,
        "extendedFields": transaction.extended_fields,
    }
    if transaction.gross_amount is not None:
        context["grossValue"] = transaction.gross_amount
    if transaction.discount is not None:
        context["discount"] = transaction.discount
    if transaction.bill_number is not None:
        context["billNumber"] = transaction.bill_number
    if event.store_id is not None:
        context["storeId"] = event.store_id
    if event.till_id is not None:
        context["tillId"] = event.till_id
    return context


def _line_context(line: LineItem) -> dict[str, object]:
    context: dict[str, object] = {
        "qty": line.qty,
        "value": line.amount,
        "extendedFields": line.extended_fields,
    }
    if line.item_code is not None:
        context["itemCode"] = line.item_code
    if line.category is not None:
        context["category"] = line.category
    if line.rate is not None:
        context["rate"] = line.rate
    if line.gross_amount is not None:
        context["grossValue"] = line.gross_amount
    return context


class EventContexts:
    """The expression contexts of one event, built once, reused by every target.

    Example: ``EventContexts(event, {"tier": "GOLD"}).for_line(0)["currentLineItem"]``.
    """

    __slots__ = ("_customer_fields", "_event", "_event_context", "_line_contexts", "_quantity")

    def __init__(self, event: Event, customer_fields: Mapping[str, object] | None = None) -> None:
        self._event = event
        self._customer_fields = _NO_FIELDS if customer_fields is None else customer_fields
        self._event_context: dict[str, Mapping[str, object]] | None = None
        self._line_contexts: list[dict[str, Mapping[str, object]] | None] | None = None
        self._quantity: Decimal | None = None

    @property
    def event(self) -> Event:
        """The event these contexts describe."""
        return self._event

    @property
    def number_of_items(self) -> Decimal:
        """Σ line ``qty`` of the bill (0 without a transaction), computed once."""
        quantity = self._quantity
        if quantity is None:
            quantity = _ZERO
            transaction = self._event.transaction
            if transaction is not None:
                add = KPI_ARITHMETIC.add
                for line in transaction.line_items:
                    quantity = add(quantity, line.qty)
            self._quantity = quantity
        return quantity

    def for_event(self) -> EvaluationContext:
        """``currentTxn`` / ``currentEvent`` / ``currentCurrency`` / ``customer``."""
        context = self._event_context
        if context is None:
            context = self._event_context = self._build_event_context()
        return context

    def for_line(self, index: int) -> EvaluationContext:
        """The event context plus ``currentLineItem`` for line ``index`` of the bill."""
        transaction = self._event.transaction
        lines = transaction.line_items if transaction is not None else ()
        cache = self._line_contexts
        if cache is None:
            cache = self._line_contexts = [None] * len(lines)
        context = cache[index]
        if context is None:
            context = dict(self.for_event())
            context["currentLineItem"] = _line_context(lines[index])
            cache[index] = context
        return context

    def _build_event_context(self) -> dict[str, Mapping[str, object]]:
        event = self._event
        # The event's own name wins over a custom attribute called "eventName".
        context: dict[str, Mapping[str, object]] = {
            "currentEvent": {**event.attributes, "eventName": event.event_name},
            "customer": {"customFields": self._customer_fields},
        }
        if event.transaction is not None:
            context["currentTxn"] = _transaction_context(
                event, event.transaction, self.number_of_items
            )
        currency = event.currency
        if currency is not None:
            fields: dict[str, object] = {"amount": currency.amount, "earnType": currency.earn_type}
            if currency.identifier is not None:
                fields["identifier"] = currency.identifier
            context["currentCurrency"] = fields
        return context


__all__ = ["KPI_ARITHMETIC", "EventContexts"]
