"""A batch of events in, one outcome per event out, in one transaction (§6.1, §10).

Order of work: refuse what is malformed or from the future; lock the batch's
customers; drop duplicates (already stored, or twice in the batch); load the
customers' state once; apply each event in arrival order (placed by its own
``eventTime``); save every change at once.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from milestones.domain.events import RETURN_BILL, TRANSACTION_ADD, Event, EventPrint, event_print
from milestones.domain.notifications import Notice
from milestones.domain.orgs import Org
from milestones.domain.outcomes import EventStatus
from milestones.domain.progress import UserTarget
from milestones.domain.returns import ReturnState
from milestones.domain.target_groups import TargetGroup
from milestones.engine.anchors import AnchorMover, GroupHistory
from milestones.engine.catalogue import EVERY_NEED, Catalogue, CatalogueCache, CustomerNeeds
from milestones.engine.contribute import Contributor, Effect
from milestones.engine.notices import notices_of
from milestones.engine.returns import (
    OriginalBill,
    ReturnRefused,
    Returns,
    capping_user_targets,
    state_after,
    user_targets_to_load,
)
from milestones.engine.working_set import CustomerState, WorkingSet

FUTURE_TOLERANCE = timedelta(minutes=5)
_REUSED = 310140
_REUSED_MESSAGE = (
    "eventId already used by a different event (another customer, time, name or content): "
    "send a new eventId for a new event"
)


@dataclass(frozen=True, slots=True)
class Submission:
    """One event as received: parsed, or refused with errors and the raw payload."""

    event: Event | None
    payload: dict[str, object]
    errors: list[dict[str, object]] = field(default_factory=list)


@dataclass
class EventOutcome:
    """How one event was answered."""

    event_id: str | None
    status: EventStatus
    effects: list[Effect] = field(default_factory=list)
    errors: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LoadScope:
    """Which of a batch's customers' state to load.

    An event only moves user targets of periods that contain it, so user targets that
    ended before the batch's earliest event stay in the database: a customer's years of
    history do not slow down their next purchase. Streak groups are the exception (a
    level counts achieved periods back to the first), and so are the user targets a
    returned bill reached, which the batch loads by id when it meets the return.
    """

    ended_before: datetime  # user targets ending at or before this instant are not loaded
    whole_groups: frozenset[int]  # groups whose every period is loaded
    since_day: str  # first local day of the VISIT and MAX day records loaded
    zone_histories: bool = False  # the customers' zone histories (a per-customer group)
    care_groups: frozenset[int] = frozenset()  # streak groups whose care records are loaded
    needs: CustomerNeeds = EVERY_NEED  # which other records the org's targets can read


@dataclass(frozen=True, slots=True)
class AcceptedEvent:
    """An event to store: its place in the batch, its status, and for a return what it gave back."""

    index: int
    event: Event
    status: EventStatus
    payload: dict[str, object]
    returns: tuple[OriginalBill, ReturnState] | None = None  # a return: its bill, and after


class EngineStore(Protocol):
    """What the engine needs of storage (``milestones.store.engine`` implements it)."""

    def lock_customers(self, org_id: int, user_ids: Sequence[int]) -> None: ...
    def known_events(self, org_id: int, event_ids: Collection[str]) -> dict[str, EventPrint]:
        """Of ``event_ids``, those already stored, each with what makes it that event."""
        ...

    def catalogue_signature(self, org_id: int) -> Hashable: ...
    def load_groups(self, org_id: int) -> list[TargetGroup]: ...
    def load_customers(
        self, org_id: int, user_ids: Sequence[int], scope: LoadScope
    ) -> CustomerState:
        """The customers' state; of their user targets, those ``scope`` says a batch can move."""
        ...

    def user_targets_by_id(self, org_id: int, ids: Collection[int]) -> list[UserTarget]:
        """User targets (with their milestones) by id, e.g. those a returned bill reached."""
        ...

    def original_bill(self, org_id: int, event_id: str) -> OriginalBill | None: ...
    def excess_of(self, user_target_ids: Collection[int]) -> dict[int, Decimal]:
        """What CAPPING user targets hold past their cap (every id, 0 when none)."""
        ...

    def group_history(self, org_id: int, user_id: int, group_id: int) -> GroupHistory:
        """A customer's user targets and ledger rows of one group, for a CYCLIC re-anchoring."""
        ...

    def save(
        self, org_id: int, now: datetime, accepted: list[AcceptedEvent], ws: WorkingSet
    ) -> None: ...
    def notify(self, org_id: int, now: datetime, notices: Sequence[Notice]) -> None:
        """Write the notices to the outbox, in the transaction of the changes they tell."""
        ...


