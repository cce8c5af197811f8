"""Rebuild and prune (SPEC §16): a job's options, and the record of events pruned

``jobs.options`` holds what a job was asked for beyond its type and group, as JSON (a
rebuild's ``revoke``). ``event_prunes`` keeps one row per org and prune: the instant
before which the org's events were deleted, so that a backfill or rebuild of a group
whose dates reach back before it is refused rather than run on half its history.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Id, Instant

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("options", sa.Text()))
    op.create_table(
        "event_prunes",
        sa.Column("id", Id, primary_key=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("before", Instant(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("pruned_at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event_prunes"),
    )
    op.create_index("ix_event_prunes_org", "event_prunes", ["org_id"])


def downgrade() -> None:
    op.drop_index("ix_event_prunes_org", table_name="event_prunes")
    op.drop_table("event_prunes")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("options")
