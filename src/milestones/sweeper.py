"""The streak sweeper (SPEC §17): time-driven streak notifications, inside ``milestones
serve`` (a thread, every ``MILESTONES_SWEEP_SECONDS``) or once as ``milestones sweep``.

For each org and each STREAKS / NON_CONTINUOUS_STREAKS group, from the group's cursor
(``streak_sweeps.swept_until``; first time, the group's creation) to ``now``:

1. :func:`~milestones.domain.streak_watch.may_tell` says from the group alone whether
   anything can be due (a period settles, an at-risk moment comes); if not, only the
   cursor moves.
2. Else the group's customers (those with a user target in it: no other has a run) are
   walked a chunk at a time: their user targets of every period, group achievements and
   care records read in a few statements, each customer's walk computed by
   :func:`~milestones.domain.group_progress.streak_walk`, its notices by
   :func:`~milestones.domain.streak_watch.to_tell`. Those whose mark is stored already are
   dropped; new marks and notices (the outbox) are written in the chunk's transaction, and
   the last chunk moves the cursor. A crash mid-group re-sweeps it from the old cursor,
   and the marks keep what was told from being told again.

Idempotent: a second sweep at the same ``now`` tells nothing. Business time is the app's
clock (``MILESTONES_NOW`` pins it, as it does the engine's).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from milestones.clock import Clock
from milestones.domain.group_progress import streak_walk
from milestones.domain.progress import UserTarget
from milestones.domain.streak_watch import Told, may_tell, to_tell
from milestones.domain.streaks import NO_RECORD, CareRecord
from milestones.domain.target_groups import TargetGroup
from milestones.store import outbox
from milestones.store.database import Database
from milestones.store.sweeps import Mark, Standing, SweepRepository

log = logging.getLogger("milestones.sweeper")
CHUNK = 2_000  # customers per transaction: a few tens of milliseconds of SQLite's write lock


class _Lookup:
    """:class:`~milestones.domain.group_progress.UserTargetLookup` over a chunk's standing."""

    def __init__(self, group_id: int, standing: Standing) -> None:
        self._group_id = group_id
        self._user_targets = standing.user_targets
        self._group_periods = standing.group_periods
        self._care = standing.care

    def find(self, target_id: int, period_id: int, user_id: int) -> UserTarget | None:
        return self._user_targets.get((target_id, period_id, user_id))

    def group_achieved_at(self, group_id: int, period_id: int, user_id: int) -> datetime | None:
        if group_id != self._group_id:
            return None
        return self._group_periods.get((period_id, user_id))

    def care_of(self, group_id: int, user_id: int) -> CareRecord:
        return self._care.get(user_id, NO_RECORD) if group_id == self._group_id else NO_RECORD


@dataclass(frozen=True, slots=True)
class _Task:
    """One group to sweep: from where, in which org, with which retro buffer."""

    org_id: int
    group: TargetGroup
    swept_until: datetime
    retro: timedelta


class Sweeper:
    """Sweeps every org's streak groups up to an instant; what it told is counted by type."""

    def __init__(self, database: Database, *, chunk: int = CHUNK) -> None:
        self.database = database
        self.chunk = chunk

    def sweep(self, now: datetime) -> Counter[str]:
        """One sweep up to ``now``: the notifications written, by type."""
        told: Counter[str] = Counter()
        for tasks in self._tasks(now):
            due: list[_Task] = []
            idle: list[_Task] = []
            for task in tasks:
                may = may_tell(task.group, task.swept_until, now, task.retro)
                (due if may else idle).append(task)
            if idle:
                self._move(idle, now)
            for task in due:
                told.update(self._sweep_group(task, now))
        return told

    def _tasks(self, now: datetime) -> list[list[_Task]]:
        """Per org, its streak groups with their cursors (groups made after ``now`` wait)."""
        with self.database.transaction(write=False) as connection:
            sweeps = SweepRepository(connection)
            found: list[list[_Task]] = []
            for org in sweeps.orgs():
                groups = sweeps.streak_groups(org.id)
                cursors = sweeps.cursors([group.id for group in groups])
                retro = timedelta(days=org.retro_buffer_days)
                tasks = [
                    _Task(org.id, group, cursors.get(group.id, group.audit.created_at), retro)
                    for group in groups
                ]
                found.append([task for task in tasks if task.swept_until < now])
        return found

    def _move(self, tasks: Sequence[_Task], now: datetime) -> None:
        with self.database.transaction() as connection:
            sweeps = SweepRepository(connection)
            for task in tasks:
                sweeps.hold(task.group.id, task.swept_until)
                sweeps.move(task.group.id, now)

    def _sweep_group(self, task: _Task, now: datetime) -> Counter[str]:
        group = _walked_part(task.group, now)
        with self.database.transaction(write=False) as connection:
            customers = SweepRepository(connection).customers(group.id)
        told: Counter[str] = Counter()
        starts = range(0, len(customers), self.chunk) if customers else range(1)
        for start in starts:
            last = start + self.chunk >= len(customers)
            chunk = customers[start : start + self.chunk]
            with self.database.transaction() as connection:
                sweeps = SweepRepository(connection)
                sweeps.hold(group.id, task.swept_until)
                notices = _tell_chunk(sweeps, group, chunk, task, now)
                outbox.write(connection, task.org_id, now, [t.notice for t in notices])
                if last:
                    sweeps.move(group.id, now)
            told.update(t.notice.type.value for t in notices)
        if told:
            log.info("group %d swept to %s: %s", group.id, now.isoformat(), dict(told))
        return told


def _tell_chunk(
    sweeps: SweepRepository,
    group: TargetGroup,
    user_ids: Sequence[int],
    task: _Task,
    now: datetime,
) -> list[Told]:
    """The chunk's notices not told before; their marks are written."""
    lookup = _Lookup(group.id, sweeps.standing(group, user_ids))
    due: dict[Mark, Told] = {}
    for user_id in user_ids:
        walked = streak_walk(group, lookup, user_id, now)
        for told in to_tell(group, user_id, walked, task.swept_until, now, task.retro):
            due[(user_id, told.period_id, told.kind.value)] = told
    if not due:
        return []
    stored = sweeps.marks(group.id, {user_id for user_id, _, _ in due})
    new = {mark: told for mark, told in due.items() if mark not in stored}
    sweeps.add_marks(group.id, new.keys())
    return list(new.values())


def _walked_part(group: TargetGroup, now: datetime) -> TargetGroup:
    """The group with only the periods a walk at ``now`` can use: those started by then,
    and as many after as freezes can carry a run (``runEndsAt``). A daily group laid out
    for years ahead would otherwise cost every customer a step per future day."""
    started = sum(1 for period in group.periods if period.window.starts_at <= now)
    keep = started + (group.care.max_held or 0) + 1
    if keep >= len(group.periods):
        return group
    return replace(group, periods=group.periods[:keep])


class SweeperThread:
    """The sweeper in a thread of its own (how ``milestones serve`` runs it): a sweep at
    start (the catch-up after downtime), then one every ``every`` seconds."""

    def __init__(self, sweeper: Sweeper, clock: Clock, every: float) -> None:
        self.sweeper = sweeper
        self.clock = clock
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="milestones-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the sweeper to stop and wait for its sweep in progress to end."""
        self._stop.set()
        self._thread.join(timeout)

    def _main(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweeper.sweep(self.clock.now())
            except Exception:  # the database is away, say: log, wait, go on
                log.exception("streak sweep failed; trying again")
            self._stop.wait(self.every)


__all__ = ["CHUNK", "Sweeper", "SweeperThread"]
