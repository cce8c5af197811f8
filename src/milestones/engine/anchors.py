"""CYCLIC anchors by event time: an earlier event re-anchors a customer's cycles (SPEC §5).

Cycle 1 starts at the customer's earliest accepted qualifying event, whatever order the
events arrive in. When an event stamped before the customer's anchor would be accepted
(inside the group's dates, its new cycle 1 still open within the retro buffer), the
anchor moves to it and every contribution the customer made to the group (the ledger's
EVENT, RETURN and CARRY rows, stored or made earlier in the batch) is re-placed into the
new cycles: the user targets are reset and the rows replayed in eventTime order through
the same day rules, capping and ``apply_amount`` the engine uses, so values, achievements,
triggers and unified group achievements come out as if the events had arrived in order:
the event itself, the earliest, applies first to the emptied cycles, as usual, and the
others are replayed after it.

Each user target the re-placement changed is answered as a side effect with
contributionType ``REPLACE`` (before, after, what was achieved or revoked). Nothing here
runs unless an event is earlier than its customer's anchor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from milestones.domain.events import Event
from milestones.domain.group_progress import period_state, tracks_group_progress
from milestones.domain.kpis import DayRule
from milestones.domain.orgs import Org
from milestones.domain.outcomes import ContributionKind
from milestones.domain.periods import PeriodWindow
from milestones.domain.placement import in_cycles
from milestones.domain.progress import Move, UserTarget, apply_amount
from milestones.domain.target_groups import (
    ATTRIBUTE_KPIS,
    EnrolmentMethod,
    Period,
    TargetGroup,
    TrackingType,
)
from milestones.engine.catalogue import Catalogue, TrackedTarget
from milestones.engine.contribute import Contributor, Effect, OutOfWindow
from milestones.engine.returns import OriginalBill
from milestones.engine.working_set import LedgerEntry, LedgerMove, WorkingSet

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class StoredContribution:
    """A stored ledger row of one customer's contribution to a group, with its event's times."""

    id: int
    event_id: str
    event_time: datetime
    received_at: datetime
    user_target_id: int
    target_id: int
    amount: Decimal
    kind: ContributionKind
    event_pk: int
    returns: str | None  # for a ReturnBill, the eventId of the bill it returns


@dataclass(frozen=True, slots=True)
class GroupHistory:
    """A customer's stored user targets of one group (with milestones) and their ledger rows."""

    user_targets: list[UserTarget]
    contributions: list[StoredContribution]  # in ledger (arrival) order


class HistoryStore(Protocol):
    def group_history(self, org_id: int, user_id: int, group_id: int) -> GroupHistory:
        """What :class:`AnchorMover` re-places when a customer's cycles of a group move."""
        ...


class Arrived(Protocol):
    """An event already applied in the batch (``ingest.AcceptedEvent``)."""

    @property
    def index(self) -> int: ...
    @property
    def event(self) -> Event: ...


@dataclass(slots=True)
class _Row:
    """One contribution to replay, and where it ends up."""

    at: datetime  # its event's time: the order of the replay and the time of what it reaches
    order: int  # arrival order, for contributions at the same instant
    event_id: str
    tracked: TrackedTarget
    origin: int  # the user target it first counted in
    source: UserTarget | None  # the user target holding it now (None: it counts nowhere)
    held: Decimal  # what it holds there
    amount: Decimal  # what it first brought: what is replayed
    kind: ContributionKind
    returns: str | None = None
    carried_at: datetime | None = None
    stored_id: int | None = None
    entry: LedgerEntry | None = None
    raw: Decimal = ZERO  # MAX targets: the day's running maximum the event brought
    place: tuple[Period, PeriodWindow] | None = None
    to: UserTarget | None = None
    counted: Decimal = ZERO
    event_pk: int | None = None  # a stored contribution's event
    event_index: int | None = None  # a contribution of this batch: its event's index
    excess: _Row | None = None  # CAPPING: the EXCESS row beside it, folded into ``amount``
    folded: bool = False  # an EXCESS row replayed with the contribution it came with


@dataclass(frozen=True, slots=True)
class _Before:
    """A user target as it was before the re-placement."""

    starts_at: datetime
    ends_at: datetime
    value: Decimal
    achieved_at: datetime | None
    milestones: dict[int, datetime] = field(default_factory=dict)


