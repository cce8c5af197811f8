"""Leaderboard ties in business time (SPEC §13): ``user_targets.reached_at``

The eventTime of the contribution that brought a user target's value to where it stands
(the latest eventTime that moved it). Leaderboards break ties on it, not on the
processing time. Existing rows take the latest eventTime of their ledger rows.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Instant

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_targets") as batch:
        batch.add_column(sa.Column("reached_at", Instant(), nullable=True))
    op.execute(
        "UPDATE user_targets SET reached_at = latest.at FROM ("
        " SELECT c.user_target_id AS id, max(e.event_time) AS at"
        " FROM contributions c JOIN events e ON e.id = c.event_pk"
        " WHERE c.amount <> 0 GROUP BY c.user_target_id"
        ") AS latest WHERE user_targets.id = latest.id"
    )


def downgrade() -> None:
    with op.batch_alter_table("user_targets") as batch:
        batch.drop_column("reached_at")
