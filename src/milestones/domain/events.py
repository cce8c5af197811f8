"""Events as the engine reads them: purchases, returns, currency earnings, custom events.

The API layer validates the JSON and builds these; everything after works on them.

>>> Event("B-1", "TransactionAdd", 347286146, datetime(2024, 8, 27, 9, 43, 40, tzinfo=UTC)).kind
'TransactionAdd'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from milestones.domain.returns import Returned

TRANSACTION_ADD = "TransactionAdd"
RETURN_BILL = "ReturnBill"
POINTS_EARNED = "PointsEarned"
REWARD_ISSUED = "RewardIssued"


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line of a bill."""

    item_code: str | None = None
    category: str | None = None
    qty: Decimal = Decimal(0)
    rate: Decimal | None = None
    amount: Decimal = Decimal(0)
    gross_amount: Decimal | None = None
    extended_fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transaction:
    """A bill: net ``bill_amount``, ``gross_amount`` before discount, its lines."""

    bill_number: str | None = None
    bill_amount: Decimal = Decimal(0)
    gross_amount: Decimal | None = None
    discount: Decimal | None = None
    extended_fields: Mapping[str, object] = field(default_factory=dict)
    line_items: tuple[LineItem, ...] = ()


@dataclass(frozen=True, slots=True)
class BillReturn:
    """A return of (part of) an earlier bill, by that bill's ``eventId``: an amount, or lines."""

    original_event_id: str
    amount: Decimal | None = None
    line_items: tuple[Returned, ...] = ()


@dataclass(frozen=True, slots=True)
class CurrencyEarning:
    """Points or an alternate currency earned."""

    identifier: str | None
    program_id: int | None
    amount: Decimal
    earn_type: str = "REGULAR"


@dataclass(frozen=True, slots=True)
class Event:
    """One event of one customer, placed in time by ``event_time``."""

    event_id: str
    event_name: str
    user_id: int
    event_time: datetime
    store_id: int | None = None
    till_id: int | None = None
    zone_id: int | None = None
    concept_id: int | None = None
    transaction: Transaction | None = None
    bill_return: BillReturn | None = None
    currency: CurrencyEarning | None = None
    attributes: Mapping[str, object] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.event_name


# What makes an event that event: customer, name, instant, and the body without its id
# and time, numbers compared by value (1200, 1200.0 and 1.2E+3 are one amount).
EventPrint = tuple[int, str, datetime, str]


def event_print(
    user_id: int, event_name: str, event_time: datetime, payload: Mapping[str, object]
) -> EventPrint:
    """The print of an event as received (``payload`` its JSON body), to tell a resend apart.

    >>> at = datetime(2024, 8, 27, tzinfo=UTC)
    >>> a = event_print(7, "TransactionAdd", at, {"transaction": {"billAmount": 12}})
    >>> a == event_print(7, "TransactionAdd", at, {"transaction": {"billAmount": Decimal("12.0")}})
    True
    """
    body = {key: value for key, value in payload.items() if key not in _NOT_PRINTED}
    return (user_id, event_name, event_time, _canonical(body))


_NOT_PRINTED = frozenset({"eventId", "eventTime", "userId", "eventName"})


def _canonical(value: object) -> str:
    if isinstance(value, Mapping):
        # A field sent as null, {} or [] says what leaving it out says: a sender's
        # serializer that adds them on a retry is resending the same event.
        items = sorted(
            (str(key), _canonical(item))
            for key, item in value.items()
            if item is not None and item != {} and item != []
        )
        return "{" + ",".join(f"{key!r}:{item}" for key, item in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int | Decimal | float):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        return "0" if number.is_zero() else str(number.normalize())
    return repr(value)


__all__ = [
    "POINTS_EARNED",
    "RETURN_BILL",
    "REWARD_ISSUED",
    "TRANSACTION_ADD",
    "UTC",
    "BillReturn",
    "CurrencyEarning",
    "Event",
    "EventPrint",
    "LineItem",
    "Transaction",
    "event_print",
]
