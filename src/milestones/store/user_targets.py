"""Reading a customer's progress rows back as domain user targets."""

from __future__ import annotations

from typing import Any

from milestones.domain.progress import UserTarget
from milestones.store.bulk import BulkSql
from milestones.store.types import money_from_stored

# The columns :func:`user_target_read` maps, in its order.
USER_TARGET_READ = (
    "id, target_id, period_id, user_id, slot, starts_at, ends_at, target_value, "
    "achieved_value, achieved_at, enrolled_at, reached_at"
)
USER_TARGET_WIDTH = len(USER_TARGET_READ.split(","))


def user_target_read(bulk: BulkSql, row: tuple[Any, ...]) -> UserTarget:
    """A row of :data:`USER_TARGET_READ` columns as read by ``bulk`` (milestones apart)."""
    return UserTarget(
        id=row[0],
        target_id=row[1],
        period_id=row[2],
        user_id=row[3],
        slot=row[4],
        starts_at=bulk.instant_of(row[5]),
        ends_at=bulk.instant_of(row[6]),
        target_value=money_from_stored(row[7]),
        achieved_value=money_from_stored(row[8]),
        achieved_at=bulk.optional_instant_of(row[9]),
        enrolled_at=bulk.instant_of(row[10]),
        reached_at=bulk.optional_instant_of(row[11]),
    )
