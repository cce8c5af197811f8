"""Streak care (SPEC §17): freezes, repairs, customer time zones, the sweeper's marks

``target_groups`` gains the care settings (``streakFreezes``, ``repairWindowDays``,
``maxRepairs``, ``atRiskHours``) and ``period_zone`` (``GROUP`` or ``CUSTOMER``);
``streak_care_versions`` keeps the settings a PUT replaced, each with the instant it
stopped applying, so a period that ended before a change keeps the rules it ended under.
``customer_zones`` keeps every zone a customer's profile has held, with when it was set:
a changed zone applies from the customer's next period, so past periods are laid out
from this history and never move. ``streak_freeze_grants`` and ``streak_repairs`` are
what support did; ``streak_marks`` what the sweeper has already notified (once each), and
``streak_sweeps`` how far it has swept each group.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Id, Instant

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("target_groups") as batch:
        batch.add_column(sa.Column("freezes_max_held", sa.Integer()))
        batch.add_column(sa.Column("freezes_grant_every", sa.Integer()))
        batch.add_column(sa.Column("repair_window_days", sa.Integer()))
        batch.add_column(sa.Column("max_repairs", sa.Integer()))
        batch.add_column(sa.Column("at_risk_hours", sa.Integer()))
        batch.add_column(
            sa.Column("period_zone", sa.String(16), nullable=False, server_default="GROUP")
        )
    op.create_table(
        "streak_care_versions",
        sa.Column("id", Id, primary_key=True),
        sa.Column("target_group_id", sa.BigInteger(), nullable=False),
        sa.Column("until", Instant(), nullable=False),
        sa.Column("freezes_max_held", sa.Integer()),
        sa.Column("freezes_grant_every", sa.Integer()),
        sa.Column("repair_window_days", sa.Integer()),
        sa.Column("max_repairs", sa.Integer()),
        sa.Column("at_risk_hours", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_streak_care_versions"),
    )
    op.create_index(
        "ix_streak_care_versions_target_group_id", "streak_care_versions", ["target_group_id"]
    )
    op.create_table(
        "customer_zones",
        sa.Column("id", Id, primary_key=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("changed_at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customer_zones"),
    )
    op.create_index("ix_customer_zones_customer", "customer_zones", ["org_id", "user_id", "id"])
    op.create_table(
        "streak_freeze_grants",
        sa.Column("id", Id, primary_key=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("target_group_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("granted_at", Instant(), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_streak_freeze_grants"),
    )
    op.create_index(
        "ix_streak_freeze_grants_customer",
        "streak_freeze_grants",
        ["user_id", "target_group_id"],
    )
    op.create_table(
        "streak_repairs",
        sa.Column("id", Id, primary_key=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("target_group_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("repaired_at", Instant(), nullable=False),
        sa.Column("repaired_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_streak_repairs"),
        sa.UniqueConstraint(
            "user_id", "target_group_id", "period_id", name="uq_streak_repairs_user_id"
        ),
    )
    op.create_table(
        "streak_marks",
        sa.Column("target_group_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint(
            "target_group_id", "user_id", "period_id", "kind", name="pk_streak_marks"
        ),
    )
    op.create_table(
        "streak_sweeps",
        sa.Column("target_group_id", sa.BigInteger(), autoincrement=False),
        sa.Column("swept_until", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("target_group_id", name="pk_streak_sweeps"),
    )


def downgrade() -> None:
    op.drop_table("streak_sweeps")
    op.drop_table("streak_marks")
    op.drop_table("streak_repairs")
    op.drop_index("ix_streak_freeze_grants_customer", "streak_freeze_grants")
    op.drop_table("streak_freeze_grants")
    op.drop_index("ix_customer_zones_customer", "customer_zones")
    op.drop_table("customer_zones")
    op.drop_index("ix_streak_care_versions_target_group_id", "streak_care_versions")
    op.drop_table("streak_care_versions")
    # Dropped in place (SQLite 3.35+ and PostgreSQL): a batch would copy target_groups,
    # which other tables' foreign keys point at.
    for column in (
        "period_zone",
        "at_risk_hours",
        "max_repairs",
        "repair_window_days",
        "freezes_grant_every",
        "freezes_max_held",
    ):
        op.drop_column("target_groups", column)
