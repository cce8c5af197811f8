"""customers: profiles and custom fields shown in the user view

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Instant

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("profiles", sa.JSON(), nullable=False),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("loyalty_type", sa.String(length=50), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=True),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_customers_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", "user_id", name=op.f("pk_customers")),
    )


def downgrade() -> None:
    op.drop_table("customers")
