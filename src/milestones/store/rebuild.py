"""A rebuild's storage (SPEC §16): a group's state of some customers read, taken out,
replayed from their stored events, and what is kept put back.

For one chunk of customers, in one transaction (:mod:`milestones.jobs.rebuild` runs it):

1. :meth:`GroupState.standing` reads what they hold in the group (the *old* standing);
2. :meth:`GroupState.take_out` removes it: their user targets of the group's active
   targets with their milestones, days and CAPPING excess rows, their cycle anchors and
   group achievements, and the group's entries in their events' packed ledgers (each
   emptied in place, so every other entry keeps its position and id; empty entries at a
   ledger's end are cut, so a second rebuild does not grow it);
3. their events inside the group's dates (:func:`events_of`) are applied again, in the
   order they were stored, by the engine's own path on a :class:`RebuildStore`, the
   backfill's :class:`~milestones.store.replay.ReplayStore` whose new user targets take
   back the id the same customer's target in the same period had, and whose own
   notifications are dropped (the rebuild notifies what changed, not what was replayed);
4. :meth:`GroupState.put_back` stores what the reckoning keeps
   (:func:`milestones.domain.rebuild.reckon`).

Other groups' rows are never read for writing: their user targets, ledger entries and
excess rows stay as they were, to the thousandth.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, func, select

from milestones.domain.customer_periods import ZoneHistory
from milestones.domain.notifications import Notice
from milestones.domain.outcomes import ContributionKind
from milestones.domain.placement import cut_per_customer
from milestones.domain.progress import UserTarget
from milestones.domain.rebuild import Context, Key, Reckoning, Standing
from milestones.domain.streaks import CareRecord
from milestones.domain.target_groups import TargetGroup
from milestones.store.bulk import BulkSql
from milestones.store.customers import batch_zones_of, batch_zones_read
from milestones.store.ledger import Packed, pack, unpack
from milestones.store.replay import ReplayStore, StoredEvent, inside_dates, stored_event
from milestones.store.streak_care import StreakCareRepository
from milestones.store.tables import (
    contributions,
    events,
    user_cycles,
    user_group_periods,
    user_milestones,
    user_target_days,
    user_targets,
)
from milestones.store.types import money_to_stored
from milestones.store.user_targets import USER_TARGET_READ, user_target_read

CUSTOMERS_READ = 500  # customers a chunk looks at, at most


def customers_to_rebuild(
    connection: Connection, group: TargetGroup, after_user: int, max_events: int
) -> list[int]:
    """The next customers of the group after ``after_user``, in user id order: those with
    events inside its dates or rows in it, as many as hold ``max_events`` events between
    them (always one at least: a customer is never split)."""
    counted = connection.execute(
        select(events.c.user_id, func.count())
        .where(events.c.org_id == group.org_id, events.c.user_id > after_user, *inside_dates(group))
        .group_by(events.c.user_id)
        .order_by(events.c.user_id)
        .limit(CUSTOMERS_READ)
    ).all()
    holding = connection.execute(
        select(user_targets.c.user_id)
        .where(user_targets.c.user_id > after_user, user_targets.c.target_group_id == group.id)
        .group_by(user_targets.c.user_id)
        .order_by(user_targets.c.user_id)
        .limit(CUSTOMERS_READ)
    ).all()
    load = {int(user): int(count) for user, count in counted}
    found = sorted(load.keys() | {int(row[0]) for row in holding})
    # A list cut at its limit may lack customers after its last one.
    horizons = [int(rows[-1][0]) for rows in (counted, holding) if len(rows) == CUSTOMERS_READ]
    if horizons:
        found = [user for user in found if user <= min(horizons)]
    chosen: list[int] = []
    total = 0
    for user in found:
        total += load.get(user, 0)
        if chosen and total > max_events:
            break
        chosen.append(user)
    return chosen


def count_customers(connection: Connection, group: TargetGroup) -> int:
    """How many customers a rebuild of the group goes through (as it starts)."""
    with_events = select(events.c.user_id).where(
        events.c.org_id == group.org_id, *inside_dates(group)
    )
    with_rows = select(user_targets.c.user_id).where(user_targets.c.target_group_id == group.id)
    union = with_events.union(with_rows).subquery()
    return int(connection.execute(select(func.count()).select_from(union)).scalar_one())


def events_of(
    connection: Connection, group: TargetGroup, user_ids: Sequence[int]
) -> list[StoredEvent]:
    """The customers' stored events inside the group's dates, in the order they were stored."""
    columns = (events.c.id, events.c.event_name, events.c.user_id, events.c.payload)
    rows = connection.execute(
        select(*columns)
        .where(
            events.c.org_id == group.org_id,
            events.c.user_id.in_(list(user_ids)),
            *inside_dates(group),
        )
        .order_by(events.c.id)
    ).all()
    return [stored_event(*row) for row in rows]


class GroupState:
    """Some customers' state in one group: read, taken out, put back."""

    def __init__(self, connection: Connection, group: TargetGroup) -> None:
        self._db = connection
        self._bulk = BulkSql(connection)
        self.group = group

    def standing(self, user_ids: Sequence[int]) -> Standing:
        """Their user targets of the group (every target's), milestones, group achievements."""
        bulk = self._bulk
        by_id: dict[int, UserTarget] = {}
        for row in bulk.select(
            f"SELECT {USER_TARGET_READ} FROM user_targets"
            " WHERE org_id = ? AND target_group_id = ? AND user_id {among}",
            (self.group.org_id, self.group.id),
            among=list(user_ids),
        ):
            by_id[row[0]] = user_target_read(bulk, row)
        if by_id:
            for user_target_id, trigger_id, at in bulk.select(
                "SELECT user_target_id, trigger_id, achieved_at FROM user_milestones"
                " WHERE user_target_id {among}",
                (),
                among=sorted(by_id),
            ):
                by_id[user_target_id].milestones[trigger_id] = bulk.instant_of(at)
        achieved = {
            (period_id, user_id): bulk.instant_of(at)
            for period_id, user_id, at in bulk.select(
                "SELECT period_id, user_id, achieved_at FROM user_group_periods"
                " WHERE target_group_id = ? AND user_id {among}",
                (self.group.id,),
                among=list(user_ids),
            )
        }
        return Standing.of(by_id.values(), achieved)

    def context(self, user_ids: Sequence[int], now: datetime) -> Context:
        """What the derived achievements need: care records, and zones where periods follow them."""
        group = self.group
        care: dict[int, CareRecord] = {}
        if group.tracking_type.is_streak:
            records = StreakCareRepository(self._db).records_of(user_ids, [group.id])
            care = {user_id: record for (_, user_id), record in records.items()}
        zones: dict[int, list[tuple[datetime, str | None]]] = {}
        if cut_per_customer(group):
            [rows] = self._bulk.read_all([batch_zones_read(group.org_id, user_ids)])
            batch_zones_of(self._bulk, rows, zones)
        histories: dict[int, ZoneHistory] = dict(zones)
        return Context(group, now, care, histories)

    def take_out(self, old: Standing, user_ids: Sequence[int]) -> dict[Key, int]:
        """Remove what the replay makes anew: rows of the group's active targets (an
        inactive target counts nothing now, so its rows stay as they were), the customers'
        anchors and group achievements, and the group's entries in their events' ledgers.
        Returns the ids of the rows taken out, by key."""
        active = active_targets(self.group)
        taken = {key: ut.id for key, ut in old.user_targets.items() if ut.target_id in active}
        ids = sorted(taken.values())
        bulk = self._bulk
        keys: list[tuple[object, ...]] = [(user_target_id,) for user_target_id in ids]
        bulk.delete(user_milestones, ("user_target_id",), keys)
        bulk.delete(user_target_days, ("user_target_id",), keys)
        for start in range(0, len(ids), CUSTOMERS_READ):  # EXCESS rows: the only ones kept
            self._db.execute(
                delete(contributions).where(
                    contributions.c.kind == ContributionKind.EXCESS.value,
                    contributions.c.user_target_id.in_(ids[start : start + CUSTOMERS_READ]),
                )
            )
        bulk.delete(user_targets, ("id",), keys)
        customers: list[tuple[object, ...]] = [(self.group.id, user_id) for user_id in user_ids]
        bulk.delete(user_cycles, ("target_group_id", "user_id"), customers)
        bulk.delete(user_group_periods, ("target_group_id", "user_id"), customers)
        self._empty_ledgers(set(ids), user_ids)
        return taken

    def _empty_ledgers(self, ids: set[int], user_ids: Sequence[int]) -> None:
        if not ids:
            return
        bulk = self._bulk
        rewritten: list[tuple[object, ...]] = []
        for pk, packed in bulk.select(
            "SELECT id, ledger FROM events WHERE org_id = ? AND ledger IS NOT NULL"
            " AND user_id {among}",
            (self.group.org_id,),
            among=list(user_ids),
        ):
            entries = unpack(packed)
            kept: list[Packed | None] = [
                None if entry is not None and entry[0] in ids else entry for entry in entries
            ]
            if kept == entries:
                continue
            while kept and kept[-1] is None:
                kept.pop()  # nothing after them: no other entry's position moves
            rewritten.append((pack(kept) if kept else None, pk))
        bulk.update(events, ("ledger",), ("id",), rewritten)

    def put_back(self, reckoning: Reckoning, now: datetime) -> None:
        """Store what the reckoning kept beyond the replay: achievements, milestones and
        enrolment times given back, rows kept for their achievements, group times."""
        bulk = self._bulk
        instant, optional = bulk.instant, bulk.optional_instant
        at_now = instant(now)
        bulk.update(
            user_targets,
            ("achieved_at", "enrolled_at", "updated_at"),
            ("id",),
            [
                (optional(ut.achieved_at), optional(ut.enrolled_at), at_now, ut.id)
                for ut in reckoning.amended
            ],
        )
        group = self.group
        ranked = bulk.flag(group.leaderboard_enabled)
        bulk.insert(
            user_targets,
            (
                "id",
                "org_id",
                "target_group_id",
                "target_id",
                "period_id",
                "user_id",
                "slot",
                "starts_at",
                "ends_at",
                "target_value",
                "achieved_value",
                "achieved_at",
                "enrolled_at",
                "updated_at",
                "reached_at",
                "ranked",
            ),
            [
                (
                    ut.id,
                    group.org_id,
                    group.id,
                    ut.target_id,
                    ut.period_id,
                    ut.user_id,
                    ut.slot,
                    instant(ut.starts_at),
                    instant(ut.ends_at),
                    money_to_stored(ut.target_value),
                    money_to_stored(ut.achieved_value),
                    optional(ut.achieved_at),
                    instant(ut.enrolled_at or now),
                    at_now,
                    None,
                    ranked,
                )
                for ut in reckoning.restored
            ],
        )
        bulk.upsert(
            user_milestones,
            ("user_target_id", "trigger_id"),
            ("achieved_at",),
            [
                (ut.id, trigger_id, instant(at))
                for ut in (*reckoning.amended, *reckoning.restored)
                for trigger_id, at in ut.milestones.items()
            ],
        )
        bulk.upsert(
            user_group_periods,
            ("target_group_id", "period_id", "user_id"),
            ("achieved_at",),
            [
                (group.id, period_id, user_id, instant(at))
                for (period_id, user_id), at in reckoning.group_times.items()
            ],
        )


