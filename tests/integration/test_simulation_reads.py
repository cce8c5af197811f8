"""A simulation reads the org's events along the primary key, a chunk at a time.

A chunk is ``org_id = ? AND id > ? ... ORDER BY id LIMIT n``: SQLite, left to itself, takes
the org's index for the equality and sorts every event of the org by id for each chunk,
so a simulation over a million events would cost a million-row sort per 500 events. The
plan must be a search of the primary key's range, without a sort.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from milestones.domain.periods import FrequencyType
from milestones.domain.simulation import SimulationRange
from milestones.store.replay import _replayed
from milestones.store.simulation import _in_range
from milestones.store.tables import events
from tests.unit.builders import fixed_group, sales


def test_a_chunk_of_a_simulation_searches_the_primary_key_and_sorts_nothing(
    sqlite_template: Path,
) -> None:
    asked = SimulationRange(datetime(2024, 8, 1, tzinfo=UTC), datetime(2024, 9, 1, tzinfo=UTC))
    group = fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000))
    query = (
        select(events.c.id, events.c.payload)
        .where(*_in_range(group, asked, 500, 10_000))
        .order_by(events.c.id)
        .limit(500)
    )
    statement = str(query.compile(dialect=sqlite.dialect()))
    with sqlite3.connect(sqlite_template) as connection:
        plan = connection.execute(
            f"EXPLAIN QUERY PLAN {statement}", [1] * statement.count("?")
        ).fetchall()
    details = [row[3] for row in plan]
    assert any("INTEGER PRIMARY KEY" in detail for detail in details), details
    assert not any("TEMP B-TREE" in detail for detail in details), details


def test_a_chunk_of_a_backfill_searches_the_primary_key_and_sorts_nothing(
    sqlite_template: Path,
) -> None:
    group = fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000))
    query = (
        select(events.c.id, events.c.payload)
        .where(*_replayed(group, 500))
        .order_by(events.c.id)
        .limit(500)
    )
    statement = str(query.compile(dialect=sqlite.dialect()))
    with sqlite3.connect(sqlite_template) as connection:
        plan = connection.execute(
            f"EXPLAIN QUERY PLAN {statement}", [1] * statement.count("?")
        ).fetchall()
    details = [row[3] for row in plan]
    assert any("INTEGER PRIMARY KEY" in detail for detail in details), details
    assert not any("TEMP B-TREE" in detail for detail in details), details
