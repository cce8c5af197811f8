"""Cycle anchors get an index by customer

Every batch reads its customers' cycle anchors by ``user_id``, and the user view reads one
customer's; the primary key leads with the group, so each read scanned the whole table,
which grows with every customer of every cyclic group.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_user_cycles_user", "user_cycles", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_user_cycles_user", table_name="user_cycles")
