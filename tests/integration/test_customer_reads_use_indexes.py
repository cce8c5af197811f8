"""Every read of one customer's (or one batch's customers') rows searches an index.

These tables grow with every customer of every group: a read that scans one of them slows
every batch and every user view as the program grows. SQLite's query plan says whether a
statement searches an index or scans the table; the statements are the store's own.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from milestones.store import user_view
from milestones.store.customers import _customer_sql
from milestones.store.tables import user_cycles

ONE_ORG = "IN (?)"

READS = {
    "a batch's cycle anchors": str(
        select(user_cycles)
        .where(user_cycles.c.user_id.in_([1, 2]))
        .compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    ),
    "a customer's progress": user_view._PROGRESS.format(among=ONE_ORG),
    "a customer's group achievements": user_view._GROUP_ACHIEVEMENTS,
    "a customer's cycle anchors": user_view._ANCHORS.format(among=ONE_ORG),
    "a customer's enrolments": user_view._ENROLMENTS.format(among=ONE_ORG),
    "a customer's audiences": user_view._AUDIENCES.format(among=ONE_ORG),
    "a customer's profile and purchases": _customer_sql(1),
}


@pytest.mark.parametrize("name", READS)
def test_the_read_searches_an_index(sqlite_template: Path, name: str) -> None:
    statement = READS[name]
    with sqlite3.connect(sqlite_template) as connection:
        plan = connection.execute(
            f"EXPLAIN QUERY PLAN {statement}", [1] * statement.count("?")
        ).fetchall()
    details = [row[3] for row in plan]
    assert any(detail.startswith("SEARCH") for detail in details), details
    assert not any(detail.startswith("SCAN") for detail in details), details
