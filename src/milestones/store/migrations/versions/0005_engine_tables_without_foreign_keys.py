"""The engine's per-event tables drop their foreign keys

Every event writes tens of rows to user_targets, contributions, user_milestones,
user_target_days and user_group_periods. Their foreign keys cost a lookup per row and
key (on PostgreSQL a trigger with a row lock on the parent: about half the time of a
bulk call) and guard nothing the engine does not already guarantee: these rows are
written only by the engine, in the transaction that creates or reads their parents,
and no API deletes a group, target, period, trigger, event or user target.
Children first, so that no remaining key refers to a table being rebuilt (SQLite
rebuilds a table to drop a constraint).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# table -> (constraint, column, referred table.column)
_KEYS: dict[str, list[tuple[str, str, str]]] = {
    "contributions": [
        ("fk_contributions_event_pk_events", "event_pk", "events.id"),
        ("fk_contributions_user_target_id_user_targets", "user_target_id", "user_targets.id"),
    ],
    "user_milestones": [
        ("fk_user_milestones_user_target_id_user_targets", "user_target_id", "user_targets.id"),
        (
            "fk_user_milestones_trigger_id_milestone_triggers",
            "trigger_id",
            "milestone_triggers.id",
        ),
    ],
    "user_target_days": [
        ("fk_user_target_days_user_target_id_user_targets", "user_target_id", "user_targets.id"),
    ],
    "user_group_periods": [
        ("fk_user_group_periods_period_id_periods", "period_id", "periods.id"),
        (
            "fk_user_group_periods_target_group_id_target_groups",
            "target_group_id",
            "target_groups.id",
        ),
    ],
    "user_targets": [
        (
            "fk_user_targets_target_group_id_target_groups",
            "target_group_id",
            "target_groups.id",
        ),
        ("fk_user_targets_target_id_targets", "target_id", "targets.id"),
        ("fk_user_targets_period_id_periods", "period_id", "periods.id"),
    ],
}


def upgrade() -> None:
    for table, keys in _KEYS.items():
        with op.batch_alter_table(table) as batch:
            for name, _column, _referred in keys:
                batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, keys in reversed(list(_KEYS.items())):
        with op.batch_alter_table(table) as batch:
            for name, column, referred in keys:
                referred_table, referred_column = referred.split(".")
                batch.create_foreign_key(name, referred_table, [column], [referred_column])