def ingest(
    store: EngineStore,
    org: Org,
    submissions: Sequence[Submission],
    now: datetime,
    cache: CatalogueCache,
    *,
    as_of_events: bool = False,
) -> list[EventOutcome]:
    """Apply a batch; the caller owns the transaction.

    ``as_of_events`` applies each event as of its own time (an import of history, SPEC
    §16): the retro buffer, a return's carry and enrolment times are judged with the
    event's ``eventTime`` as "now", so a past event is never ``OUT_OF_WINDOW``.
    """
    outcomes: list[EventOutcome | None] = [None] * len(submissions)
    valid: list[tuple[int, Event, dict[str, object]]] = []
    for index, submission in enumerate(submissions):
        event = submission.event
        if event is None:
            outcomes[index] = EventOutcome(
                _event_id(submission.payload), EventStatus.REJECTED, errors=submission.errors
            )
        elif event.event_time > now + FUTURE_TOLERANCE:
            outcomes[index] = _refused(
                event.event_id,
                "eventTime is more than 5 minutes after now: check the sender's clock",
                "eventTime",
            )
        else:
            valid.append((index, event, submission.payload))
    start = 0
    while start < len(valid):
        batch = _Batch(store, org, now, cache, [event for _, event, _ in valid[start:]])
        batch.as_of_events = as_of_events
        for position in range(start, len(valid)):
            index, event, payload = valid[position]
            if batch.anchors.would_move_again(event, batch.catalogue, batch.ws):
                # A second re-anchoring of one customer's cycles replays from what the
                # first one saved: the rest of the call goes on in a new batch.
                break
            outcomes[index] = batch.apply(index, event, payload)
            start = position + 1
        store.save(org.id, now, batch.accepted, batch.ws)
    answered = [outcome for outcome in outcomes if outcome is not None]
    notices = notices_of((outcome.event_id, outcome.effects) for outcome in answered)
    if notices:
        store.notify(org.id, now, notices)
    return answered


