"""Jobs keep what they were asked (``params``) and what they answer (``result``)

A SIMULATION job (SPEC §16) is asked a draft group and a range, which its worker reads
back (``params``: JSON, the request's body as sent and where its events stop), and
answers figures, which ``GET /v3/jobs/{id}`` shows once it is done (``result``: JSON).
Both are NULL for the jobs that need neither.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("params", sa.Text()))
    op.add_column("jobs", sa.Column("result", sa.Text()))


def downgrade() -> None:
    # Dropped in place: a batch copy of the table is not needed for columns nothing
    # points at (SQLite 3.35 and later drop a column directly).
    op.drop_column("jobs", "result")
    op.drop_column("jobs", "params")
