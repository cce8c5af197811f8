"""user_group_periods: when a group as a whole was achieved in a period

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Instant

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_group_periods",
        sa.Column("target_group_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("achieved_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_user_group_periods_period_id_periods")
        ),
        sa.ForeignKeyConstraint(
            ["target_group_id"],
            ["target_groups.id"],
            name=op.f("fk_user_group_periods_target_group_id_target_groups"),
        ),
        sa.PrimaryKeyConstraint(
            "target_group_id", "period_id", "user_id", name=op.f("pk_user_group_periods")
        ),
    )
    op.create_index("ix_user_group_periods_user", "user_group_periods", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_user_group_periods_user", table_name="user_group_periods")
    op.drop_table("user_group_periods")
