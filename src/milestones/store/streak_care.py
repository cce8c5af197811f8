"""The SQL of streak care (SPEC §17): freeze grants, repairs, and the sweeper's marks.

A customer's record in a group (:class:`~milestones.domain.streaks.CareRecord`) is read for
the engine (the batch's customers), the user view (one customer) and the sweeper (a
group's customers); grants and repairs are indexed by customer first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from milestones.domain.streaks import CareRecord, FreezeGrant, Repair
from milestones.store.tables import streak_freeze_grants, streak_repairs

_CHUNK = 500

Key = tuple[int, int]  # (target group id, user id)


class StreakCareRepository:
    """Grants, repairs and what the sweeper has notified."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def grant(
        self, org_id: int, group_id: int, user_id: int, count: int, at: datetime, by: str
    ) -> None:
        self._db.execute(
            insert(streak_freeze_grants).values(
                org_id=org_id,
                target_group_id=group_id,
                user_id=user_id,
                count=count,
                granted_at=at,
                granted_by=by,
            )
        )

    def repair(
        self, org_id: int, group_id: int, user_id: int, period_id: int, at: datetime, by: str
    ) -> None:
        self._db.execute(
            insert(streak_repairs).values(
                org_id=org_id,
                target_group_id=group_id,
                user_id=user_id,
                period_id=period_id,
                repaired_at=at,
                repaired_by=by,
            )
        )

    def repairs_made(self, group_id: int, user_id: int) -> int:
        return int(
            self._db.execute(
                select(func.count()).where(
                    streak_repairs.c.user_id == user_id,
                    streak_repairs.c.target_group_id == group_id,
                )
            ).scalar_one()
        )

    def records_of(
        self, user_ids: Collection[int], group_ids: Collection[int]
    ) -> dict[Key, CareRecord]:
        """The care records of ``user_ids`` in ``group_ids`` (none read when either is empty)."""
        if not user_ids or not group_ids:
            return {}
        grants: dict[Key, list[FreezeGrant]] = {}
        repairs: dict[Key, list[Repair]] = {}
        groups = sorted(group_ids)
        for chunk in _chunks(sorted(user_ids)):
            for row in self._db.execute(
                select(
                    streak_freeze_grants.c.target_group_id,
                    streak_freeze_grants.c.user_id,
                    streak_freeze_grants.c.granted_at,
                    streak_freeze_grants.c.count,
                ).where(
                    streak_freeze_grants.c.user_id.in_(chunk),
                    streak_freeze_grants.c.target_group_id.in_(groups),
                )
            ):
                grants.setdefault((row[0], row[1]), []).append(FreezeGrant(row[2], row[3]))
            for made in self._db.execute(
                select(
                    streak_repairs.c.target_group_id,
                    streak_repairs.c.user_id,
                    streak_repairs.c.period_id,
                    streak_repairs.c.repaired_at,
                    streak_repairs.c.repaired_by,
                ).where(
                    streak_repairs.c.user_id.in_(chunk),
                    streak_repairs.c.target_group_id.in_(groups),
                )
            ):
                key = (made[0], made[1])
                repairs.setdefault(key, []).append(Repair(made[2], made[3], made[4]))
        return _records(grants, repairs)

    def records_of_group(self, group_id: int) -> dict[int, CareRecord]:
        """Every customer's care record in one group, by user id (for the sweeper)."""
        grants: dict[Key, list[FreezeGrant]] = {}
        repairs: dict[Key, list[Repair]] = {}
        for row in self._db.execute(
            select(
                streak_freeze_grants.c.user_id,
                streak_freeze_grants.c.granted_at,
                streak_freeze_grants.c.count,
            ).where(streak_freeze_grants.c.target_group_id == group_id)
        ):
            grants.setdefault((group_id, row[0]), []).append(FreezeGrant(row[1], row[2]))
        for made in self._db.execute(
            select(
                streak_repairs.c.user_id,
                streak_repairs.c.period_id,
                streak_repairs.c.repaired_at,
                streak_repairs.c.repaired_by,
            ).where(streak_repairs.c.target_group_id == group_id)
        ):
            repairs.setdefault((group_id, made[0]), []).append(Repair(made[1], made[2], made[3]))
        return {user_id: record for (_, user_id), record in _records(grants, repairs).items()}


def _records(
    grants: dict[Key, list[FreezeGrant]], repairs: dict[Key, list[Repair]]
) -> dict[Key, CareRecord]:
    return {
        key: CareRecord(
            tuple(sorted(grants.get(key, ()), key=lambda g: g.granted_at)),
            tuple(repairs.get(key, ())),
        )
        for key in grants.keys() | repairs.keys()
    }


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


__all__ = ["StreakCareRepository"]
