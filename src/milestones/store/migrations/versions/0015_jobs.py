"""Jobs (SPEC §16): long work in the background, with a lease and a checkpoint

``jobs`` holds one row per job: its type, its org, its status, its input (for an event
import, the NDJSON file spooled under the data directory, and the host that holds it;
for a backfill, its group), how far it got (``checkpoint``: for an import the byte offset
after the last line applied, for a backfill the id of the last event replayed; ``done``
lines or events), its outcomes by status and a sample of bad lines (JSON), the lease of
the worker running it and how many times it was resumed after a worker stopped.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Id, Instant

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_OPEN = "status IN ('QUEUED', 'RUNNING')"


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", Id, primary_key=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("target_group_id", sa.BigInteger()),
        sa.Column("input", sa.String(1000)),
        sa.Column("host", sa.String(255)),
        sa.Column("total", sa.BigInteger()),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("failure", sa.String(1000)),
        sa.Column("resumed", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(100)),
        sa.Column("lease_until", Instant()),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("started_at", Instant()),
        sa.Column("finished_at", Instant()),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name="fk_jobs_org_id_orgs"),
    )
    op.create_index("ix_jobs_org", "jobs", ["org_id", "id"])
    op.create_index(
        "ix_jobs_open",
        "jobs",
        ["id"],
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_open", table_name="jobs")
    op.drop_index("ix_jobs_org", table_name="jobs")
    op.drop_table("jobs")