class _Batch:
    def __init__(
        self,
        store: EngineStore,
        org: Org,
        now: datetime,
        cache: CatalogueCache,
        events: list[Event],
    ) -> None:
        self.store = store
        self.org = org
        self.now = now
        user_ids = sorted({event.user_id for event in events})
        store.lock_customers(org.id, user_ids)
        self.known = store.known_events(org.id, {event.event_id for event in events})
        self.catalogue: Catalogue = cache.get(
            org.id, store.catalogue_signature(org.id), lambda: store.load_groups(org.id)
        )
        earliest = min(event.event_time for event in events)
        scope = LoadScope(
            ended_before=min(earliest, now),  # a return carries into the period open now
            whole_groups=self.catalogue.streak_group_ids,
            since_day=(earliest - timedelta(days=2)).date().isoformat(),
            zone_histories=bool(self.catalogue.per_customer),
            care_groups=self.catalogue.care_group_ids,
            needs=self.catalogue.needs,
        )
        self.ws = WorkingSet(store.load_customers(org.id, user_ids, scope))
        self.contributor = Contributor(self.ws, org, now)
        self.returns = Returns(self.contributor, self.catalogue, org.revoke_on_return)
        self.accepted: list[AcceptedEvent] = []
        self.anchors = AnchorMover(store, self.catalogue, org, self.accepted)
        self.contributor.anchors = self.anchors
        # This batch's accepted events by eventId; printed only when an id comes again.
        self.seen: dict[str, tuple[Event, dict[str, object]]] = {}
        self.bills: dict[str, OriginalBill] = {}
        self.as_of_events = False  # each event applied as of its own time (see ingest)

    def apply(self, index: int, event: Event, payload: dict[str, object]) -> EventOutcome:
        if self.as_of_events:
            self.contributor.now = event.event_time
        earlier = self.known.get(event.event_id)
        if earlier is None and event.event_id in self.seen:
            earlier = _print(*self.seen[event.event_id])
        if earlier is not None:
            if earlier != _print(event, payload):
                return _refused(event.event_id, _REUSED_MESSAGE, "eventId", _REUSED)
            return EventOutcome(event.event_id, EventStatus.DUPLICATE)
        returns: tuple[OriginalBill, ReturnState] | None = None
        if event.event_name == RETURN_BILL and event.bill_return is not None:
            try:
                effects, returns = self._return(index, event)
            except ReturnRefused as refused:
                return _refused(event.event_id, refused.message, refused.field)
            status = EventStatus.APPLIED if effects else EventStatus.NO_MATCH
        else:
            effects, too_late = self.contributor.apply(
                event, index, self.catalogue.listening(event.event_name)
            )
            status = (
                EventStatus.APPLIED
                if effects
                else (EventStatus.OUT_OF_WINDOW if too_late else EventStatus.NO_MATCH)
            )
        self.seen[event.event_id] = (event, payload)
        self.accepted.append(AcceptedEvent(index, event, status, payload, returns))
        if event.event_name == TRANSACTION_ADD and event.transaction is not None:
            self._remember_bill(index, event)
        return EventOutcome(event.event_id, status, effects)

    def _return(
        self, index: int, event: Event
    ) -> tuple[list[Effect], tuple[OriginalBill, ReturnState]]:
        assert event.bill_return is not None
        original_id = event.bill_return.original_event_id
        original = self.bills.get(original_id) or self.store.original_bill(self.org.id, original_id)
        if original is None:
            raise ReturnRefused(
                f"no bill with eventId {original_id} to return", "return.originalEventId"
            )
        if original.user_id != event.user_id:
            raise ReturnRefused(f"bill {original_id} belongs to another customer", "userId")
        after = state_after(event.bill_return, original)
        original = self.anchors.rebrought(original)  # its cycles may have moved in this batch
        missing = user_targets_to_load(original, self.ws)
        if missing:
            self.ws.adopt(self.store.user_targets_by_id(self.org.id, missing))
        capped = capping_user_targets(original, self.ws, self.catalogue)
        if capped:
            self.ws.excess_stored.update(self.store.excess_of(capped))
        effects = self.returns.take_back(original, after, index, event.event_time)
        self.bills[original_id] = replace(original, state=after)
        return effects, (original, after)

    def _remember_bill(self, index: int, event: Event) -> None:
        """A bill of this batch may be returned later in the same batch."""
        assert event.transaction is not None
        brought = [
            (entry.user_target.id, entry.amount) for entry in self.ws.ledger_of_event.get(index, [])
        ]
        self.bills[event.event_id] = OriginalBill(
            None, event, ReturnState.fresh(len(event.transaction.line_items)), brought
        )


def _print(event: Event, payload: dict[str, object]) -> EventPrint:
    return event_print(event.user_id, event.event_name, event.event_time, payload)


def _refused(
    event_id: str | None, message: str, field_name: str | None, code: int = 300004
) -> EventOutcome:
    error: dict[str, object] = {"code": code, "message": message}
    if field_name:
        error["field"] = field_name
    return EventOutcome(event_id, EventStatus.REJECTED, errors=[error])


def _event_id(payload: dict[str, object]) -> str | None:
    value = payload.get("eventId") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None
