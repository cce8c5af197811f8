"""Reading a customer's progress rows back as domain user targets."""

from __future__ import annotations

from sqlalchemy import RowMapping

from milestones.domain.progress import UserTarget


def user_target_of(row: RowMapping) -> UserTarget:
    """A ``user_targets`` row as a :class:`UserTarget` (milestones are loaded separately)."""
    return UserTarget(
        id=row["id"],
        target_id=row["target_id"],
        period_id=row["period_id"],
        user_id=row["user_id"],
        slot=row["slot"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        target_value=row["target_value"],
        achieved_value=row["achieved_value"],
        achieved_at=row["achieved_at"],
        enrolled_at=row["enrolled_at"],
    )
