"""What pruned events said of each customer's purchases (``pruned_purchases``)

``milestones events prune`` (SPEC §16) deletes events; ``lifetimePurchases`` and the
first and last event received were read from them. Each prune now carries what its
events said of each customer into this table, in the same transaction as their deletion,
and the customer's read adds it: a prune moves no customer's figures.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Instant

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pruned_purchases",
        sa.Column("org_id", sa.BigInteger(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), primary_key=True),
        sa.Column("net_millions", sa.BigInteger(), nullable=False),
        sa.Column("net_rest", sa.BigInteger(), nullable=False),
        sa.Column("first_received_at", Instant(), nullable=False),
        sa.Column("last_received_at", Instant(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pruned_purchases")
