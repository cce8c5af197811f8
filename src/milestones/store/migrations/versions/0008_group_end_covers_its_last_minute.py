"""A CYCLIC or AGNOSTIC group whose end is written in a day's last minute covers that day

Until now such a group stopped at the exact ``targetCycleEndDate`` as an exclusive end, so
``…23:59:59.000`` left out the day's last second (and showed ``…23:59:58.999``). The
engine now reads an end in a local day's last minute as the end of that day
(``domain.periods.group_close``); this moves the stored slots, and the customers' slots
and clipped last cycles, that still end at the old instant. ``target_groups.cycle_end``
keeps what the client sent. Events already refused for that last second are not replayed.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Instant

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_groups = sa.table(
    "target_groups",
    sa.column("id", sa.BigInteger()),
    sa.column("evaluation_type", sa.String()),
    sa.column("cycle_end", Instant()),
    sa.column("time_zone", sa.String()),
)
_windows = [
    sa.table(name, sa.column("target_group_id", sa.BigInteger()), sa.column("ends_at", Instant()))
    for name in ("periods", "user_targets")
]


def _day_end(end: datetime, zone: ZoneInfo) -> datetime:
    """The rule as it stood when this migration was written (not imported: a migration
    must keep meaning what it meant)."""
    local = end.astimezone(zone)
    if local.hour == 23 and local.minute == 59:
        next_day = local.date() + timedelta(days=1)
        return datetime.combine(next_day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    return end.astimezone(UTC)


def _moved_ends() -> Iterator[tuple[int, datetime, datetime]]:
    """(group id, the old exclusive end, the new one) of each group whose end moves."""
    rows = op.get_bind().execute(
        sa.select(_groups.c.id, _groups.c.cycle_end, _groups.c.time_zone).where(
            _groups.c.evaluation_type.in_(["CYCLIC_WINDOW", "PERIOD_AGNOSTIC_WINDOW"]),
            _groups.c.cycle_end.is_not(None),
        )
    )
    for group_id, end, zone in rows.all():
        closes_at = _day_end(end, ZoneInfo(zone))
        if closes_at != end:
            yield group_id, end.astimezone(UTC), closes_at


def _move(group_id: int, old: datetime, new: datetime) -> None:
    for table in _windows:
        op.get_bind().execute(
            sa.update(table)
            .where(table.c.target_group_id == group_id, table.c.ends_at == old)
            .values(ends_at=new)
        )


def upgrade() -> None:
    for group_id, end, closes_at in list(_moved_ends()):
        _move(group_id, end, closes_at)


def downgrade() -> None:
    for group_id, end, closes_at in list(_moved_ends()):
        _move(group_id, closes_at, end)
