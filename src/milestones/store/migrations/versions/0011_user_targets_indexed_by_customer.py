"""User targets: one index by customer, a leaderboard index only for ranked groups

Every ``user_targets`` row an event opens paid for four B-trees: the primary key, the
unique (target, period, customer), (org, customer) for loading a batch's customers, and
(target, period, achieved value) for leaderboards, the last one also moved by every
change of value. Measured on SQLite with the ingest benchmark's rows (61 per event),
the two secondary indexes cost about as much as the table itself.

- The unique index now starts with the customer: (customer, target, period). It keeps
  a customer from holding two rows of one target and period, and it is what a batch and
  the user view read by (``user_id = ?`` / ``user_id IN (...)``), so the (org, customer)
  index goes.
- ``ranked`` marks the rows of groups with a leaderboard; the leaderboard index is
  partial, over ranked rows only, so groups without a leaderboard pay nothing for it.
  A group that turns its leaderboard on or off re-marks its rows.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_RANKED = "ranked = true"


def upgrade() -> None:
    op.drop_index("ix_user_targets_org_user", table_name="user_targets")
    op.drop_index("ix_user_targets_target_period_value", table_name="user_targets")
    with op.batch_alter_table("user_targets") as batch:
        batch.drop_constraint("uq_user_targets_target_period_user", type_="unique")
        batch.add_column(
            sa.Column("ranked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE user_targets SET ranked = true WHERE target_group_id IN"
        " (SELECT id FROM target_groups WHERE leaderboard_enabled = true)"
    )
    op.create_index(
        "uq_user_targets_user_target_period",
        "user_targets",
        ["user_id", "target_id", "period_id"],
        unique=True,
    )
    op.create_index(
        "ix_user_targets_board",
        "user_targets",
        ["target_id", "period_id", "achieved_value"],
        sqlite_where=sa.text(_RANKED),
        postgresql_where=sa.text(_RANKED),
    )


def downgrade() -> None:
    op.drop_index("ix_user_targets_board", table_name="user_targets")
    op.drop_index("uq_user_targets_user_target_period", table_name="user_targets")
    with op.batch_alter_table("user_targets") as batch:
        batch.drop_column("ranked")
        batch.create_unique_constraint(
            "uq_user_targets_target_period_user", ["target_id", "period_id", "user_id"]
        )
    op.create_index("ix_user_targets_org_user", "user_targets", ["org_id", "user_id"])
    op.create_index(
        "ix_user_targets_target_period_value",
        "user_targets",
        ["target_id", "period_id", "achieved_value"],
    )
