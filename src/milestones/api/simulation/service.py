"""Simulating a draft group: at once up to the bound, as a job beyond it (SPEC §16)."""

from __future__ import annotations

from dataclasses import dataclass

from milestones.api.jobs.views import job_view
from milestones.api.simulation.asking import Warning, ask_of, options_of
from milestones.api.simulation.schemas import SimulationIn
from milestones.api.simulation.views import simulation_view
from milestones.clock import Clock
from milestones.domain.jobs import JobType
from milestones.domain.orgs import Caller
from milestones.jobs import wall_clock
from milestones.jobs.simulation import Simulation
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.jobs import JobRepository
from milestones.store.simulation import count_in_range


@dataclass(frozen=True, slots=True)
class Simulated:
    """The answer: the figures (``job`` False), or the SIMULATION job that will make them."""

    data: dict[str, object]
    warnings: list[Warning]
    job: bool


def simulate(
    database: Database,
    settings: Settings,
    clock: Clock,
    caller: Caller,
    body: SimulationIn,
    raw: bytes,
) -> Simulated:
    """The figures of ``body``'s draft over the org's stored events, in one read transaction
    when they are at most ``settings.simulation_sync_events``; else a job of it."""
    now, org = clock.now(), caller.org
    with database.transaction(write=False) as connection:
        ask, warnings = ask_of(connection, org, body, caller.client.id, now)
        total = count_in_range(connection, ask.group, ask.asked, ask.upto_pk)
        if total <= settings.simulation_sync_events:
            simulation = Simulation(org, ask, now, settings.import_chunk_lines)
            figures = simulation.run(connection)
            return Simulated(simulation_view(ask, simulation.progress, figures), warnings, False)
    with database.transaction() as connection:
        job = JobRepository(connection).create(
            org.id, JobType.SIMULATION, wall_clock(), total=total, options=options_of(raw, ask)
        )
    return Simulated(job_view(job, wall_clock()), warnings, True)
