"""The console's users, sessions and failed sign-ins (SPEC §18)

``console_users``: people who sign in to one org's console, with a role, an argon2 hash of
their password and an API client of their own (its secret unknown to anyone), which is
who their changes are attributed to. ``console_sessions``: the SHA-256 of each session
token, never the token. ``console_sign_in_failures``: failed sign-ins per hashed email,
for the lockout.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

from milestones.store.types import Id, Instant

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", Id, primary_key=True),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("api_client_id", sa.BigInteger(), nullable=False),
        sa.Column("disabled_at", Instant()),
        sa.Column("created_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name="fk_console_users_org_id_orgs"),
        sa.ForeignKeyConstraint(
            ["api_client_id"], ["api_clients.id"], name="fk_console_users_api_client_id_api_clients"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_console_users"),
        sa.UniqueConstraint("email", name="uq_console_users_email"),
    )
    op.create_index("ix_console_users_org", "console_users", ["org_id"])
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("last_seen_at", Instant(), nullable=False),
        sa.Column("expires_at", Instant(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["console_users.id"], name="fk_console_sessions_user_id_console_users"
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_console_sessions"),
    )
    op.create_index("ix_console_sessions_user", "console_sessions", ["user_id"])
    op.create_table(
        "console_sign_in_failures",
        sa.Column("email_hash", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("since", Instant(), nullable=False),
        sa.Column("locked_until", Instant()),
        sa.PrimaryKeyConstraint("email_hash", name="pk_console_sign_in_failures"),
    )


def downgrade() -> None:
    op.drop_table("console_sign_in_failures")
    op.drop_index("ix_console_sessions_user", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index("ix_console_users_org", table_name="console_users")
    op.drop_table("console_users")
