"""ReturnBill: take the returned share off the user targets the original bill counted in (§10).

The share is cumulative, so partial returns that add up to the whole bill take back
exactly what the bill brought, to the last digit. COUNT targets lose the bill only on
a full return; VISIT targets keep the visit. When the original period has closed
(retro buffer included) the amount is carried into the customer's current period of
that target, or stays on the original one when the target has no running period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from milestones.domain.errors import InvalidInput
from milestones.domain.events import BillReturn
from milestones.domain.orgs import Org
from milestones.domain.periods import EvaluationType
from milestones.domain.progress import UserTarget, apply_amount
from milestones.engine.catalogue import Catalogue, TrackedTarget
from milestones.engine.contribute import Effect, GroupWatch, Placement
from milestones.engine.working_set import LedgerEntry, WorkingSet

MILLI = Decimal("0.001")
RETURN = "RETURN"
CARRY = "CARRY"
WHOLE_BILL_KPIS = frozenset({"COUNT"})
KEPT_KPIS = frozenset({"VISIT"})


@dataclass(frozen=True, slots=True)
class OriginalBill:
    """What a return needs of the bill it returns."""

    pk: int | None
    event_id: str
    user_id: int
    bill_amount: Decimal
    returned_amount: Decimal
    contributions: list[tuple[int, Decimal]]  # (user target id, amount) the bill brought


class ReturnRefused(InvalidInput):
    """A return that cannot apply: unknown bill, already returned, more than remains."""


def returned_amount(bill_return: BillReturn, original: OriginalBill) -> Decimal:
    """How much this return gives back: its amount, its lines, or what remains of the bill."""
    remaining = original.bill_amount - original.returned_amount
    if remaining <= 0:
        raise ReturnRefused(
            f"bill {original.event_id} is already fully returned", "return.originalEventId"
        )
    if bill_return.amount is not None:
        amount = bill_return.amount
    elif bill_return.line_items:
        amount = sum((line.amount for line in bill_return.line_items), Decimal(0))
    else:
        amount = remaining
    if amount <= 0:
        raise ReturnRefused("a return must give back a positive amount", "return.amount")
    if amount > remaining:
        raise ReturnRefused(
            f"returns {amount} but only {remaining} of bill {original.event_id} remains",
            "return.amount",
        )
    return amount


def take_back(
    original: OriginalBill,
    amount: Decimal,
    index: int,
    at: datetime,
    ws: WorkingSet,
    catalogue: Catalogue,
    org: Org,
    now: datetime,
) -> list[Effect]:
    """Apply a return of ``amount`` of ``original``; effects say what moved and what was revoked."""
    bill = original.bill_amount
    share_before = original.returned_amount / bill if bill else Decimal(1)
    share_after = (original.returned_amount + amount) / bill if bill else Decimal(1)
    full = original.returned_amount + amount >= bill
    effects: list[Effect] = []
    watch = GroupWatch(ws, original.user_id, now)
    for user_target_id, brought in original.contributions:
        user_target = ws.by_id.get(user_target_id)
        tracked = catalogue.by_id.get(user_target.target_id) if user_target else None
        if user_target is None or tracked is None or brought <= 0:
            continue
        kpi = tracked.target.target_type
        if kpi in KEPT_KPIS:
            continue
        if kpi in WHOLE_BILL_KPIS:
            take = brought if full else Decimal(0)
        else:
            take = _part(brought, share_after) - _part(brought, share_before)
        if take == 0:
            continue
        destination, kind = _destination(tracked, user_target, ws, org, now)
        period = tracked.period(destination.period_id)
        watch.before(tracked.group, period.id)
        move = apply_amount(
            destination, -take, at, tracked.target.triggers, revoke=org.revoke_on_return
        )
        ws.record(LedgerEntry(index, destination, -take, kind))
        for trigger in move.milestones_revoked:
            ws.milestones_removed.append((destination, trigger.id))
        effects.append(Effect(tracked, destination, period, move, kind))
    return watch.annotate(effects, at)


def _part(amount: Decimal, share: Decimal) -> Decimal:
    return (amount * share).quantize(MILLI, rounding=ROUND_HALF_EVEN)


def _destination(
    tracked: TrackedTarget, user_target: UserTarget, ws: WorkingSet, org: Org, now: datetime
) -> tuple[UserTarget, str]:
    still_open = now < user_target.ends_at + timedelta(days=org.retro_buffer_days)
    if still_open or tracked.group.evaluation_type is not EvaluationType.FIXED_CALENDAR_WINDOW:
        return user_target, RETURN
    current = tracked.period_at(now)
    if current is None:
        return user_target, RETURN
    found = ws.find(tracked.id, current.id, user_target.user_id)
    if found is None:
        found = ws.add(
            UserTarget(
                id=0,
                target_id=tracked.id,
                period_id=current.id,
                user_id=user_target.user_id,
                slot=current.position,
                starts_at=current.window.starts_at,
                ends_at=current.window.ends_at,
                target_value=tracked.values.get(current.id, user_target.target_value),
                achieved_value=Decimal(0),
                enrolled_at=now,
            )
        )
    return found, CARRY


__all__ = ["OriginalBill", "Placement", "ReturnRefused", "returned_amount", "take_back"]
