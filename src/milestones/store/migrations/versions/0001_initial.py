"""initial schema: orgs, clients, target groups

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:36:33.371960
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Instant, Money

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("retro_buffer_days", sa.Integer(), nullable=False),
        sa.Column("revoke_on_return", sa.Boolean(), nullable=False),
        sa.Column("leaderboards_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orgs")),
    )
    op.create_table(
        "api_clients",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_api_clients_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_clients_client_id")),
    )
    op.create_table(
        "org_connections",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("connected_org_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connected_org_id"], ["orgs.id"], name=op.f("fk_org_connections_connected_org_id_orgs")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_org_connections_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("org_id", "connected_org_id", name=op.f("pk_org_connections")),
    )
    op.create_table(
        "target_groups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("preferred_till_id", sa.BigInteger(), nullable=True),
        sa.Column("tracking_type", sa.String(length=32), nullable=False),
        sa.Column("evaluation_type", sa.String(length=32), nullable=False),
        sa.Column("frequency_type", sa.String(length=16), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("total_periods", sa.Integer(), nullable=False),
        sa.Column("recurring_cycles", sa.Integer(), nullable=False),
        sa.Column("cycle_start", Instant(), nullable=True),
        sa.Column("cycle_end", Instant(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("combination_type", sa.String(length=8), nullable=True),
        sa.Column("unified_aggregation", sa.String(length=8), nullable=True),
        sa.Column("unified_threshold", Money(), nullable=True),
        sa.Column("leaderboard_enabled", sa.Boolean(), nullable=False),
        sa.Column("user_created", sa.Boolean(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_target_groups_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_groups")),
        sa.UniqueConstraint("org_id", "name_key", name="uq_target_groups_org_name"),
    )
    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("api_client_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_clients.id"],
            name=op.f("fk_access_tokens_api_client_id_api_clients"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_access_tokens")),
    )
    op.create_table(
        "periods",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target_group_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ref_code", sa.String(length=100), nullable=False),
        sa.Column("starts_at", Instant(), nullable=False),
        sa.Column("ends_at", Instant(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_group_id"],
            ["target_groups.id"],
            name=op.f("fk_periods_target_group_id_target_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periods")),
    )
    op.create_index(
        "ix_periods_group_position", "periods", ["target_group_id", "position"], unique=True
    )
    op.create_table(
        "streaks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target_group_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target_count", sa.Integer(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_group_id"],
            ["target_groups.id"],
            name=op.f("fk_streaks_target_group_id_target_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streaks")),
    )
    op.create_index("ix_streaks_group", "streaks", ["target_group_id"], unique=False)
    op.create_table(
        "targets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target_group_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("target_entity", sa.String(length=32), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("event_name", sa.String(length=200), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("expression_json", sa.Text(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("enrolment_method", sa.String(length=32), nullable=False),
        sa.Column("audience_filter", sa.JSON(), nullable=False),
        sa.Column("extended_field_info", sa.JSON(), nullable=True),
        sa.Column("alternate_currency_identifier", sa.String(length=200), nullable=True),
        sa.Column("program_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_group_id"],
            ["target_groups.id"],
            name=op.f("fk_targets_target_group_id_target_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
    )
    op.create_index("ix_targets_group", "targets", ["target_group_id"], unique=False)
    op.create_table(
        "milestone_triggers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("trigger_type", sa.String(length=32), nullable=False),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("value", Money(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_milestone_triggers_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_triggers")),
    )
    op.create_index(
        "ix_milestone_triggers_target", "milestone_triggers", ["target_id"], unique=False
    )
    op.create_table(
        "target_period_values",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("default_value", Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_target_period_values_period_id_periods")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_target_period_values_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_period_values")),
        sa.UniqueConstraint("target_id", "period_id", name="uq_target_period_values_target_period"),
    )


def downgrade() -> None:
    op.drop_table("target_period_values")
    op.drop_index("ix_milestone_triggers_target", table_name="milestone_triggers")
    op.drop_table("milestone_triggers")
    op.drop_index("ix_targets_group", table_name="targets")
    op.drop_table("targets")
    op.drop_index("ix_streaks_group", table_name="streaks")
    op.drop_table("streaks")
    op.drop_index("ix_periods_group_position", table_name="periods")
    op.drop_table("periods")
    op.drop_table("access_tokens")
    op.drop_table("target_groups")
    op.drop_table("org_connections")
    op.drop_table("api_clients")
    op.drop_table("orgs")
