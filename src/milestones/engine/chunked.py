"""A big batch applied a chunk of events at a time, inside the caller's one transaction.

An event can reach hundreds of targets, and each side effect is a few objects the
answer needs: a 1,000-event batch in one :func:`ingest` call held millions of them.
Here the batch goes through :func:`ingest` a chunk at a time on the same connection,
and the caller turns each chunk's outcomes into answer bytes before the next chunk
runs, so only one chunk's effects and one chunk's customers are in memory at once.

Every later chunk sees what the earlier ones saved, in the same transaction: an
eventId seen earlier in the call is a stored event (``DUPLICATE``), a bill from an
earlier chunk is a stored bill to return. That is how :func:`ingest` already treats
two calls one after the other, so the outcomes are those of one call over the batch.
All the batch's customers are locked up front, in one sorted set, as one call would:
locking them chunk by chunk could deadlock two bulk calls sharing customers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from milestones.domain.orgs import Org
from milestones.engine.catalogue import CatalogueCache
from milestones.engine.ingest import EngineStore, EventOutcome, Submission, ingest


@dataclass(frozen=True, slots=True)
class ChunkBudget:
    """How much of a batch may be in memory at once.

    A chunk starts at ``first_events`` events and at most doubles each time, up to
    ``max_events``, as long as the last chunk's side effects per event say it makes
    about ``max_effects`` side effects at most. For example, at 650 side effects per event
    ``ChunkBudget()`` runs chunks of 7 events; at 60, of 83.
    """

    first_events: int = 8
    max_events: int = 250
    max_effects: int = 5_000

    @property
    def first_size(self) -> int:
        return max(1, min(self.first_events, self.max_events))

    def next_size(self, size: int, events: int, effects: int) -> int:
        """The next chunk's events, after one of ``events`` events made ``effects``."""
        per_event = -(-effects // max(events, 1))  # rounded up
        fits = self.max_effects // per_event if per_event else self.max_events
        return max(1, min(fits, 2 * size, self.max_events))


def ingest_in_chunks(
    store: EngineStore,
    org: Org,
    submissions: Sequence[Submission],
    now: datetime,
    cache: CatalogueCache,
    budget: ChunkBudget,
    *,
    as_of_events: bool = False,
) -> Iterator[list[EventOutcome]]:
    """Each chunk's outcomes, in order; the caller owns the transaction.

    Read each chunk before asking for the next: the list is emptied then, so its
    effects are freed before the next chunk is made.
    """
    user_ids = sorted({s.event.user_id for s in submissions if s.event is not None})
    store.lock_customers(org.id, user_ids)
    start, size = 0, budget.first_size
    while start < len(submissions):
        chunk = submissions[start : start + size]
        outcomes = ingest(store, org, chunk, now, cache, as_of_events=as_of_events)
        effects = sum(len(outcome.effects) for outcome in outcomes)
        yield outcomes
        outcomes.clear()
        start += len(chunk)
        size = budget.next_size(size, len(chunk), effects)
