"""Event bodies (§6.1), validated one by one so a bad event in a bulk call refuses only itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, ValidationError

from milestones.api.errors import validation_errors
from milestones.api.routing import RefusedItem
from milestones.api.target_groups.schemas import (
    MAX_AMOUNT,
    NonNegativeAmount,
    Str,
    number_problem,
)
from milestones.domain.events import (
    POINTS_EARNED,
    RETURN_BILL,
    TRANSACTION_ADD,
    BillReturn,
    CurrencyEarning,
    Event,
    LineItem,
    Transaction,
)
from milestones.domain.returns import Returned
from milestones.domain.times import TimeFormatError, parse_local_or_instant
from milestones.engine.ingest import Submission

MAX_BULK = 1000
_REQUIRED_PART = {TRANSACTION_ADD: "transaction", RETURN_BILL: "return", POINTS_EARNED: "currency"}
ZERO = Decimal(0)
Identifier = Annotated[StrictInt, Field(ge=0, le=2**62)]


def _plain_numbers(fields: dict[str, Any]) -> dict[str, Any]:
    """Free-form values hold numbers as KPI values are (SPEC §2): an attribute is summed."""
    pending: list[Any] = [fields]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, Decimal):
            problem = number_problem(value)
            if problem is not None:
                raise ValueError(f"a number {problem}")
        elif type(value) is int and not -MAX_AMOUNT < value < MAX_AMOUNT:
            raise ValueError("a number must be below 10^15 in absolute value")
    return fields


Fields = Annotated[
    dict[Annotated[str, Field(max_length=200)], Any],
    Field(max_length=200),
    AfterValidator(_plain_numbers),
]
Amount = NonNegativeAmount  # amounts and quantities are >= 0: money goes back by ReturnBill


class Input(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LineItemIn(Input):
    itemCode: Annotated[Str, Field(max_length=200)] | None = None
    category: Annotated[Str, Field(max_length=200)] | None = None
    qty: Amount | None = None
    rate: Amount | None = None
    amount: Amount | None = None
    grossAmount: Amount | None = None
    extendedFields: Fields = {}


class TransactionIn(Input):
    billNumber: Annotated[Str, Field(max_length=200)] | None = None
    billAmount: Amount
    grossAmount: Amount | None = None
    discount: Amount | None = None
    extendedFields: Fields = {}
    lineItems: Annotated[list[LineItemIn], Field(max_length=1000)] = []


class ReturnLineIn(Input):
    """A returned line: matched to the bill's first open line with this ``itemCode`` (§10)."""

    itemCode: Annotated[Str, Field(max_length=200)]
    qty: Amount | None = None
    amount: Amount | None = None


class ReturnIn(Input):
    originalEventId: Annotated[Str, Field(min_length=1, max_length=100)]
    amount: Amount | None = None
    lineItems: Annotated[list[ReturnLineIn], Field(max_length=1000)] = []


class CurrencyIn(Input):
    identifier: Annotated[Str, Field(max_length=200)] | None = None
    programId: Identifier | None = None
    amount: Amount
    earnType: Annotated[Str, Field(max_length=40)] = "REGULAR"


class EventIn(Input):
    """One event: ``eventId``, ``eventName``, ``userId``, ``eventTime`` are required."""

    eventId: Annotated[Str, Field(min_length=1, max_length=100)]
    eventName: Annotated[Str, Field(min_length=1, max_length=200)]
    userId: Annotated[StrictInt, Field(ge=1, le=2**62)]
    eventTime: Annotated[Str, Field(max_length=40)]
    storeId: Identifier | None = None
    tillId: Identifier | None = None
    zoneId: Identifier | None = None
    conceptId: Identifier | None = None
    transaction: TransactionIn | None = None
    return_: ReturnIn | None = Field(default=None, alias="return")
    currency: CurrencyIn | None = None
    attributes: Fields = {}


_EVENT_REF = {"$ref": "#/components/schemas/EventIn"}


class BulkIn(BaseModel):
    """Body of ``POST /v3/events/bulk``: at most 1,000 events, each checked on its own."""

    events: Annotated[
        list[Any],
        Field(
            min_length=1,
            json_schema_extra={
                "maxItems": MAX_BULK,
                "items": {"$ref": "#/components/schemas/EventIn"},
            },
        ),
    ]


def submission(raw: object, zone: ZoneInfo) -> Submission:
    """Validate one raw event; a refusal keeps its errors, naming the fields."""
    if isinstance(raw, RefusedItem):
        payload = raw.value if isinstance(raw.value, dict) else {}
        return Submission(None, payload, raw.errors)
    payload = raw if isinstance(raw, dict) else {}
    if not isinstance(raw, dict):
        return Submission(
            None, payload, [{"code": 300004, "message": "an event must be a JSON object"}]
        )
    try:
        parsed = EventIn.model_validate(raw)
    except ValidationError as exc:
        return Submission(None, payload, validation_errors([dict(e) for e in exc.errors()]))
    part = _REQUIRED_PART.get(parsed.eventName)
    if part is not None and getattr(parsed, "return_" if part == "return" else part) is None:
        message = f"{parsed.eventName} events need '{part}'"
        return Submission(None, payload, [{"code": 300004, "message": message, "field": part}])
    try:
        at, _ = parse_local_or_instant(parsed.eventTime, zone)
    except TimeFormatError as exc:
        return Submission(
            None, payload, [{"code": 300004, "message": str(exc), "field": "eventTime"}]
        )
    return Submission(_event(parsed, at), payload)


def _line(line: LineItemIn) -> LineItem:
    return LineItem(
        item_code=line.itemCode,
        category=line.category,
        qty=line.qty if line.qty is not None else ZERO,
        rate=line.rate,
        amount=line.amount if line.amount is not None else ZERO,
        gross_amount=line.grossAmount,
        extended_fields=line.extendedFields,
    )


def _event(body: EventIn, at: Any) -> Event:
    bill = body.transaction
    back = body.return_
    money = body.currency
    return Event(
        event_id=body.eventId,
        event_name=body.eventName,
        user_id=body.userId,
        event_time=at,
        store_id=body.storeId,
        till_id=body.tillId,
        zone_id=body.zoneId,
        concept_id=body.conceptId,
        transaction=Transaction(
            bill_number=bill.billNumber,
            bill_amount=bill.billAmount,
            gross_amount=bill.grossAmount,
            discount=bill.discount,
            extended_fields=bill.extendedFields,
            line_items=tuple(_line(line) for line in bill.lineItems),
        )
        if bill is not None
        else None,
        bill_return=BillReturn(
            original_event_id=back.originalEventId,
            amount=back.amount,
            line_items=tuple(
                Returned(line.itemCode, line.qty, line.amount) for line in back.lineItems
            ),
        )
        if back is not None
        else None,
        currency=CurrencyEarning(
            identifier=money.identifier,
            program_id=money.programId,
            amount=money.amount,
            earn_type=money.earnType,
        )
        if money is not None
        else None,
        attributes=body.attributes,
    )
