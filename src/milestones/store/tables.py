"""The schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from milestones.store.types import Id, Instant, Money

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _audit_columns() -> list[Column[object]]:
    return [
        Column("created_at", Instant(), nullable=False),
        Column("created_by", BigInteger, nullable=False),
        Column("updated_at", Instant(), nullable=False),
        Column("updated_by", BigInteger, nullable=False),
    ]


orgs = Table(
    "orgs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("retro_buffer_days", Integer, nullable=False, default=0),
    Column("revoke_on_return", Boolean, nullable=False, default=False),
    Column("leaderboards_enabled", Boolean, nullable=False, default=False),
    Column("created_at", Instant(), nullable=False),
)

org_connections = Table(
    "org_connections",
    metadata,
    Column("org_id", BigInteger, ForeignKey("orgs.id"), primary_key=True),
    Column("connected_org_id", BigInteger, ForeignKey("orgs.id"), primary_key=True),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, ForeignKey("orgs.id"), nullable=False),
    Column("client_id", String(100), nullable=False, unique=True),
    Column("secret_hash", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", Instant(), nullable=False),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("api_client_id", BigInteger, ForeignKey("api_clients.id"), nullable=False),
    Column("expires_at", Instant(), nullable=False),
)

target_groups = Table(
    "target_groups",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, ForeignKey("orgs.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("name_key", String(200), nullable=False),
    Column("description", String(255)),
    Column("active", Boolean, nullable=False),
    Column("preferred_till_id", BigInteger),
    Column("tracking_type", String(32), nullable=False),
    Column("evaluation_type", String(32), nullable=False),
    Column("frequency_type", String(16), nullable=False),
    Column("frequency", Integer, nullable=False),
    Column("total_periods", Integer, nullable=False),
    Column("recurring_cycles", Integer, nullable=False),
    Column("cycle_start", Instant()),
    Column("cycle_end", Instant()),
    Column("time_zone", String(64), nullable=False),
    Column("combination_type", String(8)),
    Column("unified_aggregation", String(8)),
    Column("unified_threshold", Money()),
    Column("leaderboard_enabled", Boolean, nullable=False),
    Column("user_created", Boolean, nullable=False),
    # Bumped by every change, so caches of compiled targets know when to rebuild.
    Column("revision", Integer, nullable=False, default=0, server_default="0"),
    *_audit_columns(),
    # Streak care (§17): freezes, repairs, the at-risk notice; periods cut per customer.
    Column("freezes_max_held", Integer),
    Column("freezes_grant_every", Integer),
    Column("repair_window_days", Integer),
    Column("max_repairs", Integer),
    Column("at_risk_hours", Integer),
    Column("period_zone", String(16), nullable=False, server_default="GROUP"),
    UniqueConstraint("org_id", "name_key", name="uq_target_groups_org_name"),
)

periods = Table(
    "periods",
    metadata,
    Column("id", Id, primary_key=True),
    Column("target_group_id", BigInteger, ForeignKey("target_groups.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("ref_code", String(100), nullable=False),
    Column("starts_at", Instant(), nullable=False),
    Column("ends_at", Instant(), nullable=False),
    Column("description", String(255)),
    Column("active", Boolean, nullable=False),
    *_audit_columns(),
    Index("ix_periods_group_position", "target_group_id", "position", unique=True),
)

targets = Table(
    "targets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("target_group_id", BigInteger, ForeignKey("target_groups.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(255)),
    Column("active", Boolean, nullable=False),
    Column("target_entity", String(32), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("event_name", String(200), nullable=False),
    Column("expression", Text, nullable=False),
    Column("expression_json", Text, nullable=False),
    Column("filters", JSON, nullable=False),
    Column("enrolment_method", String(32), nullable=False),
    Column("audience_filter", JSON, nullable=False),
    Column("extended_field_info", JSON),
    Column("alternate_currency_identifier", String(200)),
    Column("program_id", BigInteger),
    *_audit_columns(),
    Index("ix_targets_group", "target_group_id"),
)

target_period_values = Table(
    "target_period_values",
    metadata,
    Column("id", Id, primary_key=True),
    Column("target_id", BigInteger, ForeignKey("targets.id"), nullable=False),
    Column("period_id", BigInteger, ForeignKey("periods.id"), nullable=False),
    Column("default_value", Money(), nullable=False),
    UniqueConstraint("target_id", "period_id", name="uq_target_period_values_target_period"),
)

milestone_triggers = Table(
    "milestone_triggers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("target_id", BigInteger, ForeignKey("targets.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("trigger_type", String(32), nullable=False),
    Column("value_type", String(16), nullable=False),
    Column("value", Money(), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Index("ix_milestone_triggers_target", "target_id"),
)

streaks = Table(
    "streaks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("target_group_id", BigInteger, ForeignKey("target_groups.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("target_count", Integer, nullable=False),
    *_audit_columns(),
    Index("ix_streaks_group", "target_group_id"),
)

# --- Event engine -------------------------------------------------------------

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, ForeignKey("orgs.id"), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("event_name", String(200), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("event_time", Instant(), nullable=False),
    Column("received_at", Instant(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("bill_amount", Money()),
    Column("returned_amount", Money(), nullable=False, default=0),
    Column("payload", JSON, nullable=False),
    # Per line of a bill, the quantity and money returned so far (SPEC §10).
    Column("returned_lines", Text),
    # The event's contributions, packed in the order it made them (store/ledger.py).
    Column("ledger", Text),
    UniqueConstraint("org_id", "event_id", name="uq_events_org_event"),
    Index("ix_events_org_user", "org_id", "user_id"),
)

user_targets = Table(
    "user_targets",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("target_group_id", BigInteger, nullable=False),
    Column("target_id", BigInteger, nullable=False),
    Column("period_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("slot", Integer, nullable=False),
    Column("starts_at", Instant(), nullable=False),
    Column("ends_at", Instant(), nullable=False),
    Column("target_value", Money(), nullable=False),
    Column("achieved_value", Money(), nullable=False),
    Column("achieved_at", Instant()),
    Column("enrolled_at", Instant(), nullable=False),
    Column("updated_at", Instant(), nullable=False),
    # The eventTime of the contribution that brought the value to where it stands (§13).
    Column("reached_at", Instant()),
    # The rows of a group with a leaderboard: only they are in the leaderboard index.
    Column("ranked", Boolean, nullable=False, default=False, server_default=false()),
    # One row per customer, target and period; also how a batch and the user view read.
    Index("uq_user_targets_user_target_period", "user_id", "target_id", "period_id", unique=True),
    Index(
        "ix_user_targets_board",
        "target_id",
        "period_id",
        "achieved_value",
        sqlite_where=text("ranked = true"),
        postgresql_where=text("ranked = true"),
    ),
)

user_milestones = Table(
    "user_milestones",
    metadata,
    Column("user_target_id", BigInteger, primary_key=True),
    Column("trigger_id", BigInteger, primary_key=True),
    Column("achieved_at", Instant(), nullable=False),
)

user_target_days = Table(
    "user_target_days",
    metadata,
    Column("user_target_id", BigInteger, primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("visited", Boolean, nullable=False),
    Column("max_value", Money()),
)

# The ledger itself is packed in ``events.ledger``; its EXCESS entries (what a CAPPING
# cap left out) are also kept here, by the entry's id, for the one read by user target.
contributions = Table(
    "contributions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("event_pk", BigInteger, nullable=False),
    Column("user_target_id", BigInteger, nullable=False),
    Column("amount", Money(), nullable=False),
    Column("kind", String(16), nullable=False),
    Index(
        "ix_contributions_excess",
        "user_target_id",
        sqlite_where=text("kind = 'EXCESS'"),
        postgresql_where=text("kind = 'EXCESS'"),
    ),
)

user_cycles = Table(
    "user_cycles",
    metadata,
    Column("target_group_id", BigInteger, ForeignKey("target_groups.id"), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("anchor_at", Instant(), nullable=False),
    Index("ix_user_cycles_user", "user_id"),
)

enrolments = Table(
    "enrolments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("target_id", BigInteger, ForeignKey("targets.id"), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    # 0 = every period of the target
    Column("period_id", BigInteger, nullable=False, default=0),
    Column("target_value", Money()),
    Column("initial_value", Money()),
    Column("reset_streak", Boolean, nullable=False, default=False),
    Column("enrolled_at", Instant(), nullable=False),
    UniqueConstraint("target_id", "user_id", "period_id", name="uq_enrolments_target_user_period"),
    Index("ix_enrolments_org_user", "org_id", "user_id"),
)

audience_groups = Table(
    "audience_groups",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, ForeignKey("orgs.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(255)),
    Column("created_at", Instant(), nullable=False),
    Column("updated_at", Instant(), nullable=False),
)

audience_members = Table(
    "audience_members",
    metadata,
    Column("audience_group_id", BigInteger, ForeignKey("audience_groups.id"), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Index("ix_audience_members_user", "user_id"),
)

# --- Customers ----------------------------------------------------------------

customers = Table(
    "customers",
    metadata,
    Column("org_id", BigInteger, ForeignKey("orgs.id"), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("profiles", JSON, nullable=False),
    Column("custom_fields", JSON, nullable=False),
    Column("loyalty_type", String(50), nullable=False),
    Column("source", String(50)),
    *_audit_columns(),
)

# Care settings a PUT replaced (§17), each with the instant it stopped applying.
streak_care_versions = Table(
    "streak_care_versions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("target_group_id", BigInteger, nullable=False, index=True),
    Column("until", Instant(), nullable=False),
    Column("freezes_max_held", Integer),
    Column("freezes_grant_every", Integer),
    Column("repair_window_days", Integer),
    Column("max_repairs", Integer),
    Column("at_risk_hours", Integer),
)

# Every zone a customer's profile has held (§17): a change applies from their next period.
customer_zones = Table(
    "customer_zones",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("zone", String(64), nullable=False),
    Column("changed_at", Instant(), nullable=False),
    Index("ix_customer_zones_customer", "org_id", "user_id", "id"),
)

# --- Streak care (§17) ------------------------------------------------------------

streak_freeze_grants = Table(
    "streak_freeze_grants",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("target_group_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("granted_at", Instant(), nullable=False),
    Column("granted_by", String(200), nullable=False),
    Index("ix_streak_freeze_grants_customer", "user_id", "target_group_id"),
)

streak_repairs = Table(
    "streak_repairs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("target_group_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("period_id", BigInteger, nullable=False),
    Column("repaired_at", Instant(), nullable=False),
    Column("repaired_by", String(200), nullable=False),
    UniqueConstraint("user_id", "target_group_id", "period_id"),
)

# What the sweeper has notified, once each: (group, customer, period, kind).
streak_marks = Table(
    "streak_marks",
    metadata,
    Column("target_group_id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("period_id", BigInteger, primary_key=True),
    Column("kind", String(16), primary_key=True),
)

# How far the sweeper has swept each streak group.
streak_sweeps = Table(
    "streak_sweeps",
    metadata,
    Column("target_group_id", BigInteger, primary_key=True, autoincrement=False),
    Column("swept_until", Instant(), nullable=False),
)

# When a unified or streak group as a whole was achieved in a period by a customer:
# with a SUM threshold that moment is not any one target's own achievement time.
user_group_periods = Table(
    "user_group_periods",
    metadata,
    Column("target_group_id", BigInteger, primary_key=True),
    Column("period_id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("achieved_at", Instant(), nullable=False),
    Index("ix_user_group_periods_user", "user_id"),
)

# The outbox (SPEC §15): each achievement or revocation, written in the transaction that
# made it. ``sequence`` is drawn at the end of that transaction, under the org's row of
# ``notification_counters``, so sequences grow in the order notifications become visible.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("sequence", BigInteger),  # null only until its own transaction commits
    Column("type", String(32), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("occurred_at", Instant(), nullable=False),
    Column("created_at", Instant(), nullable=False),
    Column("replayed", Boolean, nullable=False, server_default=false()),
    Column("data", Text, nullable=False),  # JSON, written once
    UniqueConstraint("org_id", "sequence", name="uq_notifications_org_sequence"),
    Index(
        "ix_notifications_unsequenced",
        "org_id",
        sqlite_where=text("sequence IS NULL"),
        postgresql_where=text("sequence IS NULL"),
    ),
    Index("ix_notifications_created_at", "created_at"),
)

notification_counters = Table(
    "notification_counters",
    metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("last_sequence", BigInteger, nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, ForeignKey("orgs.id"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("types", Text, nullable=False),  # comma-separated; empty means every type
    Column("description", String(500), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("include_replayed", Boolean, nullable=False),
    Column("secret", String(100), nullable=False),  # signs deliveries, so kept as is
    # Notifications up to this sequence have been turned into deliveries.
    Column("fanned_out_to", BigInteger, nullable=False),
    Column("created_at", Instant(), nullable=False),
    Column("updated_at", Instant(), nullable=False),
    Index("ix_webhooks_org", "org_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("webhook_id", BigInteger, nullable=False),
    Column("notification_id", BigInteger, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_http_status", Integer),
    Column("last_error", String(500)),
    Column("next_attempt_at", Instant(), nullable=False),
    # The head of its customer's queue for this subscription: the only one that may be sent
    # (one customer's notifications reach a subscription in sequence order).
    Column("ready", Boolean, nullable=False),
    Column("last_attempt_at", Instant()),
    Column("delivered_at", Instant()),
    Column("created_at", Instant(), nullable=False),
    UniqueConstraint("notification_id", "webhook_id", name="uq_webhook_deliveries_notification"),
    Index("ix_webhook_deliveries_listing", "webhook_id", "id"),
    Index(
        "ix_webhook_deliveries_pending",
        "webhook_id",
        "user_id",
        "sequence",
        sqlite_where=text("status = 'PENDING'"),
        postgresql_where=text("status = 'PENDING'"),
    ),
    Index(
        "ix_webhook_deliveries_due",
        "webhook_id",
        "next_attempt_at",
        sqlite_where=text("status = 'PENDING' AND ready"),
        postgresql_where=text("status = 'PENDING' AND ready"),
    ),
)

# Jobs (SPEC §16): long work run by a worker holding a lease, resumed from ``checkpoint``
# (for an import, the byte offset after the last line applied; for a backfill, the id of
# the last stored event replayed; for a rebuild, the last customer's user id) after a
# worker stopped.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, ForeignKey("orgs.id"), nullable=False),
    Column("type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("target_group_id", BigInteger),  # a backfill's group
    Column("input", String(1000)),  # an import's NDJSON file
    Column("host", String(255)),  # the host whose disk holds ``input``
    Column("total", BigInteger),  # lines, once known
    Column("done", BigInteger, nullable=False),
    Column("checkpoint", BigInteger, nullable=False),
    Column("counts", Text, nullable=False),  # JSON: outcomes by status
    Column("errors", Text, nullable=False),  # JSON: the first bad lines, [[line, message]]
    Column("failure", String(1000)),
    Column("resumed", Integer, nullable=False),
    Column("worker", String(100)),
    Column("lease_until", Instant()),
    Column("created_at", Instant(), nullable=False),
    Column("started_at", Instant()),
    Column("finished_at", Instant()),
    Column("updated_at", Instant(), nullable=False),
    Column("options", Text),  # JSON: what the job was asked for (a rebuild's revoke)
    Column("result", Text),  # JSON: what a job answers (a simulation's figures)
    Index("ix_jobs_org", "org_id", "id"),
    Index(
        "ix_jobs_open",
        "id",
        sqlite_where=text("status IN ('QUEUED', 'RUNNING')"),
        postgresql_where=text("status IN ('QUEUED', 'RUNNING')"),
    ),
)

# Each prune of an org's events (``milestones events prune``): events with an eventTime
# before ``before`` are gone, so a backfill or rebuild reaching back before it is refused.
# What pruned events had said of each customer's purchases (SPEC §16): the net billed on
# TransactionAdd, in two parts as the read sums it (millions of thousandths and the rest),
# and the first and last of them received. ``lifetimePurchases`` adds it to the stored
# events', so a prune moves no customer's figures.
pruned_purchases = Table(
    "pruned_purchases",
    metadata,
    Column("org_id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("net_millions", BigInteger, nullable=False),
    Column("net_rest", BigInteger, nullable=False),
    Column("first_received_at", Instant(), nullable=False),
    Column("last_received_at", Instant(), nullable=False),
)

event_prunes = Table(
    "event_prunes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, nullable=False),
    Column("before", Instant(), nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("pruned_at", Instant(), nullable=False),
    Index("ix_event_prunes_org", "org_id"),
)

# --- The console (SPEC §18) ---------------------------------------------------

# People who sign in to the console of one org. Each has an API client of its own, with a
# secret no one knows, so that what they change is attributed as any client's change is.
console_users = Table(
    "console_users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("org_id", BigInteger, ForeignKey("orgs.id"), nullable=False),
    Column("email", String(254), nullable=False, unique=True),  # lower-cased
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("api_client_id", BigInteger, ForeignKey("api_clients.id"), nullable=False),
    Column("disabled_at", Instant()),
    Column("created_at", Instant(), nullable=False),
    Index("ix_console_users_org", "org_id"),
)

# Signed-in sessions: only the SHA-256 of the cookie's token is kept.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("console_users.id"), nullable=False),
    Column("created_at", Instant(), nullable=False),
    Column("last_seen_at", Instant(), nullable=False),
    Column("expires_at", Instant(), nullable=False),
    Index("ix_console_sessions_user", "user_id"),
)

# Failed sign-ins per email, known or not (the SHA-256 of the lower-cased address), so a
# lockout says nothing about which emails exist.
console_sign_in_failures = Table(
    "console_sign_in_failures",
    metadata,
    Column("email_hash", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("since", Instant(), nullable=False),
    Column("locked_until", Instant()),
)
