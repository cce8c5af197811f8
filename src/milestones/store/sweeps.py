"""The streak sweeper's SQL (SPEC §17): what it sweeps, what it reads, what it has told.

A group is swept a chunk of customers at a time. Each chunk's transaction first takes the
group's ``streak_sweeps`` row (``FOR UPDATE`` on PostgreSQL; SQLite's write lock already
serialises writers), then reads the marks already stored: two sweepers on one group wait
for each other per chunk, and the second sees the first one's marks, so nothing is told
twice. The cursor (``swept_until``) moves only with the last chunk.

Reads are driver-level (:class:`~milestones.store.bulk.BulkSql`): a sweep at a daily
period end reads every customer of every streak group.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from milestones.domain.orgs import Org
from milestones.domain.progress import UserTarget
from milestones.domain.streaks import CareRecord
from milestones.domain.target_groups import TargetGroup, TrackingType
from milestones.store.bulk import BulkSql
from milestones.store.customers import ZoneHistories, batch_zones_of, batch_zones_read
from milestones.store.orgs import OrgRepository
from milestones.store.streak_care import StreakCareRepository
from milestones.store.tables import streak_marks
from milestones.store.target_groups import TargetGroupRepository
from milestones.store.user_targets import USER_TARGET_READ, user_target_read

_STREAK_TYPES = (TrackingType.STREAKS.value, TrackingType.NON_CONTINUOUS_STREAKS.value)
_MARK_COLUMNS = ("target_group_id", "user_id", "period_id", "kind")

Mark = tuple[int, int, str]  # (user id, period id, kind)
Key = tuple[int, int, int]  # (target id, period id, user id)


class Standing:
    """A chunk of a group's customers as the sweep reads them: their achieved user targets
    (kept as read, made into :class:`UserTarget` only when a walk asks: most customers of
    a sweep are ruled out by what they achieved, without a walk), and for those walked,
    their group achievements."""

    def __init__(self, bulk: BulkSql) -> None:
        self._bulk = bulk
        self._rows: dict[Key, tuple[Any, ...]] = {}
        self._made: dict[Key, UserTarget] = {}
        # user id -> the (target id, period id) the customer achieved
        self.achieved: dict[int, set[tuple[int, int]]] = {}
        # (period id, user id) -> when the group as a whole was achieved
        self.group_periods: dict[tuple[int, int], datetime] = {}
        self.care: dict[int, CareRecord] = {}  # by user id
        self.zones: ZoneHistories = {}  # by user id, for a per-customer group's windows

    def add(self, row: tuple[Any, ...]) -> None:
        """A row of :data:`USER_TARGET_READ` columns, of an achieved user target."""
        target_id, period_id, user_id = row[1], row[2], row[3]
        self._rows[(target_id, period_id, user_id)] = row
        self.achieved.setdefault(user_id, set()).add((target_id, period_id))

    def user_target(self, target_id: int, period_id: int, user_id: int) -> UserTarget | None:
        key = (target_id, period_id, user_id)
        made = self._made.get(key)
        if made is None:
            row = self._rows.get(key)
            if row is None:
                return None
            made = self._made[key] = user_target_read(self._bulk, row)
        return made


class SweepRepository:
    """The groups to sweep, their customers' standing, marks and cursors."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._bulk = BulkSql(connection)
        self._postgres = connection.dialect.name == "postgresql"

    def orgs(self) -> list[Org]:
        ids = [row[0] for row in self._bulk.rows("SELECT id FROM orgs ORDER BY id", ())]
        repository = OrgRepository(self._db)
        return [org for org_id in ids if (org := repository.get_org(org_id)) is not None]

    def streak_groups(self, org_id: int) -> list[TargetGroup]:
        """The org's STREAKS and NON_CONTINUOUS_STREAKS groups, in id order."""
        ids = [
            row[0]
            for row in self._bulk.select(
                "SELECT id FROM target_groups WHERE org_id = ? AND tracking_type {among}"
                " ORDER BY id",
                (org_id,),
                among=_STREAK_TYPES,
            )
        ]
        return TargetGroupRepository(self._db).load(ids)

    def cursors(self, group_ids: Sequence[int]) -> dict[int, datetime]:
        """How far each group has been swept (a group never swept has no entry)."""
        if not group_ids:
            return {}
        return {
            group_id: self._bulk.instant_of(until)
            for group_id, until in self._bulk.select(
                "SELECT target_group_id, swept_until FROM streak_sweeps"
                " WHERE target_group_id {among}",
                (),
                among=list(group_ids),
            )
        }

    def customers(self, group_ids: Sequence[int]) -> dict[int, list[int]]:
        """Each group's customers with a user target in it, in order (no other can have a
        run): one pass over ``user_targets`` for all the groups (it has no index by group)."""
        found: dict[int, list[int]] = {group_id: [] for group_id in group_ids}
        if not group_ids:
            return found
        for group_id, user_id in self._bulk.select(
            "SELECT DISTINCT target_group_id, user_id FROM user_targets"
            " WHERE target_group_id {among}",
            (),
            among=list(group_ids),
        ):
            found[group_id].append(user_id)
        for users in found.values():
            users.sort()
        return found

    def hold(self, group_id: int, swept_until: datetime) -> None:
        """Take the group's cursor row until the transaction ends (made if missing)."""
        until = self._bulk.instant(swept_until)
        self._db.exec_driver_sql(
            self._marks(
                "INSERT INTO streak_sweeps (target_group_id, swept_until) VALUES (?, ?)"
                " ON CONFLICT (target_group_id) DO NOTHING"
            ),
            (group_id, until),
        )
        if self._postgres:
            self._db.exec_driver_sql(
                "SELECT 1 FROM streak_sweeps WHERE target_group_id = %s FOR UPDATE", (group_id,)
            )

    def care_records(self, group_id: int) -> dict[int, CareRecord]:
        """Every customer's care record in the group (few: support grants and repairs)."""
        return StreakCareRepository(self._db).records_of_group(group_id)

    def standing(
        self, group: TargetGroup, user_ids: Sequence[int], care: dict[int, CareRecord]
    ) -> Standing:
        """The customers' achieved user targets in the group's periods (a period's outcome
        rests on those alone); their care records are the group's (:meth:`care_records`)."""
        found = Standing(self._bulk)
        found.care = care
        target_ids = ", ".join(str(target.id) for target in group.targets)
        if not user_ids or not target_ids:
            return found
        for row in self._bulk.select(
            f"SELECT {USER_TARGET_READ} FROM user_targets"
            f" WHERE target_id IN ({target_ids}) AND user_id {{among}}"
            " AND achieved_at IS NOT NULL",
            (),
            among=user_ids,
        ):
            found.add(row)
        return found

    def zones(self, org_id: int, user_ids: Sequence[int], standing: Standing) -> None:
        """Add the customers' zone histories to ``standing`` (a per-customer group's)."""
        if user_ids:
            [rows] = self._bulk.read_all([batch_zones_read(org_id, user_ids)])
            batch_zones_of(self._bulk, rows, standing.zones)

    def group_periods(
        self, group: TargetGroup, user_ids: Sequence[int], standing: Standing
    ) -> None:
        """Add the customers' group achievements in the group's periods to ``standing``."""
        period_ids = ", ".join(str(period.id) for period in group.periods)
        if not user_ids or not period_ids:
            return
        bulk = self._bulk
        # By the whole primary key (group, period, user): the periods are few.
        for period_id, user_id, at in bulk.select(
            "SELECT period_id, user_id, achieved_at FROM user_group_periods"
            f" WHERE target_group_id = ? AND period_id IN ({period_ids}) AND user_id {{among}}",
            (group.id,),
            among=user_ids,
        ):
            standing.group_periods[(period_id, user_id)] = bulk.instant_of(at)

    def marks(self, group_id: int, user_ids: Collection[int]) -> set[Mark]:
        """What has been told already to ``user_ids`` in the group."""
        if not user_ids:
            return set()
        return {
            (user_id, period_id, kind)
            for user_id, period_id, kind in self._bulk.select(
                "SELECT user_id, period_id, kind FROM streak_marks"
                " WHERE target_group_id = ? AND user_id {among}",
                (group_id,),
                among=sorted(user_ids),
            )
        }

    def add_marks(self, group_id: int, marks: Collection[Mark]) -> None:
        rows: list[tuple[object, ...]] = [(group_id, *mark) for mark in sorted(marks)]
        self._bulk.insert(streak_marks, _MARK_COLUMNS, rows)

    def move(self, group_id: int, swept_until: datetime) -> None:
        """Set the group's cursor (its row is held: :meth:`hold`)."""
        self._db.exec_driver_sql(
            self._marks("UPDATE streak_sweeps SET swept_until = ? WHERE target_group_id = ?"),
            (self._bulk.instant(swept_until), group_id),
        )

    def _marks(self, statement: str) -> str:
        return statement.replace("?", "%s") if self._postgres else statement


__all__ = ["Mark", "Standing", "SweepRepository"]
