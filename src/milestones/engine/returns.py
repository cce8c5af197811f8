"""ReturnBill: take what the returned part gave off the user targets the bill counted in (§10).

What each target loses is :func:`milestones.domain.returns.lost` of the bill's cumulative
return state, so partial returns that add up to the whole bill take back exactly what the
bill brought, to the last digit. Where it is taken from:

- an agnostic target: off the customer's net total, and the slots re-flow;
- a CAPPING target: off the excess that never counted first, then off the counted value;
- otherwise the very user target the bill counted in, or, once that period or cycle has
  closed (retro buffer included), the customer's current period or cycle of that target
  (``CARRY``); it stays on the original one when the target has nothing running now.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from milestones.domain.event_context import EventContexts
from milestones.domain.events import BillReturn, Event
from milestones.domain.kpis import by_line, loss_of
from milestones.domain.outcomes import ContributionKind
from milestones.domain.periods import EvaluationType
from milestones.domain.progress import UserTarget
from milestones.domain.returns import BillLine, ReturnRefused, ReturnState, lost
from milestones.domain.target_groups import TargetEntity, TrackingType
from milestones.engine.catalogue import Catalogue, TrackedTarget
from milestones.engine.contribute import Contributor, Effect
from milestones.engine.working_set import LedgerEntry, WorkingSet

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class OriginalBill:
    """What a return needs of the bill it returns."""

    pk: int | None
    event: Event  # the bill as it was received
    state: ReturnState  # what has been returned of it so far
    contributions: list[tuple[int, Decimal]]  # (user target id, amount) the bill brought

    @property
    def event_id(self) -> str:
        return self.event.event_id

    @property
    def user_id(self) -> int:
        return self.event.user_id

    @property
    def bill_amount(self) -> Decimal:
        assert self.event.transaction is not None
        return self.event.transaction.bill_amount

    @property
    def lines(self) -> tuple[BillLine, ...]:
        assert self.event.transaction is not None
        return tuple(
            BillLine(line.item_code, line.qty, line.amount, line.gross_amount)
            for line in self.event.transaction.line_items
        )


def state_after(bill_return: BillReturn, original: OriginalBill) -> ReturnState:
    """The bill's return state once ``bill_return`` is applied; refused if it cannot apply."""
    state, bill_amount, lines = original.state, original.bill_amount, original.lines
    if state.whole(lines, bill_amount):
        raise ReturnRefused(
            f"bill {original.event_id} is already fully returned", "return.originalEventId"
        )
    if bill_return.amount is not None and bill_return.line_items:
        raise ReturnRefused("a return gives back either an amount or lineItems, not both", "return")
    if bill_return.amount is not None:
        return state.with_amount(bill_return.amount, bill_amount)
    if bill_return.line_items:
        after, _ = state.with_lines(lines, bill_return.line_items)
        return after
    return state.rest(lines, bill_amount)


def user_targets_to_load(original: OriginalBill, ws: WorkingSet) -> set[int]:
    """The bill's user targets the batch has not loaded yet."""
    return {ut_id for ut_id, _ in original.contributions if ut_id not in ws.by_id}


def capping_user_targets(original: OriginalBill, ws: WorkingSet, catalogue: Catalogue) -> set[int]:
    """The bill's CAPPING user targets whose stored excess the batch has not loaded yet."""
    found: set[int] = set()
    for ut_id, _ in original.contributions:
        user_target = ws.by_id.get(ut_id)
        tracked = catalogue.by_id.get(user_target.target_id) if user_target else None
        if (
            tracked is not None
            and tracked.group.tracking_type is TrackingType.CAPPING
            and ut_id > 0
            and ut_id not in ws.excess_stored
        ):
            found.add(ut_id)
    return found


class _Bill:
    """The returned bill's lines, and what each gives a target, worked out once per return:
    targets that read a bill alike (their reading key) share one reading of its lines."""

    def __init__(self, original: OriginalBill, contexts: EventContexts) -> None:
        self.original = original
        self.contexts = contexts
        self.lines = original.lines
        self._by_line: dict[Hashable, tuple[Decimal | None, ...] | None] = {}

    def by_line(self, tracked: TrackedTarget) -> tuple[Decimal | None, ...] | None:
        key = tracked.reading_key
        if key not in self._by_line:
            self._by_line[key] = by_line(
                tracked.target, tracked.expression, self.original.event, self.contexts
            )
        return self._by_line[key]


