"""The ledger packed per event: ``events.ledger``; ``contributions`` keeps EXCESS only

A ledger row per contribution (some 61 per event of the benchmark's workload) cost about
a third of what storing an event took. Each event now keeps its contributions, in the
order it made them, in one text column (format in ``milestones.store.ledger``). EXCESS
entries (what a CAPPING cap left out) stay rows of ``contributions`` as well, under the
entry's id (``event pk * 2**20 + position``), for CAPPING returns, which read excess by
user target. The index by event goes: nothing reads ``contributions`` by event now.

Existing rows are packed in ledger order (``contributions.id``), a batch of events at a
time; the downgrade unpacks them again.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from milestones.domain.outcomes import ContributionKind
from milestones.store.ledger import entry_id, pack, unpack

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_EVENTS = 1_000


def upgrade() -> None:
    op.add_column("events", sa.Column("ledger", sa.Text(), nullable=True))
    connection = op.get_bind()
    excess: list[dict[str, Any]] = []
    for batch in _event_batches(connection):
        rows = connection.execute(
            sa.text(
                "SELECT event_pk, user_target_id, amount, kind FROM contributions"
                " WHERE event_pk IN :pks ORDER BY event_pk, id"
            ).bindparams(sa.bindparam("pks", expanding=True)),
            {"pks": batch},
        ).all()
        packs: dict[int, list[tuple[int, int, ContributionKind] | None]] = {}
        for event_pk, user_target_id, amount, kind in rows:
            entries = packs.setdefault(event_pk, [])
            if kind == "EXCESS":
                excess.append(
                    {
                        "id": entry_id(event_pk, len(entries)),
                        "event_pk": event_pk,
                        "user_target_id": user_target_id,
                        "amount": amount,
                        "kind": kind,
                    }
                )
            entries.append((user_target_id, int(amount), ContributionKind(kind)))
        if packs:
            connection.execute(
                sa.text("UPDATE events SET ledger = :ledger WHERE id = :id"),
                [{"id": pk, "ledger": pack(entries)} for pk, entries in packs.items()],
            )
    op.drop_index("ix_contributions_event", table_name="contributions")
    connection.execute(sa.text("DELETE FROM contributions"))
    if excess:
        connection.execute(
            sa.text(
                "INSERT INTO contributions (id, event_pk, user_target_id, amount, kind)"
                " VALUES (:id, :event_pk, :user_target_id, :amount, :kind)"
            ),
            excess,
        )


def downgrade() -> None:
    connection = op.get_bind()
    connection.execute(sa.text("DELETE FROM contributions"))
    rows = connection.execute(
        sa.text("SELECT id, ledger FROM events WHERE ledger IS NOT NULL ORDER BY id")
    ).all()
    unpacked = [
        {"event_pk": pk, "user_target_id": entry[0], "amount": entry[1], "kind": entry[2].value}
        for pk, ledger in rows
        for entry in unpack(ledger)
        if entry is not None
    ]
    if unpacked:
        connection.execute(
            sa.text(
                "INSERT INTO contributions (event_pk, user_target_id, amount, kind)"
                " VALUES (:event_pk, :user_target_id, :amount, :kind)"
            ),
            unpacked,
        )
    op.create_index("ix_contributions_event", "contributions", ["event_pk"])
    with op.batch_alter_table("events") as batch:
        batch.drop_column("ledger")


def _event_batches(connection: sa.Connection) -> Iterator[list[int]]:
    """The ids of events with ledger rows, a batch at a time."""
    pks = [
        row[0]
        for row in connection.execute(
            sa.text("SELECT DISTINCT event_pk FROM contributions ORDER BY event_pk")
        )
    ]
    for start in range(0, len(pks), _EVENTS):
        yield pks[start : start + _EVENTS]
