"""A simulation's run (SPEC §16): a draft group, the stored events, the figures; nothing written.

:class:`Simulation` applies the org's stored events to the draft exactly as a backfill of
it would (:func:`milestones.jobs.backfill.replay`): in the order they were stored, a chunk at a
time, each return ending an engine call so the bill it returns can be shown as it stood
just before it, each event as of its own time; but on a
:class:`milestones.store.simulation.SimulationStore`, which keeps the group's progress in
memory. Then the figures are computed from it (:func:`milestones.domain.simulation.figures_of`).

Synchronous up to a bound (``Settings.simulation_sync_events``, the events in range), the
API runs it in one read transaction; beyond, a SIMULATION job (:class:`SimulationRun`) runs
it a chunk per read transaction, writing only its own progress, and its result at the end.
A simulation job resumed after its worker stopped starts over: its progress lived in the
memory of the worker that stopped, and nothing it did was kept, so nothing counts twice.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from milestones.api.simulation.asking import stored_ask
from milestones.api.simulation.views import simulation_view
from milestones.domain.customer_periods import customer_layout
from milestones.domain.errors import MilestonesError
from milestones.domain.group_progress import streak_progress
from milestones.domain.jobs import JobProgress
from milestones.domain.orgs import Org
from milestones.domain.outcomes import EventStatus
from milestones.domain.placement import cut_per_customer
from milestones.domain.simulation import Figures, SimulationAsk, figures_of
from milestones.domain.target_groups import TrackingType
from milestones.engine.catalogue import CatalogueCache
from milestones.jobs.backfill import refusal, replay
from milestones.store.database import json_text
from milestones.store.jobs import JobRepository, StoredJob
from milestones.store.orgs import OrgRepository
from milestones.store.simulation import SimulationStore, events_in_range, returned_bills

if TYPE_CHECKING:
    from milestones.jobs.worker import JobWorker, OnChunk


class Simulation:
    """The stored events applied to a draft group in memory, a chunk at a time."""

    def __init__(self, org: Org, ask: SimulationAsk, now: datetime, chunk: int) -> None:
        self.org = org
        self.ask = ask
        self.now = now
        self.chunk = chunk
        self.store = SimulationStore(ask.group)
        self.catalogues = CatalogueCache()
        self.progress = JobProgress()
        self.after = 0  # the id of the last event applied
        self.returned: set[str] | None = None  # the eventIds stored returns return

    def run(self, connection: Connection) -> Figures:
        """All of it, in the caller's (read) transaction."""
        while self.step(connection):
            pass
        return self.figures()

    def step(self, connection: Connection) -> bool:
        """Apply the next chunk of events; False when none was left."""
        ask = self.ask
        stored = events_in_range(
            connection, ask.group, ask.asked, self.after, ask.upto_pk, self.chunk
        )
        if not stored:
            return False
        store, org = self.store, self.org
        store.use(connection)
        if self.returned is None:
            self.returned = returned_bills(connection, org.id, self.ask.upto_pk)
        returned = self.returned
        store.returned.update(e.pk for e in stored if e.payload.get("eventId") in returned)

        def store_of(pks: list[int]) -> SimulationStore:
            store.pks, store.bill_states = pks, {}
            return store

        for event, outcome in replay(connection, org, stored, self.now, self.catalogues, store_of):
            if outcome.status is EventStatus.REJECTED:
                self.progress.reject(event.pk, refusal(outcome))
            else:
                self.progress.count(outcome.status)
        self.after = stored[-1].pk
        return True

    def figures(self) -> Figures:
        """The group's figures from what the events did to it."""
        group, store = self.ask.group, self.store
        held = [store.read(row) for row in store.user_target_rows.values()]
        excess = (
            {ut.id: store.excess_held(ut.id) for ut in held}
            if group.tracking_type is TrackingType.CAPPING
            else {}
        )
        streaks = []
        if group.tracking_type.is_streak:
            cut = cut_per_customer(group)
            for _, user_id in store.customers():
                windows = None
                if cut:
                    layout = customer_layout(group, store.zones.get(user_id, []))
                    windows = layout.in_order_of(group.periods)
                streaks.append(streak_progress(group, store, user_id, self.now, windows))
        return figures_of(group, held, excess, streaks)


class SimulationRun:
    """A SIMULATION job's run: the simulation its options ask for, a chunk per read
    transaction, its progress checkpointed, its answer (the figures) the job's result."""

    def __init__(self, worker: JobWorker, job: StoredJob, on_chunk: OnChunk | None) -> None:
        self.worker = worker
        self.job = job
        self.on_chunk = on_chunk

    def run(self, stop: threading.Event) -> bool:
        worker, job = self.worker, self.job
        now = worker.clock.now()
        with worker.database.transaction(write=False) as connection:
            org = OrgRepository(connection).get_org(job.org_id)
            if org is None:
                raise MilestonesError(f"org {job.org_id} no longer exists")
            ask, warnings = stored_ask(connection, org, job.options, now)
        simulation = Simulation(org, ask, now, worker.settings.import_chunk_lines)
        while not stop.is_set():
            with worker.database.transaction(write=False) as connection:
                more = simulation.step(connection)
            with worker.database.transaction() as connection:
                jobs = JobRepository(connection)
                jobs.checkpoint(
                    job.id,
                    worker.name,
                    simulation.after,
                    simulation.progress,
                    worker.wall(),
                    worker.lease,
                )
                if not more:
                    view = simulation_view(ask, simulation.progress, simulation.figures())
                    jobs.set_result(job.id, worker.name, json_text({**view, "warnings": warnings}))
            if not more:
                return True
            if self.on_chunk is not None:
                self.on_chunk(job, simulation.progress)
        return False
