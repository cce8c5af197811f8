"""The SQL of leaderboards: customers of one target and period ranked by achieved value.

The order is total, so ranks are deterministic: achieved value descending; then who
achieved the target first (``achieved_at``, customers who have not achieved it after
those who have); then who reached their value first (``updated_at``, the instant the
engine last changed the user target); then ``userId`` ascending. Only customers with a
value above zero are ranked.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from milestones.store.tables import target_groups, user_targets

_ut = user_targets.c
_ORDER = (_ut.achieved_value.desc(), _ut.achieved_at.is_(None), _ut.achieved_at, _ut.updated_at)


@dataclass(frozen=True, slots=True)
class Ranked:
    """One customer's place on a leaderboard."""

    rank: int
    user_id: int
    value: Decimal
    achieved_at: datetime | None


class LeaderboardRepository:
    """Ranks customers; each answer is one or two queries on the (target, period) index."""

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
            select(_ut.achieved_value, _ut.achieved_at, _ut.updated_at).where(
                *_board(target_id, period_id), _ut.user_id == user_id
            )
        ).first()
        if row is None:
            return None
        value, achieved_at, updated_at = row
        ahead = select(func.count()).where(
            *_board(target_id, period_id),
            _ahead_of(value, achieved_at, updated_at, user_id),
        )
        return Ranked(int(self._db.execute(ahead).scalar_one()) + 1, user_id, value, achieved_at)


def _board(target_id: int, period_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        _ut.target_id == target_id,
        _ut.period_id == period_id,
        _ut.achieved_value > Decimal(0),
    )


def _ahead_of(
    value: Decimal, achieved_at: datetime | None, updated_at: datetime, user_id: int
) -> ColumnElement[bool]:
    """Rows that sort before ``(value, achieved_at, updated_at, user_id)`` in ``_ORDER``."""
    later_tie = or_(
        _ut.updated_at < updated_at, and_(_ut.updated_at == updated_at, _ut.user_id < user_id)
    )
    if achieved_at is None:
        same_value = or_(_ut.achieved_at.is_not(None), and_(_ut.achieved_at.is_(None), later_tie))
    else:
        same_value = or_(
            _ut.achieved_at < achieved_at,
            and_(_ut.achieved_at == achieved_at, later_tie),
        )
    return or_(_ut.achieved_value > value, and_(_ut.achieved_value == value, same_value))
