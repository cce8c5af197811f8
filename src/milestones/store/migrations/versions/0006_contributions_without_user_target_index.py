"""The ledger drops its index by user target

Nothing reads the ledger by user target (a return reads its bill's contributions by
event), and the index cost a random page per contribution written: with millions of
ledger rows the index outgrew the page cache and bulk calls slowed as it grew.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_contributions_user_target", table_name="contributions")


def downgrade() -> None:
    op.create_index(
        "ix_contributions_user_target", "contributions", ["user_target_id"], unique=False
    )
