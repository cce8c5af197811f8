"""A rebuild's run: a group recomputed from the stored events, customer by customer (SPEC §16).

Customers are taken in user id order from the job's checkpoint (the last one done), as
many per chunk as hold 500 events between them (one at least: a customer's rebuild is
never split, so no one is ever seen half rebuilt). Each chunk is one transaction, with
its checkpoint: the customers are locked, their standing in the group read and taken
out, their events inside the group's dates applied again (through the backfill's
:func:`~milestones.jobs.backfill.replay`, as of their own time, to the group alone), the
result reckoned against what was stored (:func:`milestones.domain.rebuild.reckon`), what
is kept put back, and what changed notified (``replayed``). A crash loses the chunk in
flight; the next claim resumes after the last customer committed.

``done`` and ``total`` count customers; ``counts`` add up the reckonings
(``userTargetsChanged``, ``achievementsAdded``, ``achievementsUnsupported``,
``achievementsRevoked``) and the events replayed (``eventsReplayed``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milestones.domain.errors import MilestonesError
from milestones.domain.jobs import ERROR_SAMPLE, JobProgress, LineError
from milestones.domain.outcomes import EventStatus
from milestones.domain.rebuild import reckon
from milestones.engine.notices import rebuild_notices
from milestones.jobs.backfill import GroupJobRun, refusal, replay
from milestones.store import outbox
from milestones.store.engine import SqlEngineStore
from milestones.store.jobs import JobRepository, StoredJob
from milestones.store.rebuild import GroupState, RebuildStore, customers_to_rebuild, events_of
from milestones.store.replay import ReplayStore
from milestones.store.target_groups import TargetGroupRepository

if TYPE_CHECKING:
    from milestones.jobs.worker import JobWorker, OnChunk

REPLAYED = "eventsReplayed"


class Rebuild(GroupJobRun):
    """A rebuild's run; ``job.options["revoke"]`` takes back what the new rules do not support."""

    def __init__(self, worker: JobWorker, job: StoredJob, on_chunk: OnChunk | None) -> None:
        super().__init__(worker, job, on_chunk)
        self.revoke = job.options.get("revoke") is True

    def _chunk(self) -> tuple[JobProgress, int]:
        worker, job = self.worker, self.job
        progress = JobProgress(
            self.progress.done, dict(self.progress.counts), list(self.progress.errors)
        )
        with worker.database.transaction() as connection:
            engine_store = SqlEngineStore(connection)
            org = engine_store.org(job.org_id)
            group = TargetGroupRepository(connection).find([job.org_id], self.group_id)
            if org is None or group is None:
                raise MilestonesError(f"target group {self.group_id} no longer exists")
            users = customers_to_rebuild(
                connection, group, self.checkpoint, worker.settings.import_chunk_lines
            )
            if not users:
                return progress, self.checkpoint
            engine_store.lock_customers(org.id, users)
            state = GroupState(connection, group)
            old = state.standing(users)
            taken = state.take_out(old, users)
            stored = events_of(connection, group, users)
            now = worker.clock.now()

            def store_of(pks: list[int]) -> ReplayStore:
                return RebuildStore(connection, group, pks, taken)

            for event, outcome in replay(connection, org, stored, now, self.catalogues, store_of):
                if outcome.status is EventStatus.REJECTED:
                    _refused(progress, event.pk, refusal(outcome))
            fresh = state.standing(users)
            reckoning = reckon(old, fresh, state.context(users, now), revoke=self.revoke)
            state.put_back(reckoning, now)
            notices = rebuild_notices(group, old, reckoning, now, job.id)
            outbox.write(connection, org.id, now, notices, replayed=True)
            progress.done += len(users)
            for name, count in {**reckoning.counts, REPLAYED: len(stored)}.items():
                progress.counts[name] = progress.counts.get(name, 0) + count
            checkpoint = users[-1]
            JobRepository(connection).checkpoint(
                job.id, worker.name, checkpoint, progress, worker.wall(), worker.lease
            )
        return progress, checkpoint


def _refused(progress: JobProgress, event_pk: int, message: str) -> None:
    """A stored event the replay refused (a return whose bill is gone): counted and sampled,
    without counting a customer as done."""
    progress.counts["REJECTED"] = progress.counts.get("REJECTED", 0) + 1
    if len(progress.errors) < ERROR_SAMPLE:
        progress.errors.append(LineError(event_pk, message))