def active_targets(group: TargetGroup) -> set[int]:
    """The targets a rebuild recomputes: the active ones (only they count events now)."""
    return {target.id for target in group.targets if target.active}


class RebuildStore(ReplayStore):
    """The backfill's replay store for a rebuild: a customer's target in a period gets back
    the id it had (``ids``, of rows taken out), a returned bill shows only what it brought
    to the rows rebuilt (an inactive target's kept rows have had its returns already), and
    the replay's notices are not written."""

    def __init__(
        self, connection: Connection, group: TargetGroup, pks: list[int], ids: dict[Key, int]
    ) -> None:
        super().__init__(connection, group, pks)
        self.ids = ids
        self._floor = max(ids.values(), default=0)
        self._active = sorted(active_targets(group))

    def _of_group(self, user_target_ids: set[int]) -> set[int]:
        if not user_target_ids:
            return set()
        rows = self._db.execute(
            select(user_targets.c.id).where(
                user_targets.c.id.in_(sorted(user_target_ids)),
                user_targets.c.target_group_id == self.group.id,
                user_targets.c.target_id.in_(self._active),
            )
        ).all()
        return {int(row[0]) for row in rows}

    def notify(self, org_id: int, now: datetime, notices: Sequence[Notice]) -> None:
        """Dropped: the rebuild notifies what changed, once the chunk is reckoned."""

    def _new_user_target_ids(self, new: list[UserTarget]) -> list[int]:
        keys = [(ut.target_id, ut.period_id, ut.user_id) for ut in new]
        missing = sum(1 for key in keys if key not in self.ids)
        allocated = iter(self._fresh_ids(missing))
        return [self.ids[key] if key in self.ids else next(allocated) for key in keys]

    def _fresh_ids(self, count: int) -> list[int]:
        """New ids above the ones taken out (SQLite draws from ``max(id)``, which may be
        below them now; PostgreSQL's sequence is above them already)."""
        if count == 0:
            return []
        ids = self._allocate_ids(user_targets, count)
        if ids[0] <= self._floor:
            shift = self._floor + 1 - ids[0]
            ids = [value + shift for value in ids]
        return ids