class Returns:
    """Applies ReturnBill events of one batch, through the batch's contributor."""

    def __init__(self, contributor: Contributor, catalogue: Catalogue, revoke: bool) -> None:
        self.contributor = contributor
        self.ws = contributor.ws
        self.catalogue = catalogue
        self.revoke = revoke
        self.retro = timedelta(days=contributor.org.retro_buffer_days)

    def take_back(
        self, original: OriginalBill, after: ReturnState, index: int, at: datetime
    ) -> list[Effect]:
        """Apply a return that takes ``original`` from its state to ``after``."""
        user_id = original.user_id
        self.contributor.begin(user_id)
        bill = _Bill(original, EventContexts(original.event, self.ws.custom_fields.get(user_id)))
        effects: list[Effect] = []
        for tracked, brought, user_targets in self._brought_by_target(original):
            take = self._take(tracked, brought, original, bill, after)
            if take <= 0:
                continue
            if tracked.group.evaluation_type is EvaluationType.PERIOD_AGNOSTIC_WINDOW:
                effects.extend(
                    self.contributor.reflow(
                        tracked,
                        user_id,
                        -take,
                        at,
                        index,
                        ContributionKind.RETURN,
                        revoke=self.revoke,
                    )
                )
            else:
                effects.extend(self._take_from(tracked, user_targets[0], take, at, index))
        return self.contributor.watch.annotate(effects, at)

    def _brought_by_target(
        self, original: OriginalBill
    ) -> list[tuple[TrackedTarget, Decimal, list[UserTarget]]]:
        """Per target the bill counted in: what it brought, and the user targets it reached."""
        found: dict[int, tuple[TrackedTarget, Decimal, list[UserTarget]]] = {}
        for user_target_id, amount in original.contributions:
            user_target = self.ws.by_id.get(user_target_id)
            tracked = self.catalogue.by_id.get(user_target.target_id) if user_target else None
            if user_target is None or tracked is None:
                continue
            _, brought, reached = found.get(tracked.id, (tracked, ZERO, []))
            if not any(held is user_target for held in reached):
                reached.append(user_target)
            found[tracked.id] = (tracked, brought + amount, reached)
        return list(found.values())

    def _take(
        self,
        tracked: TrackedTarget,
        brought: Decimal,
        original: OriginalBill,
        bill: _Bill,
        after: ReturnState,
    ) -> Decimal:
        target = tracked.target
        values = bill.by_line(tracked)
        if values is not None and target.entity is TargetEntity.LINEITEM:
            counted = sum((value for value in values if value is not None), ZERO)
            if counted != brought:
                # The lines it counts now are not those it counted then (the customer's
                # fields changed, or a day rule cut the reading): fall back to the share.
                values = None
        loss, lines, bill_amount = loss_of(target), bill.lines, original.bill_amount
        return lost(loss, brought, values, lines, after, bill_amount) - lost(
            loss, brought, values, lines, original.state, bill_amount
        )

    def _take_from(
        self,
        tracked: TrackedTarget,
        user_target: UserTarget,
        take: Decimal,
        at: datetime,
        index: int,
    ) -> list[Effect]:
        from_excess = ZERO
        if tracked.group.tracking_type is TrackingType.CAPPING:
            from_excess = min(take, max(self.ws.excess(user_target), ZERO))
        destination, kind = self._destination(tracked, user_target)
        period = tracked.period(destination.period_id)
        effect = self.contributor.move(
            tracked, destination, period, at, index, from_excess - take, kind, self.revoke
        )
        if tracked.group.tracking_type is TrackingType.CAPPING:
            if from_excess:
                if from_excess == take:  # nothing counted came back: keep a zero row beside
                    self.ws.record(LedgerEntry(index, destination, ZERO, kind))
                self.ws.record(
                    LedgerEntry(index, user_target, -from_excess, ContributionKind.EXCESS)
                )
            effect.capped = from_excess - take
            effect.excess = -from_excess
        return [effect]

    def _destination(
        self, tracked: TrackedTarget, user_target: UserTarget
    ) -> tuple[UserTarget, ContributionKind]:
        now = self.contributor.now
        if now < user_target.ends_at + self.retro:
            return user_target, ContributionKind.RETURN
        current = self.contributor.place_at(tracked, user_target.user_id, now)
        if current is None or current.period.id == user_target.period_id:
            return user_target, ContributionKind.RETURN
        carried = self.contributor.user_target(
            tracked, current.period, current.window, user_target.user_id
        )
        return carried, ContributionKind.CARRY


__all__ = ["OriginalBill", "ReturnRefused", "Returns", "state_after"]
