"""A backfill's run: the stored events a group missed, applied to it alone (SPEC §16)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection

from milestones.api.events.ndjson import error_message
from milestones.api.events.schemas import submission
from milestones.domain.errors import MilestonesError
from milestones.domain.jobs import JobProgress
from milestones.domain.orgs import Org
from milestones.domain.outcomes import EventStatus
from milestones.domain.returns import ReturnState
from milestones.engine.catalogue import CatalogueCache
from milestones.engine.ingest import EngineStore, EventOutcome, ingest
from milestones.engine.returns import ReturnRefused, state_after
from milestones.observability.metrics import Tally
from milestones.store.engine import SqlEngineStore
from milestones.store.jobs import JobRepository, StoredJob
from milestones.store.replay import ReplayStore, StoredEvent, events_to_replay, returns_before
from milestones.store.target_groups import TargetGroupRepository

if TYPE_CHECKING:
    from milestones.jobs.worker import JobWorker, OnChunk

CALL_EVENTS = 500
"""Events one engine call of a replay holds at most (a customer's history may be long)."""


class ReplayingStore(EngineStore, Protocol):
    """A store stored events are applied to again (a backfill's, a rebuild's, a
    simulation's): the bill a call's return returns is shown as in ``bill_states``."""

    bill_states: dict[str, ReturnState]


class GroupJobRun:
    """The run of a job on one group, a chunk at a time (a backfill's, a rebuild's): each
    chunk commits with its checkpoint; the run ends when a chunk moves nothing."""

    def __init__(self, worker: JobWorker, job: StoredJob, on_chunk: OnChunk | None) -> None:
        assert job.target_group_id is not None, "a group's job has a group"
        self.worker = worker
        self.job = job
        self.group_id = job.target_group_id
        self.on_chunk = on_chunk
        self.progress = job.progress
        self.checkpoint = job.checkpoint
        self.catalogues = CatalogueCache()  # of the one group

    def run(self, stop: threading.Event) -> bool:
        while not stop.is_set():
            progress, checkpoint = self._chunk()
            if checkpoint == self.checkpoint:
                return True
            self.progress, self.checkpoint = progress, checkpoint
            if self.on_chunk is not None:
                self.on_chunk(self.job, progress)
        return False

    def _chunk(self) -> tuple[JobProgress, int]:
        raise NotImplementedError


class Backfill(GroupJobRun):
    """A backfill's run (SPEC §16): the stored events a group missed, applied to it alone.

    Events are read in the order they were stored, from the job's checkpoint (the id of
    the last one applied), a chunk at a time; each chunk and its checkpoint commit
    together. A return ends an engine call, so the bill it returns can be shown to the
    engine as it stood just before it (see :class:`milestones.store.replay.ReplayStore`).
    """

    def _chunk(self) -> tuple[JobProgress, int]:
        worker, job = self.worker, self.job
        progress = JobProgress(
            self.progress.done, dict(self.progress.counts), list(self.progress.errors)
        )
        tally = Tally()
        with worker.database.transaction() as connection:
            org = SqlEngineStore(connection).org(job.org_id)
            found = TargetGroupRepository(connection).find([job.org_id], self.group_id)
            if org is None or found is None:
                raise MilestonesError(f"target group {self.group_id} no longer exists")
            stored = events_to_replay(
                connection, found, self.checkpoint, worker.settings.import_chunk_lines
            )
            if not stored:
                return progress, self.checkpoint
            now = worker.clock.now()

            def store_of(pks: list[int]) -> ReplayStore:
                return ReplayStore(connection, found, pks)

            replayed = replay(connection, org, stored, now, self.catalogues, store_of)
            tally.add([outcome for _, outcome in replayed])
            for event, outcome in replayed:
                if outcome.status is EventStatus.REJECTED:
                    progress.reject(event.pk, refusal(outcome))
                else:
                    progress.count(outcome.status)
            checkpoint = stored[-1].pk
            JobRepository(connection).checkpoint(
                job.id, worker.name, checkpoint, progress, worker.wall(), worker.lease
            )
        tally.publish()
        return progress, checkpoint


def replay(
    connection: Connection,
    org: Org,
    stored: list[StoredEvent],
    now: datetime,
    catalogues: CatalogueCache,
    store_of: Callable[[list[int]], ReplayingStore],
) -> list[tuple[StoredEvent, EventOutcome]]:
    """Apply stored events again, in order, each as of its own time, through the engine's
    own path on the replay store ``store_of`` makes for each engine call (given the
    call's stored ids); each event with its outcome."""
    done: list[tuple[StoredEvent, EventOutcome]] = []
    for call in _calls(stored):
        store = store_of([event.pk for event in call])
        last = call[-1]
        if last.returned_bill is not None:
            store.bill_states[last.returned_bill] = _state_before(
                connection, org, last, last.returned_bill
            )
        submissions = [submission(event.payload, org.zone) for event in call]
        outcomes = ingest(store, org, submissions, now, catalogues, as_of_events=True)
        done.extend(zip(call, outcomes, strict=True))
    return done


def refusal(outcome: EventOutcome) -> str:
    """What a refused replayed event's error says, with its eventId."""
    return f"event {outcome.event_id}: {error_message(outcome.errors)}"


def _calls(stored: list[StoredEvent], longest: int = CALL_EVENTS) -> list[list[StoredEvent]]:
    """The events in engine calls of at most ``longest`` events, each return ending one."""
    calls: list[list[StoredEvent]] = [[]]
    for event in stored:
        calls[-1].append(event)
        if event.returned_bill is not None or len(calls[-1]) >= longest:
            calls.append([])
    return [call for call in calls if call]


def _state_before(
    connection: Connection, org: Org, returned: StoredEvent, bill_id: str
) -> ReturnState:
    """What had been returned of a bill before ``returned``: its earlier returns, in order."""
    bill = SqlEngineStore(connection).original_bill(org.id, bill_id)
    if bill is None:
        return ReturnState.fresh(0)
    state = ReturnState.fresh(len(bill.lines))
    for earlier in returns_before(connection, org.id, returned.user_id, bill_id, returned.pk):
        event = submission(earlier.payload, org.zone).event
        if event is None or event.bill_return is None:
            continue
        try:
            state = state_after(event.bill_return, replace(bill, state=state))
        except ReturnRefused:
            continue  # refused when it came: it returned nothing then either
    return state
