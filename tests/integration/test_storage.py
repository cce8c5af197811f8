"""The schema and the column types, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, Table, insert, select

from milestones.store.database import Database
from milestones.store.tables import metadata
from milestones.store.types import Id, Instant, Money


def test_the_migrations_create_exactly_the_tables_the_code_uses(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_migrating_twice_changes_nothing(database: Database) -> None:
    database.migrate()
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


@pytest.mark.parametrize(
    "amount",
    ["0.001", "0.300", "1200.000", "999999999999.999", "-17.250", "123456789.123"],
)
def test_money_comes_back_to_the_last_digit(database: Database, amount: str) -> None:
    table = _scratch_table(database)
    with database.transaction() as connection:
        connection.execute(insert(table).values(money=Decimal(amount)))
    with database.transaction(write=False) as connection:
        stored = connection.execute(select(table.c.money)).scalar_one()
    assert stored == Decimal(amount)
    assert str(stored) == str(Decimal(amount).quantize(Decimal("0.001")))


def test_a_tenth_and_two_tenths_sum_to_three_tenths_in_sql(database: Database) -> None:
    table = _scratch_table(database)
    with database.transaction() as connection:
        connection.execute(insert(table), [{"money": Decimal("0.1")}, {"money": Decimal("0.2")}])
        from sqlalchemy import func

        total = connection.execute(select(func.sum(table.c.money))).scalar_one()
    assert total == Decimal("0.3")


def test_instants_come_back_aware_and_in_utc(database: Database) -> None:
    table = _scratch_table(database)
    kolkata = timezone(timedelta(hours=5, minutes=30))
    moment = datetime(2024, 8, 27, 15, 13, 40, 123000, tzinfo=kolkata)
    with database.transaction() as connection:
        connection.execute(insert(table).values(at=moment))
    with database.transaction(write=False) as connection:
        stored = connection.execute(select(table.c.at)).scalar_one()
    assert stored == moment
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == datetime(2024, 8, 27, 9, 43, 40, 123000, tzinfo=UTC)


def test_a_naive_datetime_is_refused_by_the_instant_column(database: Database) -> None:
    table = _scratch_table(database)
    with pytest.raises(Exception, match="naive datetime"), database.transaction() as connection:
        connection.execute(insert(table).values(at=datetime(2024, 1, 1)))


def test_a_failed_transaction_leaves_nothing_behind(database: Database) -> None:
    table = _scratch_table(database)
    with pytest.raises(RuntimeError), database.transaction() as connection:
        connection.execute(insert(table).values(money=Decimal(1)))
        raise RuntimeError("boom")
    with database.transaction(write=False) as connection:
        assert connection.execute(select(table.c.money)).all() == []


def _scratch_table(database: Database) -> Table:
    scratch = MetaData()
    table = Table(
        "scratch_values",
        scratch,
        Column("id", Id, primary_key=True),
        Column("money", Money()),
        Column("at", Instant()),
    )
    scratch.drop_all(database.engine)
    scratch.create_all(database.engine)
    return table
