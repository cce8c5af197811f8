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
from milestones.domain.customer_periods import customer_layout
from milestones.domain.group_progress import streak_walk
from milestones.domain.progress import UserTarget
from milestones.domain.streak_watch import Told, may_tell, to_tell
from milestones.domain.streaks import NO_RECORD, CareRecord
from milestones.domain.target_groups import TargetGroup, TrackingType
from milestones.store import outbox
from milestones.store.database import Database
from milestones.store.sweeps import Mark, Standing, SweepRepository

log = logging.getLogger("milestones.sweeper")
CHUNK = 2_000  # customers per transaction: about 0.1 s of SQLite's write lock in the benchmark


class _Lookup:
    """:class:`~milestones.domain.group_progress.UserTargetLookup` over a chunk's standing.

    It knows the customers' achieved user targets only: whether a streak group's period is
    achieved, and when, rests on those alone (``period_state``, ``period_outcome``), and a
    sweep reads far fewer rows without the others."""

    def __init__(self, group_id: int, standing: Standing) -> None:
        self._group_id = group_id
        self._standing = standing
        self._group_periods = standing.group_periods
        self._care = standing.care

    def find(self, target_id: int, period_id: int, user_id: int) -> UserTarget | None:
        return self._standing.user_target(target_id, period_id, user_id)

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

    def __init__(self, database: Database, *, chunk: int = CHUNK, exhaustive: bool = False) -> None:
        """``exhaustive`` walks every customer over every period of each group that
        :func:`may_tell` lets through (no :class:`_Plan` shortcut): slower, and what the
        tests compare the shortcuts with."""
        self.database = database
        self.chunk = chunk
        self.exhaustive = exhaustive

    def sweep(self, now: datetime) -> Counter[str]:
        """One sweep up to ``now``: the notifications written, by type."""
        told: Counter[str] = Counter()
        for tasks in self._tasks(now):
            plans: list[_Plan] = []
            idle: list[_Task] = []
            for task in tasks:
                plan = None
                if may_tell(task.group, task.swept_until, now, task.retro):
                    plan = _Plan.of(task, now, exhaustive=self.exhaustive)
                if plan is not None and plan.anything:
                    plans.append(plan)
                else:
                    idle.append(task)
            if idle:
                self._move(idle, now)
            if not plans:
                continue
            with self.database.transaction(write=False) as connection:
                customers = SweepRepository(connection).customers(
                    [plan.task.group.id for plan in plans]
                )
            for plan in plans:
                told.update(self._sweep_group(plan, customers[plan.task.group.id]))
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

    def _sweep_group(self, plan: _Plan, customers: list[int]) -> Counter[str]:
        task, now = plan.task, plan.now
        told: Counter[str] = Counter()
        with self.database.transaction(write=False) as connection:
            care = SweepRepository(connection).care_records(task.group.id)
        starts = range(0, len(customers), self.chunk) if customers else range(1)
        for start in starts:
            last = start + self.chunk >= len(customers)
            chunk = customers[start : start + self.chunk]
            with self.database.transaction() as connection:
                sweeps = SweepRepository(connection)
                sweeps.hold(task.group.id, task.swept_until)
                notices = plan.tell(sweeps, chunk, care)
                outbox.write(connection, task.org_id, now, [t.notice for t in notices])
                if last:
                    sweeps.move(task.group.id, now)
            told.update(t.notice.type.value for t in notices)
        if told:
            log.info("group %d swept to %s: %s", task.group.id, now.isoformat(), dict(told))
        return told


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one group is swept up to ``now``: which periods a walk needs, and which customers
    cannot have anything due (and are not walked).

    What :func:`~milestones.domain.streak_watch.to_tell` can say, and so who need not be
    walked:

    - a period closed in the sweep's stretch (``due``) is told of only if the customer did
      not achieve it and entered it with a run > 0: some period shortly before it was
      achieved or repaired, since each unachieved one in between used a freeze, and they
      are at most ``maxHeld`` plus what support granted;
    - an at-risk notice needs ``now`` within ``atRiskHours`` of the running period's end at
      least (a freeze only moves ``runEndsAt`` later); when none can be, a walk needs only
      the periods up to the last one due;
    - a NON_CONTINUOUS_STREAKS group tells nothing (its count never resets, it uses no
      freeze, and no run of it is at risk).

    Periods cut in customers' zones are walked whole, for every customer with a past."""

    task: _Task
    now: datetime
    walked: TargetGroup  # the group, with only the periods the walks need
    due: tuple[int, ...]  # positions (in group.periods) of the periods settled in the stretch
    at_risk: bool  # whether an at-risk notice can be due
    exact: bool  # whether the group's own windows are every customer's
    continuous: bool
    exhaustive: bool = False  # no shortcut: every customer walked over every period

    @property
    def anything(self) -> bool:
        if self.exhaustive:
            return True
        return self.continuous and (bool(self.due) or self.at_risk or not self.exact)

    @classmethod
    def of(cls, task: _Task, now: datetime, *, exhaustive: bool = False) -> _Plan:
        group, since = task.group, task.swept_until
        exact = not group.care.per_customer
        due = [
            index
            for index, period in enumerate(group.periods)
            if since < period.window.ends_at + task.retro <= now
        ]
        hours = group.care.at_risk_hours
        running = next(
            (p for p in group.periods if p.window.starts_at <= now < p.window.ends_at), None
        )
        at_risk = hours is not None and hours > 0
        if at_risk and exact:
            window = running.window if running is not None else None
            at_risk = window is not None and now >= window.ends_at - timedelta(hours=hours or 0)
        if exact and not at_risk:
            keep = due[-1] + 1 if due else 0
        else:
            started = sum(1 for period in group.periods if period.window.starts_at <= now)
            keep = started + (group.care.max_held or 0) + (0 if exact else 1)
        walked = (
            group if keep >= len(group.periods) else replace(group, periods=group.periods[:keep])
        )
        continuous = group.tracking_type is TrackingType.STREAKS
        if exhaustive:
            return cls(task, now, group, tuple(due), True, False, continuous, exhaustive=True)
        return cls(task, now, walked, tuple(due), at_risk, exact, continuous)

    def tell(
        self, sweeps: SweepRepository, user_ids: Sequence[int], care: dict[int, CareRecord]
    ) -> list[Told]:
        """The chunk's notices not told before; their marks are written."""
        group, task, now = self.walked, self.task, self.now
        standing = sweeps.standing(group, user_ids, care)
        walking = [
            user_id for user_id in user_ids if self.exhaustive or self._may_tell(standing, user_id)
        ]
        sweeps.group_periods(group, walking, standing)
        if group.care.per_customer:
            sweeps.zones(task.org_id, walking, standing)
        lookup = _Lookup(group.id, standing)
        due: dict[Mark, Told] = {}
        for user_id in walking:
            windows = None
            if group.care.per_customer:
                # Each customer's periods end at their own midnights (SPEC §17).
                layout = customer_layout(group, standing.zones.get(user_id, ()))
                windows = layout.in_order_of(group.periods)
            walked = streak_walk(group, lookup, user_id, now, windows)
            for told in to_tell(group, user_id, walked, task.swept_until, now, task.retro):
                due[(user_id, told.period_id, told.kind.value)] = told
        if not due:
            return []
        stored = sweeps.marks(group.id, {user_id for user_id, _, _ in due})
        new = {mark: told for mark, told in due.items() if mark not in stored}
        sweeps.add_marks(group.id, new.keys())
        return list(new.values())

    def _may_tell(self, standing: Standing, user_id: int) -> bool:
        achieved = standing.achieved.get(user_id, set())
        record = standing.care.get(user_id, NO_RECORD)
        if not achieved and not record.repairs:
            return False  # never achieved nor repaired: no run
        group = self.walked
        if self.at_risk or not self.exact or group.unified_aggregation is not None:
            return True
        periods = group.periods
        targets = [t.id for t in group.targets if t.active] or [t.id for t in group.targets]
        reach = (group.care.max_held or 0) + sum(grant.count for grant in record.grants) + 1
        for index in self.due:
            period_id = periods[index].id
            if all((target, period_id) in achieved for target in targets):
                continue  # achieved: nothing to tell of it
            for before in periods[max(0, index - reach) : index]:
                if record.repair_of(before.id) or any(
                    (target, before.id) in achieved for target in targets
                ):
                    return True
        return False


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
