"""Stored events read back as the engine's objects: a bill to return, and its return state.

An event's ``payload`` is the JSON body as it was accepted (validated then), so it is
read back without checks beyond what keeps a read from failing; numbers were written
exactly (decimals) and come back as they went in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

import simplejson

from milestones.domain.events import TRANSACTION_ADD, Event, LineItem, Transaction
from milestones.domain.returns import LineReturn, ReturnState
from milestones.engine.returns import OriginalBill

MILLI = Decimal("0.001")
ZERO = Decimal(0)


def stored_bill(payload: object, user_id: int, event_time: datetime) -> Event:
    """A stored ``TransactionAdd`` as the engine read it when it arrived."""
    body = payload if isinstance(payload, Mapping) else {}
    bill = _mapping(body.get("transaction"))
    return Event(
        event_id=str(body.get("eventId", "")),
        event_name=TRANSACTION_ADD,
        user_id=user_id,
        event_time=event_time,
        store_id=_id(body.get("storeId")),
        till_id=_id(body.get("tillId")),
        zone_id=_id(body.get("zoneId")),
        concept_id=_id(body.get("conceptId")),
        transaction=Transaction(
            bill_number=_text(bill.get("billNumber")),
            bill_amount=_money(bill.get("billAmount")) or ZERO,
            gross_amount=_money(bill.get("grossAmount")),
            discount=_money(bill.get("discount")),
            extended_fields=_mapping(bill.get("extendedFields")),
            line_items=tuple(_line(_mapping(line)) for line in _list(bill.get("lineItems"))),
        ),
        attributes=_mapping(body.get("attributes")),
    )


def _line(line: Mapping[str, object]) -> LineItem:
    return LineItem(
        item_code=_text(line.get("itemCode")),
        category=_text(line.get("category")),
        qty=_money(line.get("qty")) or ZERO,
        rate=_money(line.get("rate")),
        amount=_money(line.get("amount")) or ZERO,
        gross_amount=_money(line.get("grossAmount")),
        extended_fields=_mapping(line.get("extendedFields")),
    )


def return_state_of(
    returned_amount: Decimal, returned_lines: str | None, lines: int
) -> ReturnState:
    """A bill's return state from its ``returned_amount`` and ``returned_lines`` columns."""
    if not returned_lines:
        return ReturnState(returned_amount, (LineReturn(),) * lines)
    parts = simplejson.loads(returned_lines)
    return ReturnState(
        ZERO, tuple(LineReturn(Decimal(qty), Decimal(amount)) for qty, amount in parts)
    )


def stored_return_state(original: OriginalBill, after: ReturnState) -> tuple[Decimal, str | None]:
    """The ``returned_amount`` and ``returned_lines`` columns of a bill in state ``after``.

    ``returned_amount`` (what ``lifetimePurchases`` takes off) never passes the bill's
    amount, even when its lines' prices add up to more; it is the whole bill once whole.
    """
    bill_amount = original.bill_amount
    if after.whole(original.lines, bill_amount):
        returned = bill_amount
    else:
        returned = min(after.returned_money(original.lines, bill_amount), bill_amount)
    if not after.by_lines:
        return returned, None
    lines = [[str(line.qty), str(line.amount)] for line in after.lines]
    return returned, simplejson.dumps(lines)


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _id(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _money(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        return None
    try:
        return Decimal(str(value)).quantize(MILLI)
    except (InvalidOperation, ValueError):
        return None