@dataclass(slots=True)
class _Pending:
    """A re-anchoring begun: the cycles emptied, the contributions still to replay."""

    group: TargetGroup
    user_id: int
    anchor: datetime
    tracked_of: dict[int, TrackedTarget]
    old: list[UserTarget]
    rows: list[_Row]
    before: dict[int, _Before]
    cycle_count: int


class AnchorMover:
    """Moves a batch's CYCLIC anchors to earlier events and re-places what they held."""

    def __init__(
        self, store: HistoryStore, catalogue: Catalogue, org: Org, accepted: Sequence[Arrived]
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.org = org
        self.accepted = accepted
        # This batch's ledger entries re-placed so far (the entry, its first user target id
        # and amount), in arrival order, kept even when a re-placement drops them.
        self._seen: dict[int, tuple[LedgerEntry, int, Decimal]] = {}
        self._batch_entries: dict[int, list[LedgerEntry]] = {}  # by customer
        self._scanned = 0  # how far into the working set's ledger they were read
        self._arrived: dict[int, Event] = {}  # the batch's applied events by index
        # eventId -> group id -> (user targets it counted in before, what it brings now)
        self._brought: dict[str, dict[int, tuple[set[int], list[tuple[int, Decimal]]]]] = {}
        self._pending: list[_Pending] = []  # re-anchored by the event being applied
        self._moved: set[tuple[int, int]] = set()  # (group, customer) re-anchored so far

    def would_move_again(self, event: Event, catalogue: Catalogue, ws: WorkingSet) -> bool:
        """Whether ``event`` would re-anchor cycles this batch has already re-anchored."""
        if not self._moved:
            return False
        for tracked in catalogue.listening(event.event_name):
            key = (tracked.group.id, event.user_id)
            if key in self._moved and event.event_time < ws.anchors[key]:
                return True
        return False

    def earlier(
        self, contributor: Contributor, tracked: TrackedTarget, event: Event, anchor: datetime
    ) -> datetime:
        """The anchor for ``event``, stamped before ``anchor``: the event's time if it is
        accepted (then the customer's contributions are re-placed), else ``anchor``."""
        group = tracked.group
        at = event.event_time
        if self._imported(contributor.ws, tracked, event.user_id):
            return anchor
        start, end = group.cycle_start, group.closes_at
        if (start is not None and at < start) or (end is not None and at >= end):
            return anchor
        first = next(group.cycles_from(at), None)
        if first is None:
            return anchor
        if contributor.now >= first.ends_at + contributor.retro:
            raise OutOfWindow
        contributor.ws.move_anchor(group.id, event.user_id, at)
        self._moved.add((group.id, event.user_id))
        self._begin(contributor, group, event.user_id, at)
        contributor.re_anchored = True
        return at

    def rebrought(self, original: OriginalBill) -> OriginalBill:
        """A bill as a return must see it after its contributions were re-placed."""
        moved = self._brought.get(original.event_id)
        if moved is None:
            return original
        old = set().union(*(ids for ids, _ in moved.values()))
        kept = [(ut_id, amount) for ut_id, amount in original.contributions if ut_id not in old]
        for _, now in moved.values():
            kept.extend(now)
        return replace(original, contributions=kept)

    def _imported(self, ws: WorkingSet, tracked: TrackedTarget, user_id: int) -> bool:
        """Imported customers stay anchored at their enrolment."""
        if tracked.target.enrolment_method is EnrolmentMethod.IMPORT:
            return True
        return any(
            target.enrolment_method is EnrolmentMethod.IMPORT
            and ws.enrolments_of(target.id, user_id)
            for target in tracked.group.targets
        )

    def finish(self, contributor: Contributor) -> list[Effect]:
        """After the re-anchoring event applied (the earliest, so into emptied cycles, as if
        first): replay the customer's other contributions and answer what changed."""
        effects: list[Effect] = []
        for pending in self._pending:
            effects.extend(self._finish(contributor, pending))
        self._pending = []
        return effects

    def _begin(
        self, contributor: Contributor, group: TargetGroup, user_id: int, anchor: datetime
    ) -> None:
        ws = contributor.ws
        tracked_of = {
            target.id: self.catalogue.by_id[target.id]
            for target in group.targets
            if target.id in self.catalogue.by_id
        }
        history = self.store.group_history(self.org.id, user_id, group.id)
        ws.adopt(ut for ut in history.user_targets if ut.id not in ws.removed)
        old = _user_targets(ws, group, user_id)
        rows = self._rows(contributor, group, history, tracked_of, user_id)
        before = {
            id(ut): _Before(
                ut.starts_at, ut.ends_at, ut.achieved_value, ut.achieved_at, dict(ut.milestones)
            )
            for ut in old
        }
        cycles = list(group.cycles_from(anchor))
        _reset(ws, group, user_id, old, rows, cycles)
        _place_rows(rows, cycles)
        self._pending.append(
            _Pending(group, user_id, anchor, tracked_of, old, rows, before, len(cycles))
        )

    def _finish(self, contributor: Contributor, pending: _Pending) -> list[Effect]:
        self._replay(contributor, pending.group, pending.user_id, pending.rows)
        kept = self._settle(contributor.ws, pending)
        # A user target only the event itself made is answered by the event's own effect.
        replayed = {id(row.to) for row in pending.rows if row.to is not None}
        shown = [ut for ut in kept if id(ut) in pending.before or id(ut) in replayed]
        return _effects(pending.tracked_of, pending.old, shown, pending.before, pending.anchor)

    def _rows(
        self,
        contributor: Contributor,
        group: TargetGroup,
        history: GroupHistory,
        tracked_of: dict[int, TrackedTarget],
        user_id: int,
    ) -> list[_Row]:
        """The customer's contributions to the group in arrival order: stored, then this batch's.

        Each keeps the amount it first brought (what is replayed) apart from what it holds
        now (an earlier re-placement in the batch may have moved or dropped it).
        """
        ws = contributor.ws
        rows: list[_Row] = []
        for stored in history.contributions:
            if stored.target_id not in tracked_of:  # a target the catalogue has not seen yet
                continue
            move = ws.ledger_moves.get(stored.id)
            holder = ws.by_id.get(stored.user_target_id) if move is None else move.to
            rows.append(
                _Row(
                    at=stored.event_time,
                    order=len(rows),
                    event_id=stored.event_id,
                    tracked=tracked_of[stored.target_id],
                    origin=stored.user_target_id,
                    source=holder,
                    # EXCESS rows (what a cap left out) never were in the value.
                    held=ZERO
                    if stored.kind == ContributionKind.EXCESS
                    else (stored.amount if move is None else move.amount),
                    amount=stored.amount,
                    kind=stored.kind,
                    returns=stored.returns,
                    carried_at=stored.received_at
                    if stored.kind == ContributionKind.CARRY
                    else None,
                    stored_id=stored.id,
                    event_pk=stored.event_pk,
                )
            )
        # This batch's entries, read once each: they are only ever appended to.
        for entry in ws.ledger[self._scanned :]:
            if id(entry) not in self._seen:
                self._seen[id(entry)] = (entry, entry.user_target.id, entry.amount)
                self._batch_entries.setdefault(entry.user_target.user_id, []).append(entry)
        self._scanned = len(ws.ledger)
        for item in self.accepted[len(self._arrived) :]:
            self._arrived[item.index] = item.event
        mine = [
            entry
            for entry in self._batch_entries.get(user_id, [])
            if entry.user_target.target_id in tracked_of
        ]
        live = {id(entry) for entry in ws.ledger} if mine else set()
        for entry in mine:
            _, origin, amount = self._seen[id(entry)]
            event = self._arrived[entry.event_index]
            kept = id(entry) in live
            rows.append(
                _Row(
                    at=event.event_time,
                    order=len(rows),
                    event_id=event.event_id,
                    tracked=tracked_of[entry.user_target.target_id],
                    origin=origin,
                    source=entry.user_target if kept else None,
                    held=entry.amount if kept and entry.kind != ContributionKind.EXCESS else ZERO,
                    amount=amount,
                    kind=entry.kind,
                    returns=event.bill_return.original_event_id if event.bill_return else None,
                    carried_at=contributor.now if entry.kind == ContributionKind.CARRY else None,
                    entry=entry,
                    event_index=entry.event_index,
                )
            )
        if group.tracking_type is TrackingType.CAPPING:
            _fold_excess(rows)
        # MAX targets keep each day's increase; the event brought the running maximum.
        running: dict[tuple[int, str], Decimal] = {}
        for row in rows:
            if row.kind == ContributionKind.EVENT and _day_rule(row.tracked) is DayRule.MAX:
                key = (row.origin, _day_key(group, row.at))
                row.raw = running[key] = running.get(key, ZERO) + row.amount
        return rows

    def _replay(
        self, contributor: Contributor, group: TargetGroup, user_id: int, rows: list[_Row]
    ) -> None:
        """Each contribution in eventTime order, into its new cycle, as the engine applies it."""
        ws = contributor.ws
        whole = tracks_group_progress(group)
        excess: dict[int, Decimal] = {}  # CAPPING: what each new user target holds past its cap
        for row in sorted(rows, key=lambda row: (row.at, row.order)):
            if row.place is None:
                continue
            period, window = row.place
            tracked = row.tracked
            user_target = ws.find(tracked.id, period.id, user_id)
            if user_target is None:
                user_target = contributor.user_target(tracked, period, window, user_id)
            if row.kind == ContributionKind.EXCESS:
                if not row.folded:  # stored before a contribution kept a row beside its excess
                    row.to, row.counted = user_target, row.amount
                    excess[id(user_target)] = excess.get(id(user_target), ZERO) + row.amount
                continue  # else replayed with the contribution it came with (_fold_excess)
            amount = _after_rules(ws, group, row, user_target)
            if group.tracking_type is TrackingType.CAPPING:
                amount = self._capped(ws, row, user_target, amount, excess)
            if amount == 0:
                continue
            was = period_state(group, ws, user_id, period.id).achieved if whole else False
            apply_amount(
                user_target,
                amount,
                row.at,
                tracked.target.triggers,
                revoke=self.org.revoke_on_return,
            )
            row.to, row.counted = user_target, amount
            if whole:
                now = period_state(group, ws, user_id, period.id).achieved
                if now != was:
                    key = (group.id, period.id, user_id)
                    ws.record_group_achievement(key, row.at if now else None)

    def _capped(
        self,
        ws: WorkingSet,
        row: _Row,
        user_target: UserTarget,
        amount: Decimal,
        excess: dict[int, Decimal],
    ) -> Decimal:
        """CAPPING (§9, §10): a contribution counts up to the cap and the rest is excess; a
        return takes back excess first. The excess part lands on ``row.excess`` (or a new
        EXCESS ledger row); what counted is returned."""
        held = excess.get(id(user_target), ZERO)
        if amount >= 0:
            counted = (
                min(amount, user_target.remaining) if row.kind == ContributionKind.EVENT else amount
            )
            part = amount - counted
        else:
            part = -min(-amount, held)
            counted = amount - part
        excess[id(user_target)] = held + part
        if row.excess is not None:
            row.excess.to, row.excess.counted = user_target, part
        elif part:
            ws.record(
                LedgerEntry(
                    row.event_index if row.event_index is not None else -1,
                    user_target,
                    part,
                    ContributionKind.EXCESS,
                    event_pk=row.event_pk if row.event_index is None else None,
                )
            )
        return counted

    def _settle(self, ws: WorkingSet, pending: _Pending) -> list[UserTarget]:
        """Drop emptied user targets, note what save() rewrites, re-point the ledger."""
        group, user_id, old, rows = pending.group, pending.user_id, pending.old, pending.rows
        cycle_count = pending.cycle_count
        reached = {id(row.to) for row in rows if row.to is not None}
        for ut in old:
            if ut.slot > cycle_count or (id(ut) not in reached and ut.achieved_value == 0):
                ws.remove(ut)
        kept = _user_targets(ws, group, user_id)
        ids = {ut.id for ut in kept}
        ws.milestones_added = [m for m in ws.milestones_added if m[0].id not in ids]
        for ut in kept:
            ws.touch(ut)
            if ut.id > 0:
                ws.relaid[ut.id] = ut
            ws.milestones_added.extend(
                (ut, trigger_id, at) for trigger_id, at in ut.milestones.items()
            )
        dropped: set[int] = set()
        live = {id(entry) for entry in ws.ledger}
        for row in rows:
            entry = row.entry
            if entry is not None:
                if row.to is None:
                    dropped.add(id(entry))
                    continue
                entry.user_target, entry.amount = row.to, row.counted
                if id(entry) not in live:  # dropped by an earlier re-placement, back now
                    ws.ledger.append(entry)
                    ws.ledger_of_event.setdefault(entry.event_index, []).append(entry)
            elif row.stored_id is not None:
                ws.ledger_moves[row.stored_id] = LedgerMove(row.stored_id, row.to, row.counted)
        if dropped:
            ws.ledger = [entry for entry in ws.ledger if id(entry) not in dropped]
            for index, entries in ws.ledger_of_event.items():
                ws.ledger_of_event[index] = [e for e in entries if id(e) not in dropped]
        self._scanned = len(ws.ledger)  # every entry in it has been read
        self._remember(group, old, rows)
        return kept

    def _remember(self, group: TargetGroup, old: list[UserTarget], rows: list[_Row]) -> None:
        """What each re-placed bill now brings, for a return later in the batch."""
        old_ids = {ut.id for ut in old}
        landed: dict[str, list[tuple[int, Decimal]]] = {}
        for row in rows:
            if (
                row.kind in (ContributionKind.EVENT, ContributionKind.EXCESS)
                and row.returns is None
            ):
                pairs = landed.setdefault(row.event_id, [])
                if row.to is not None:
                    pairs.append((row.to.id, row.counted))
        for event_id, pairs in landed.items():
            moved = self._brought.setdefault(event_id, {})
            ids = moved[group.id][0] if group.id in moved else set()
            moved[group.id] = (ids | old_ids, pairs)


def _fold_excess(rows: list[_Row]) -> None:
    """CAPPING: each EXCESS row joins the contribution it came with (same event and target),
    so the replay caps what the event really brought (or a return really took back)."""
    beside: dict[tuple[str, int], _Row] = {}
    for row in rows:
        if row.kind != ContributionKind.EXCESS:
            beside.setdefault((row.event_id, row.tracked.id), row)
    for row in rows:
        companion = (
            beside.get((row.event_id, row.tracked.id))
            if row.kind == ContributionKind.EXCESS
            else None
        )
        if companion is not None and companion.excess is None:
            companion.amount += row.amount
            companion.excess = row
            row.folded = True


def _reset(
    ws: WorkingSet,
    group: TargetGroup,
    user_id: int,
    old: list[UserTarget],
    rows: list[_Row],
    cycles: list[PeriodWindow],
) -> None:
    """Empty the customer's user targets of the group, laid on the new cycles."""
    counted: dict[int, Decimal] = {}
    for row in rows:
        if row.source is not None:
            counted[id(row.source)] = counted.get(id(row.source), ZERO) + row.held
    ids = {ut.id for ut in old}
    for ut in old:
        # What the ledger does not explain is an imported initial value: it stays.
        ut.achieved_value -= counted.get(id(ut), ZERO)
        ut.achieved_at = None
        ut.milestones = {}
        if ut.slot <= len(cycles):
            window = cycles[ut.slot - 1]
            ut.starts_at, ut.ends_at = window.starts_at, window.ends_at
        if ut.id > 0:
            ws.reset.add(ut.id)
    ws.milestones_added = [m for m in ws.milestones_added if m[0].id not in ids]
    ws.milestones_removed = [m for m in ws.milestones_removed if m[0].id not in ids]
    for day in [day for day in ws.days if day[0] in ids]:
        del ws.days[day]
    if tracks_group_progress(group):
        for period in group.periods:
            key = (group.id, period.id, user_id)
            if key in ws.group_achievements:
                ws.record_group_achievement(key, None)


def _user_targets(ws: WorkingSet, group: TargetGroup, user_id: int) -> list[UserTarget]:
    """The customer's user targets of the group the working set holds."""
    found = (
        ws.find(target.id, period.id, user_id)
        for target in group.targets
        for period in group.periods
    )
    return [ut for ut in found if ut is not None]


def _place_rows(rows: list[_Row], cycles: list[PeriodWindow]) -> None:
    """Each contribution's new cycle: an event's by its time; a return follows the bill it
    returns; a carried return goes to the cycle it was carried into."""
    placed: dict[tuple[str, int], tuple[Period, PeriodWindow] | None] = {}
    for row in rows:
        if row.kind == ContributionKind.EVENT:
            row.place = _cycle_at(row.tracked, cycles, row.at)
            placed[(row.event_id, row.tracked.id)] = row.place
    for row in rows:
        if row.kind == ContributionKind.EVENT:
            continue
        if row.carried_at is not None:
            row.place = _cycle_at(row.tracked, cycles, row.carried_at)
            if row.place is not None:
                continue
        # A return follows the bill it returns; a cap's EXCESS row its own event (or return).
        key = (row.returns or row.event_id, row.tracked.id)
        row.place = placed[key] if key in placed else _cycle_at(row.tracked, cycles, row.at)


def _cycle_at(
    tracked: TrackedTarget, cycles: list[PeriodWindow], at: datetime
) -> tuple[Period, PeriodWindow] | None:
    placed = in_cycles(tracked.periods, cycles, at)
    return None if placed is None else (placed.period, placed.window)


def _after_rules(ws: WorkingSet, group: TargetGroup, row: _Row, user_target: UserTarget) -> Decimal:
    """The day rules, as ``Contributor`` applies them to a new contribution (capping is
    :meth:`AnchorMover._capped`)."""
    amount = row.amount
    if row.kind != ContributionKind.EVENT or amount <= 0:
        return amount
    rule = _day_rule(row.tracked)
    if rule is not None:
        day = ws.day(user_target, _day_key(group, row.at))
        if rule is DayRule.VISIT:
            if day.visited:
                return ZERO
            day.visited = day.dirty = True
        else:
            previous = day.max_value
            if previous is not None and row.raw <= previous:
                return ZERO
            day.max_value, day.dirty = row.raw, True
            amount = row.raw - (previous or ZERO)
    return amount


def _day_rule(tracked: TrackedTarget) -> DayRule | None:
    target = tracked.target
    if target.target_type == "VISIT":
        return DayRule.VISIT
    info = target.extended_field_info
    if target.target_type in ATTRIBUTE_KPIS and info and info.get("aggregateFunction") == "MAX":
        return DayRule.MAX
    return None


def _day_key(group: TargetGroup, at: datetime) -> str:
    return at.astimezone(group.zone).date().isoformat()


def _effects(
    tracked_of: dict[int, TrackedTarget],
    old: list[UserTarget],
    kept: list[UserTarget],
    before: dict[int, _Before],
    anchor: datetime,
) -> list[Effect]:
    """One REPLACE side effect per user target the re-placement changed, in target and
    period order; a user target left empty shows its old window going to zero."""
    shown: list[tuple[UserTarget, _Before | None]] = []
    kept_ids = {id(ut) for ut in kept}
    for ut in old:
        was = before[id(ut)]
        if id(ut) in kept_ids:
            shown.append((ut, was))
        else:
            emptied = replace(
                ut,
                starts_at=was.starts_at,
                ends_at=was.ends_at,
                achieved_value=ZERO,
                achieved_at=None,
                milestones={},
            )
            shown.append((emptied, was))
    shown.extend((ut, None) for ut in kept if id(ut) not in before)
    effects: list[Effect] = []
    for ut, known in shown:
        was = known or _Before(ut.starts_at, ut.ends_at, ZERO, None)
        if (was.starts_at, was.ends_at, was.value, was.achieved_at, was.milestones) == (
            ut.starts_at,
            ut.ends_at,
            ut.achieved_value,
            ut.achieved_at,
            ut.milestones,
        ):
            continue
        tracked = tracked_of[ut.target_id]
        triggers = tracked.target.triggers
        reached = tuple(t for t in triggers if t.id in ut.milestones and t.id not in was.milestones)
        lost = tuple(t for t in triggers if t.id in was.milestones and t.id not in ut.milestones)
        move = Move(
            before=was.value,
            after=ut.achieved_value,
            amount=ut.achieved_value - was.value,
            achieved_now=ut.achieved_at is not None and was.achieved_at is None,
            milestones_now=reached,
            achieved_at=ut.achieved_at,
            at=max((ut.milestones[t.id] for t in reached), default=anchor),
            revoked=was.achieved_at is not None and ut.achieved_at is None,
            milestones_revoked=lost,
        )
        effects.append(
            Effect(tracked, ut, tracked.period(ut.period_id), move, ContributionKind.REPLACE)
        )
    effects.sort(key=lambda e: (e.tracked.target.position, e.period.position, e.user_target.id))
    return effects
