"""event engine: events, ledger, user targets, enrolments, audiences

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:09:52.559457
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Instant, Money

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "target_groups",
        sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "audience_groups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_audience_groups_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_groups")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_name", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("event_time", Instant(), nullable=False),
        sa.Column("received_at", Instant(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bill_amount", Money(), nullable=True),
        sa.Column("returned_amount", Money(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_events_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("org_id", "event_id", name="uq_events_org_event"),
    )
    op.create_index("ix_events_org_user", "events", ["org_id", "user_id"], unique=False)
    op.create_table(
        "audience_members",
        sa.Column("audience_group_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audience_group_id"],
            ["audience_groups.id"],
            name=op.f("fk_audience_members_audience_group_id_audience_groups"),
        ),
        sa.PrimaryKeyConstraint("audience_group_id", "user_id", name=op.f("pk_audience_members")),
    )
    op.create_index("ix_audience_members_user", "audience_members", ["user_id"], unique=False)
    op.create_table(
        "user_cycles",
        sa.Column("target_group_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("anchor_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_group_id"],
            ["target_groups.id"],
            name=op.f("fk_user_cycles_target_group_id_target_groups"),
        ),
        sa.PrimaryKeyConstraint("target_group_id", "user_id", name=op.f("pk_user_cycles")),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("target_value", Money(), nullable=True),
        sa.Column("initial_value", Money(), nullable=True),
        sa.Column("reset_streak", sa.Boolean(), nullable=False),
        sa.Column("enrolled_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_enrolments_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint(
            "target_id", "user_id", "period_id", name="uq_enrolments_target_user_period"
        ),
    )
    op.create_index("ix_enrolments_org_user", "enrolments", ["org_id", "user_id"], unique=False)
    op.create_table(
        "user_targets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("target_group_id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("starts_at", Instant(), nullable=False),
        sa.Column("ends_at", Instant(), nullable=False),
        sa.Column("target_value", Money(), nullable=False),
        sa.Column("achieved_value", Money(), nullable=False),
        sa.Column("achieved_at", Instant(), nullable=True),
        sa.Column("enrolled_at", Instant(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_user_targets_period_id_periods")
        ),
        sa.ForeignKeyConstraint(
            ["target_group_id"],
            ["target_groups.id"],
            name=op.f("fk_user_targets_target_group_id_target_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_user_targets_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_targets")),
        sa.UniqueConstraint(
            "target_id", "period_id", "user_id", name="uq_user_targets_target_period_user"
        ),
    )
    op.create_index("ix_user_targets_org_user", "user_targets", ["org_id", "user_id"], unique=False)
    op.create_index(
        "ix_user_targets_target_period_value",
        "user_targets",
        ["target_id", "period_id", "achieved_value"],
        unique=False,
    )
    op.create_table(
        "contributions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_pk", sa.BigInteger(), nullable=False),
        sa.Column("user_target_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_pk"], ["events.id"], name=op.f("fk_contributions_event_pk_events")
        ),
        sa.ForeignKeyConstraint(
            ["user_target_id"],
            ["user_targets.id"],
            name=op.f("fk_contributions_user_target_id_user_targets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contributions")),
    )
    op.create_index("ix_contributions_event", "contributions", ["event_pk"], unique=False)
    op.create_index(
        "ix_contributions_user_target", "contributions", ["user_target_id"], unique=False
    )
    op.create_table(
        "user_milestones",
        sa.Column("user_target_id", sa.BigInteger(), nullable=False),
        sa.Column("trigger_id", sa.BigInteger(), nullable=False),
        sa.Column("achieved_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trigger_id"],
            ["milestone_triggers.id"],
            name=op.f("fk_user_milestones_trigger_id_milestone_triggers"),
        ),
        sa.ForeignKeyConstraint(
            ["user_target_id"],
            ["user_targets.id"],
            name=op.f("fk_user_milestones_user_target_id_user_targets"),
        ),
        sa.PrimaryKeyConstraint("user_target_id", "trigger_id", name=op.f("pk_user_milestones")),
    )
    op.create_table(
        "user_target_days",
        sa.Column("user_target_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("visited", sa.Boolean(), nullable=False),
        sa.Column("max_value", Money(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_target_id"],
            ["user_targets.id"],
            name=op.f("fk_user_target_days_user_target_id_user_targets"),
        ),
        sa.PrimaryKeyConstraint("user_target_id", "day", name=op.f("pk_user_target_days")),
    )


def downgrade() -> None:
    op.drop_column("target_groups", "revision")
    op.drop_table("user_target_days")
    op.drop_table("user_milestones")
    op.drop_index("ix_contributions_user_target", table_name="contributions")
    op.drop_index("ix_contributions_event", table_name="contributions")
    op.drop_table("contributions")
    op.drop_index("ix_user_targets_target_period_value", table_name="user_targets")
    op.drop_index("ix_user_targets_org_user", table_name="user_targets")
    op.drop_table("user_targets")
    op.drop_index("ix_enrolments_org_user", table_name="enrolments")
    op.drop_table("enrolments")
    op.drop_table("user_cycles")
    op.drop_index("ix_audience_members_user", table_name="audience_members")
    op.drop_table("audience_members")
    op.drop_index("ix_events_org_user", table_name="events")
    op.drop_table("events")
    op.drop_table("audience_groups")
