"""The SQL of leaderboards: customers of one target and period ranked by achieved value.

The order is total, so ranks are deterministic (SPEC §13): achieved value descending;
then who got there first in business time (``reached_at``, the eventTime of the
contribution that brought the value to where it stands, not when it was processed);
then ``userId`` ascending. Only customers with a value above zero are ranked.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Connection, TextClause, and_, func, or_, select, text

from milestones.store.tables import target_groups, user_targets

_ut = user_targets.c
_ORDER = (_ut.achieved_value.desc(), _ut.reached_at.is_(None), _ut.reached_at)


@dataclass(frozen=True, slots=True)
class Ranked:
    """One customer's place on a leaderboard."""

    rank: int
    user_id: int
    value: Decimal
    achieved_at: datetime | None


class LeaderboardRepository:
    """Ranks customers; each answer is one or two queries on the leaderboard index (the
    ranked rows, of groups with a leaderboard, by target, period and value)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def groups_in_scope(self, org_ids: Sequence[int], group_ids: Collection[int]) -> set[int]:
        """Which of ``group_ids`` belong to one of ``org_ids``."""
        rows = self._db.execute(
            select(target_groups.c.id).where(
                target_groups.c.id.in_(sorted(group_ids)),
                target_groups.c.org_id.in_(list(org_ids)),
            )
        )
        return {row[0] for row in rows}

    def total(self, target_id: int, period_id: int) -> int:
        """How many customers are ranked."""
        query = select(func.count()).where(*_board(target_id, period_id))
        return int(self._db.execute(query).scalar_one())

    def page(self, target_id: int, period_id: int, limit: int, offset: int) -> list[Ranked]:
        """Ranks ``offset + 1`` to ``offset + limit``."""
        query = (
            select(_ut.user_id, _ut.achieved_value, _ut.achieved_at)
            .where(*_board(target_id, period_id))
            .order_by(*_ORDER, _ut.user_id)
            .limit(limit)
            .offset(offset)
        )
        return [
            Ranked(offset + index, row[0], row[1], row[2])
            for index, row in enumerate(self._db.execute(query), start=1)
        ]

    def standing(self, target_id: int, period_id: int, user_id: int) -> Ranked | None:
        """One customer's rank, or None when they are not ranked."""
        row = self._db.execute(
            select(_ut.achieved_value, _ut.achieved_at, _ut.reached_at).where(
                *_board(target_id, period_id), _ut.user_id == user_id
            )
        ).first()
        if row is None:
            return None
        value, achieved_at, reached_at = row
        ahead = select(func.count()).where(
            *_board(target_id, period_id), _ahead_of(value, reached_at, user_id)
        )
        return Ranked(int(self._db.execute(ahead).scalar_one()) + 1, user_id, value, achieved_at)


# Written as the partial index's own condition, so the planner takes that index.
_RANKED = text("user_targets.ranked = true")


def _board(target_id: int, period_id: int) -> tuple[ColumnElement[bool] | TextClause, ...]:
    return (
        _RANKED,
        _ut.target_id == target_id,
        _ut.period_id == period_id,
        _ut.achieved_value > Decimal(0),
    )


def _ahead_of(value: Decimal, reached_at: datetime | None, user_id: int) -> ColumnElement[bool]:
    """Rows that sort before ``(value, reached_at, user_id)`` in ``_ORDER``."""
    same_time = and_(
        _ut.reached_at.is_(None) if reached_at is None else _ut.reached_at == reached_at,
        _ut.user_id < user_id,
    )
    earlier = _ut.reached_at.is_not(None) if reached_at is None else _ut.reached_at < reached_at
    return or_(
        _ut.achieved_value > value,
        and_(_ut.achieved_value == value, or_(earlier, same_time)),
    )
