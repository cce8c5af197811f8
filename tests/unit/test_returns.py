"""The return rules on their own (SPEC §10): no database, values worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from milestones.domain.returns import BillLine, Loss, Returned, ReturnRefused, ReturnState, lost

D = Decimal
BILL = (
    BillLine("SHOE", D(2), D(1000), D(1100)),
    BillLine("HAT", D(1), D(200), None),
    BillLine("SHOE", D(3), D(600), D(900)),
)
BILL_AMOUNT = D(1800)
SHOES_SALES = (D(1000), None, D(600))  # a shoes-only LINEITEM SALES target: brought 1600
SHOES_QTY = (D(2), None, D(3))


def after(*returned: Returned, state: ReturnState | None = None) -> ReturnState:
    start = state or ReturnState.fresh(len(BILL))
    new, _ = start.with_lines(BILL, returned)
    return new


def test_a_returned_line_is_matched_to_the_first_open_line_with_its_item_code() -> None:
    first = after(Returned("SHOE", None, None))
    assert first.lines[0].complete(BILL[0]) and not first.lines[2].qty
    second = after(Returned("SHOE", D(1), None), state=first)
    assert (second.lines[2].qty, second.lines[2].amount) == (D(1), D(200))


def test_a_shoes_only_target_loses_nothing_when_the_hat_comes_back() -> None:
    state = after(Returned("HAT", None, None))
    assert lost(Loss.MONEY, D(1600), SHOES_SALES, BILL, state, BILL_AMOUNT) == 0
    # The bill's own SALES loses the share the hat is of the lines' prices: 200 of 1800.
    assert lost(Loss.SHARE, D(1800), None, BILL, state, BILL_AMOUNT) == 200


def test_quantity_loses_the_returned_units_never_a_fraction() -> None:
    state = after(Returned("SHOE", None, D(500)))  # half of 2 shoes' money: one shoe
    assert lost(Loss.QUANTITY, D(5), SHOES_QTY, BILL, state, BILL_AMOUNT) == 1
    state = after(Returned("SHOE", None, D(250)), state=state)  # 750 of 1000: still one
    assert lost(Loss.QUANTITY, D(5), SHOES_QTY, BILL, state, BILL_AMOUNT) == 1


def test_gross_follows_the_share_of_the_lines_money() -> None:
    gross = (D(1100), D(200), D(900))
    state = after(Returned("SHOE", D(1), None))  # one of two SHOE-1: half its money
    assert lost(Loss.MONEY, D(2200), gross, BILL, state, BILL_AMOUNT) == D("550.000")


def test_a_bill_count_is_lost_only_when_the_whole_bill_is_back() -> None:
    state = after(Returned("SHOE", None, None), Returned("HAT", None, None))
    assert lost(Loss.COUNT, D(1), None, BILL, state, BILL_AMOUNT) == 0
    state = after(Returned("SHOE", None, None), state=state)
    assert state.whole(BILL, BILL_AMOUNT)
    assert lost(Loss.COUNT, D(1), None, BILL, state, BILL_AMOUNT) == 1


def test_partial_amount_returns_adding_up_to_the_bill_take_back_exactly_what_it_brought() -> None:
    state, taken = ReturnState.fresh(0), D(0)
    for amount in (D(333), D(333), D(333)):
        before = lost(Loss.SHARE, D("99.999"), None, (), state, D(999))
        state = state.with_amount(amount, D(999))
        taken += lost(Loss.SHARE, D("99.999"), None, (), state, D(999)) - before
    assert taken == D("99.999")


def test_a_visit_is_never_taken_back() -> None:
    state = ReturnState.fresh(0).with_amount(D(1800), BILL_AMOUNT)
    assert lost(Loss.KEPT, D(1), None, (), state, BILL_AMOUNT) == 0


@pytest.mark.parametrize(
    ("returned", "field"),
    [
        (Returned("SOCK", None, None), "return.lineItems[0].itemCode"),
        (Returned("HAT", D(2), None), "return.lineItems[0].qty"),
        (Returned("HAT", None, D(201)), "return.lineItems[0].amount"),
        (Returned("HAT", D(1), D(201)), "return.lineItems[0].amount"),
    ],
)
def test_a_line_return_past_what_the_line_has_left_is_refused(
    returned: Returned, field: str
) -> None:
    with pytest.raises(ReturnRefused) as refused:
        after(returned)
    assert refused.value.field == field


def test_a_discounted_bills_lines_share_its_money_by_their_prices() -> None:
    # billAmount 100 for two lines priced 100 each: one line back is half the bill.
    bill = (BillLine("A", D(1), D(100), None), BillLine("B", D(1), D(100), None))
    state, _ = ReturnState.fresh(2).with_lines(bill, [Returned("A", None, None)])
    assert not state.whole(bill, D(100))
    assert state.returned_money(bill, D(100)) == 50
    assert lost(Loss.SHARE, D(100), None, bill, state, D(100)) == 50
    assert lost(Loss.QUANTITY, D(2), (D(1), D(1)), bill, state, D(100)) == 1
    assert lost(Loss.COUNT, D(1), None, bill, state, D(100)) == 0


def test_a_free_bills_lines_can_still_be_returned() -> None:
    bill = (BillLine("A", D(2), D(100), None),)
    fresh = ReturnState.fresh(1)
    assert not fresh.whole(bill, D(0))
    state, _ = fresh.with_lines(bill, [Returned("A", D(1), None)])
    assert lost(Loss.QUANTITY, D(2), (D(2),), bill, state, D(0)) == 1


def test_a_bill_is_returned_by_amounts_or_by_lines_not_both() -> None:
    by_amount = ReturnState.fresh(len(BILL)).with_amount(D(100), BILL_AMOUNT)
    with pytest.raises(ReturnRefused):
        by_amount.with_lines(BILL, [Returned("HAT", None, None)])
    with pytest.raises(ReturnRefused):
        after(Returned("HAT", None, None)).with_amount(D(100), BILL_AMOUNT)
    rest = after(Returned("HAT", None, None)).rest(BILL, BILL_AMOUNT)
    assert rest.whole(BILL, BILL_AMOUNT)


def test_an_amount_return_past_what_remains_is_refused() -> None:
    state = ReturnState.fresh(0).with_amount(D(1000), BILL_AMOUNT)
    with pytest.raises(ReturnRefused):
        state.with_amount(D("800.001"), BILL_AMOUNT)
