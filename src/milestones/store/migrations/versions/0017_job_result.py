"""Jobs keep what they answer (``result``)

A SIMULATION job (SPEC §16) answers figures, which ``GET /v3/jobs/{id}`` shows once it is
done (``result``: JSON, exact decimals). NULL for the jobs that answer with their counts.
What a simulation was asked (the draft, the range, where its events stop) is in
``options`` (0016).

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("result", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("result")
