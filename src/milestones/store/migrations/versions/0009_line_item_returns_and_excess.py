"""Line-item returns and CAPPING returns (issue 12)

- ``events.returned_lines``: per line of a bill, the quantity and money returned so far
  (JSON ``[["1", "650.000"], ...]``), so a line-item return takes off exactly what the
  returned lines gave (SPEC §10). Null for bills with no line returned.
- ``ix_contributions_excess``: the ledger's EXCESS rows (what a CAPPING target did not
  count) by user target, read when a return takes back excess first. Partial: only
  those rows, which are few.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("returned_lines", sa.Text(), nullable=True))
    op.create_index(
        "ix_contributions_excess",
        "contributions",
        ["user_target_id"],
        sqlite_where=sa.text("kind = 'EXCESS'"),
        postgresql_where=sa.text("kind = 'EXCESS'"),
    )


def downgrade() -> None:
    op.drop_index("ix_contributions_excess", table_name="contributions")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("returned_lines")
