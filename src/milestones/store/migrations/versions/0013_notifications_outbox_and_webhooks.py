"""Notifications (SPEC §15): the outbox, its per-org sequence, webhooks and deliveries

``notifications`` is the outbox: each achievement or revocation, written in the same
transaction as the progress change. Its ``sequence`` is drawn at the end of that
transaction under the org's row of ``notification_counters`` (see
``milestones.store.outbox``). ``webhooks`` are the subscriptions, ``webhook_deliveries``
one row per notification a subscription is to receive.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Id, Instant

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_UNSEQUENCED = "sequence IS NULL"
_PENDING = "status = 'PENDING'"
_DUE = "status = 'PENDING' AND ready"


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", Id, primary_key=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.BigInteger()),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", Instant(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("replayed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("org_id", "sequence", name="uq_notifications_org_sequence"),
    )
    op.create_index(
        "ix_notifications_unsequenced",
        "notifications",
        ["org_id"],
        sqlite_where=sa.text(_UNSEQUENCED),
        postgresql_where=sa.text(_UNSEQUENCED),
    )
    op.create_index("ix_notifications_created_at", "notifications", ["created_at"])
    op.create_table(
        "notification_counters",
        sa.Column("org_id", sa.BigInteger(), autoincrement=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name="pk_notification_counters"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", Id, primary_key=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("types", sa.Text(), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("include_replayed", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("fanned_out_to", sa.BigInteger(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name="fk_webhooks_org_id_orgs"),
    )
    op.create_index("ix_webhooks_org", "webhooks", ["org_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", Id, primary_key=True),
        sa.Column("webhook_id", sa.BigInteger(), nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_http_status", sa.Integer()),
        sa.Column("last_error", sa.String(500)),
        sa.Column("next_attempt_at", Instant(), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("last_attempt_at", Instant()),
        sa.Column("delivered_at", Instant()),
        sa.Column("created_at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        # Led by the notification: retention asks what is pending for a notification.
        sa.UniqueConstraint(
            "notification_id", "webhook_id", name="uq_webhook_deliveries_notification"
        ),
    )
    op.create_index("ix_webhook_deliveries_listing", "webhook_deliveries", ["webhook_id", "id"])
    op.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        ["webhook_id", "user_id", "sequence"],
        sqlite_where=sa.text(_PENDING),
        postgresql_where=sa.text(_PENDING),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["webhook_id", "next_attempt_at"],
        sqlite_where=sa.text(_DUE),
        postgresql_where=sa.text(_DUE),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_table("notification_counters")
    op.drop_table("notifications")
