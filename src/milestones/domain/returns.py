"""What a ReturnBill gives back, and what each target loses (SPEC §10).

A bill's returns are kept as one cumulative :class:`ReturnState`: the money given back
by ``amount`` returns, and per line of the bill the quantity and money returned. What
a target has lost after some returns is a function of that state alone
(:func:`lost`), so a return takes off ``lost(after) - lost(before)``: returns that add
up to the whole bill take back exactly what the bill brought, to the last digit.

>>> bill = (BillLine("SHOE", Decimal(2), Decimal(1000), None), BillLine("HAT", Decimal(1),
...     Decimal(200), None))
>>> state = ReturnState.fresh(len(bill))
>>> after, money = state.with_lines(bill, [Returned("HAT", None, None)])
>>> (money, after.whole(bill, Decimal(1200)))
(Decimal('200'), False)
>>> lost(Loss.MONEY, Decimal(1000), (Decimal(1000), None), bill, after, Decimal(1200))
Decimal('0')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import Enum

from milestones.domain.errors import InvalidInput

MILLI = Decimal("0.001")
ZERO = Decimal(0)
ONE = Decimal(1)


class ReturnRefused(InvalidInput):
    """A return that cannot apply: unknown bill, unknown line, more than remains."""


@dataclass(frozen=True, slots=True)
class BillLine:
    """What a return needs of one line of the original bill."""

    item_code: str | None
    qty: Decimal
    amount: Decimal
    gross_amount: Decimal | None


@dataclass(frozen=True, slots=True)
class Returned:
    """One line of a return: an item code, and optionally how many and how much."""

    item_code: str | None
    qty: Decimal | None
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class LineReturn:
    """How much of one bill line has been returned so far."""

    qty: Decimal = ZERO
    amount: Decimal = ZERO

    def complete(self, line: BillLine) -> bool:
        return self.qty >= line.qty and self.amount >= line.amount


class Loss(Enum):
    """How a target's KPI loses value when a bill's lines come back."""

    MONEY = "MONEY"  # each returned line's value in the share of its money returned
    QUANTITY = "QUANTITY"  # the returned quantities
    COUNT = "COUNT"  # a line (or the bill) once it is whole returned
    SHARE = "SHARE"  # in proportion to the money returned (fields, currency)
    KEPT = "KEPT"  # never (a visit stays a visit)


@dataclass(frozen=True, slots=True)
class ReturnState:
    """A bill's returns so far: money by ``amount`` returns, and each line's returned part.

    A bill is returned either by amounts or by lines, not both: what a line-item return
    takes from each target follows the lines, which an earlier amount return has not.
    """

    money: Decimal
    lines: tuple[LineReturn, ...]

    @classmethod
    def fresh(cls, line_count: int) -> ReturnState:
        return cls(ZERO, (LineReturn(),) * line_count)

    @property
    def by_lines(self) -> bool:
        return any(line.qty or line.amount for line in self.lines)

    def line_share(self, bill: Sequence[BillLine]) -> Decimal:
        """The part of the bill its returned lines are: by their money, else by quantity."""
        total = sum((line.amount for line in bill), ZERO)
        if total > 0:
            return sum((done.amount for done in self.lines), ZERO) / total
        units = sum((line.qty for line in bill), ZERO)
        if units > 0:
            return sum((done.qty for done in self.lines), ZERO) / units
        return ONE if self.whole(bill, ZERO) else ZERO

    def returned_money(self, bill: Sequence[BillLine], bill_amount: Decimal) -> Decimal:
        """The bill's money given back: the amounts, or the lines' share of ``bill_amount``
        (a bill-level discount shared out by the lines' prices)."""
        if not self.by_lines:
            return self.money
        return _milli(bill_amount * self.line_share(bill))

    def whole(self, bill: Sequence[BillLine], bill_amount: Decimal) -> bool:
        """Every line back (a bill with lines), or all of the bill's money back."""
        if bill and self.by_lines:
            return all(done.complete(line) for done, line in zip(self.lines, bill, strict=True))
        if bill and self.money == 0:
            return all(not line.qty and not line.amount for line in bill) and bill_amount <= 0
        return self.money >= bill_amount

    def with_amount(self, amount: Decimal, bill_amount: Decimal) -> ReturnState:
        """The state after an ``amount`` return; refused past what remains of the bill."""
        if self.by_lines:
            raise ReturnRefused(
                "this bill is being returned line by line: return its remaining lines",
                "return.amount",
            )
        remaining = bill_amount - self.money
        if amount <= 0:
            raise ReturnRefused("a return must give back a positive amount", "return.amount")
        if amount > remaining:
            raise ReturnRefused(
                f"returns {amount} but only {remaining} of the bill remains", "return.amount"
            )
        return replace(self, money=self.money + amount)

    def with_lines(
        self, bill: Sequence[BillLine], returned: Sequence[Returned]
    ) -> tuple[ReturnState, Decimal]:
        """The state after a line-item return, and the line money it gives back.

        Each returned line is matched to the first line of the bill with its item code that
        is not yet whole returned. Without ``qty`` and ``amount`` that line comes back whole;
        with ``qty`` only, its money follows in the line's price; with ``amount`` only, the
        quantity counted back is the whole units that money covers.
        """
        if self.money > 0:
            raise ReturnRefused(
                "this bill is being returned by amount: return the rest by amount",
                "return.lineItems",
            )
        lines = list(self.lines)
        money = ZERO
        for position, item in enumerate(returned):
            field = f"return.lineItems[{position}]"
            index = _first_open_line(bill, lines, item.item_code, field)
            line, done = bill[index], lines[index]
            after = _line_after(line, done, item, field)
            money += after.amount - done.amount
            lines[index] = after
        return ReturnState(self.money, tuple(lines)), money

    def rest(self, bill: Sequence[BillLine], bill_amount: Decimal) -> ReturnState:
        """Everything not yet returned: every line whole, or the bill's remaining money."""
        if self.by_lines:
            return ReturnState(ZERO, tuple(LineReturn(line.qty, line.amount) for line in bill))
        return self.with_amount(bill_amount - self.money, bill_amount)


def _first_open_line(
    bill: Sequence[BillLine], done: Sequence[LineReturn], item_code: str | None, field: str
) -> int:
    known = False
    for index, line in enumerate(bill):
        if line.item_code != item_code:
            continue
        known = True
        if not done[index].complete(line):
            return index
    if not known:
        raise ReturnRefused(
            f"the bill has no line with itemCode {item_code!r}", f"{field}.itemCode"
        )
    raise ReturnRefused(f"every line with itemCode {item_code!r} is already returned", field)


def _line_after(line: BillLine, done: LineReturn, item: Returned, field: str) -> LineReturn:
    qty_left, money_left = line.qty - done.qty, line.amount - done.amount
    if item.qty is None and item.amount is None:
        return LineReturn(line.qty, line.amount)
    if item.qty is not None:
        if item.qty <= 0 or item.qty > qty_left:
            raise ReturnRefused(
                f"returns {item.qty} of a line with {qty_left} left to return", f"{field}.qty"
            )
        qty = done.qty + item.qty
        if item.amount is not None:
            amount = done.amount + item.amount
        elif qty == line.qty:
            amount = line.amount
        else:
            amount = _milli(line.amount * qty / line.qty)
        if amount - done.amount > money_left or amount < done.amount:
            raise ReturnRefused(
                f"returns {amount - done.amount} of a line with {money_left} left to return",
                f"{field}.amount",
            )
        return LineReturn(qty, amount)
    assert item.amount is not None
    if item.amount <= 0 or item.amount > money_left:
        raise ReturnRefused(
            f"returns {item.amount} of a line with {money_left} left to return",
            f"{field}.amount",
        )
    amount = done.amount + item.amount
    if amount == line.amount:
        return LineReturn(line.qty, amount)
    units = (line.qty * amount / line.amount).to_integral_value(ROUND_FLOOR)
    return LineReturn(max(units, done.qty), amount)


def lost(
    loss: Loss,
    brought: Decimal,
    by_line: Sequence[Decimal | None] | None,
    bill: Sequence[BillLine],
    state: ReturnState,
    bill_amount: Decimal,
) -> Decimal:
    """What a target that got ``brought`` from the bill has lost once ``state`` is returned.

    ``by_line`` is what each line of the bill gave the target (None for a line it did not
    count), or None when the target did not count the bill line by line.
    """
    if loss is Loss.KEPT or brought <= 0:
        return ZERO
    if state.whole(bill, bill_amount):
        return brought
    if loss is Loss.COUNT and by_line is None:
        return ZERO
    by_amount = _share(brought, state.money, bill_amount)
    if by_line is None or loss is Loss.SHARE:
        by_lines = _milli(brought * state.line_share(bill)) if state.by_lines else ZERO
    else:
        by_lines = sum(
            (
                _line_loss(loss, value, line, done)
                for value, line, done in zip(by_line, bill, state.lines, strict=True)
                if value is not None and (done.qty or done.amount)
            ),
            ZERO,
        )
    return min(brought, by_amount + by_lines)


def _line_loss(loss: Loss, value: Decimal, line: BillLine, done: LineReturn) -> Decimal:
    if done.complete(line):
        return value
    if loss is Loss.COUNT:
        return ZERO
    if loss is Loss.QUANTITY:
        return done.qty if line.qty == value else _milli(value * _fraction(done.qty, line.qty))
    if line.amount > 0:
        return _milli(value * done.amount / line.amount)
    return _milli(value * _fraction(done.qty, line.qty))


def _fraction(part: Decimal, whole: Decimal) -> Decimal:
    return part / whole if whole > 0 else ZERO


def _share(brought: Decimal, money: Decimal, bill_amount: Decimal) -> Decimal:
    if money <= 0:
        return ZERO
    if bill_amount <= 0:
        return brought
    return _milli(brought * money / bill_amount)


def _milli(value: Decimal) -> Decimal:
    return value.quantize(MILLI, rounding=ROUND_HALF_EVEN)


__all__ = [
    "BillLine",
    "LineReturn",
    "Loss",
    "ReturnRefused",
    "ReturnState",
    "Returned",
    "lost",
]
