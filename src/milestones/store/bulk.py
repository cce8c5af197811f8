"""Driver-level bulk reads and writes for the engine's hot tables.

A batch of 500 events writes tens of thousands of rows (one ledger row per contribution,
user targets, days). Through SQLAlchemy Core every row's every value goes through the
column type's bind processor and the compiled statement's parameter construction, which
cost more than the database's own work. Here each value is converted once, by the same
rules as :mod:`milestones.store.types`, inside the caller's transaction:

- SQLite: the rows go straight to the driver's ``executemany`` (in-process, no round
  trips);
- PostgreSQL: new rows by ``COPY ... FROM STDIN``; updates, deletes and upserts as one
  statement per table, each column sent as one array and unpacked by ``unnest``
  (psycopg's ``executemany`` would still cost a Python round of parameter dumping and
  protocol work per row).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

from milestones.store.types import money_from_stored, money_to_stored


def optional_money(value: Decimal | None) -> int | None:
    return None if value is None else money_to_stored(value)


def optional_money_of(stored: int | None) -> Decimal | None:
    return None if stored is None else money_from_stored(stored)


@dataclass(frozen=True, slots=True)
class Read:
    """One statement to read: parameter marks written ``?``; ``{among}``, when ``among`` is
    given, a membership test on it (after ``values``)."""

    statement: str
    values: Sequence[object] = ()
    among: Sequence[object] | None = None


class BulkSql:
    """Many rows written, or read by a list of keys, with values as the driver takes them."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._sqlite = connection.dialect.name == "sqlite"
        self._instants: dict[datetime, object] = {}
        self._read_instants: dict[object, datetime] = {}

    def instant(self, value: datetime) -> object:
        """What :class:`milestones.store.types.Instant` stores.

        SQLite: naive UTC text in SQLAlchemy's own format, so that stored text compares
        and parses the same whichever way it was written. PostgreSQL: the aware instant.
        """
        if value.tzinfo is None:
            raise ValueError("naive datetime given to an Instant column")
        if not self._sqlite:
            return value
        # A batch writes the same few period bounds thousands of times.
        found = self._instants.get(value)
        if found is None:
            utc = value.astimezone(UTC).replace(tzinfo=None)
            found = self._instants[value] = utc.isoformat(" ", "microseconds")
        return found

    def optional_instant(self, value: datetime | None) -> object:
        return None if value is None else self.instant(value)

    def instant_of(self, stored: object) -> datetime:
        """The aware UTC instant a stored value stands for (the reverse of :meth:`instant`)."""
        found = self._read_instants.get(stored)
        if found is None:
            if isinstance(stored, str):
                found = datetime.fromisoformat(stored).replace(tzinfo=UTC)
            elif isinstance(stored, datetime):
                found = stored.astimezone(UTC)
            else:
                raise TypeError(f"not a stored instant: {stored!r}")
            self._read_instants[stored] = found
        return found

    def optional_instant_of(self, stored: object) -> datetime | None:
        return None if stored is None else self.instant_of(stored)

    def select(
        self, statement: str, values: Sequence[object], *, among: Sequence[object]
    ) -> list[tuple[Any, ...]]:
        """Rows of ``statement``, whose ``{among}`` is a membership test on ``among``.

        ``values`` are the parameters before it, e.g.
        ``select("SELECT id FROM t WHERE org_id = ? AND user_id {among}", [7], among=ids)``
        (write the parameter marks as ``?``; they become the driver's own).
        """
        return self._fetch(*self._driver_sql(Read(statement, values, among)))

    def rows(self, statement: str, values: Sequence[object]) -> list[tuple[Any, ...]]:
        """Rows of ``statement`` (parameter marks written ``?``)."""
        return self._fetch(*self._driver_sql(Read(statement, values)))

    def read_all(self, reads: Sequence[Read]) -> list[list[tuple[Any, ...]]]:
        """Each read's rows, in order; on PostgreSQL all in one round trip (pipeline mode)."""
        statements = [self._driver_sql(read) for read in reads]
        if self._sqlite:
            return [self._fetch(sql, params) for sql, params in statements]
        dbapi_error = self._db.dialect.loaded_dbapi.Error
        driver = self._db.connection.driver_connection
        cursors = [driver.cursor() for _ in statements]  # type: ignore[union-attr]
        try:
            with driver.pipeline():  # type: ignore[union-attr]
                for cursor, (sql, params) in zip(cursors, statements, strict=True):
                    cursor.execute(sql, params)
                return [list(cursor.fetchall()) for cursor in cursors]
        except dbapi_error as exc:
            raise DBAPIError.instance(str(statements), None, exc, dbapi_error) from exc
        finally:
            for cursor in cursors:
                cursor.close()

    def _driver_sql(self, read: Read) -> tuple[str, tuple[object, ...]]:
        """The statement and parameters in the driver's own dialect."""
        if read.among is None:
            sql = read.statement if self._sqlite else read.statement.replace("?", "%s")
            return sql, tuple(read.values)
        if self._sqlite:
            among = read.among
            test = f"IN ({', '.join('?' * len(among))})" if among else "IN (NULL)"
            return read.statement.format(among=test), (*read.values, *among)
        sql = read.statement.replace("?", "%s").format(among="= ANY(%b)")
        return sql, (*read.values, list(read.among))

    def _fetch(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Rows from the driver's own cursor: these reads are small and frequent (a few per
        user view, per batch), and SQLAlchemy's execution context costs more than they do."""
        with self._cursor(sql, params) as cursor:
            cursor.execute(sql, tuple(params))
            return list(cursor.fetchall())

    @contextmanager
    def _cursor(self, statement: str, params: Sequence[object] | None = None) -> Iterator[Any]:
        """The driver's own cursor, in the connection's transaction. A driver error is raised
        as SQLAlchemy would raise it, so the API's handlers (a busy database, a duplicate
        eventId stored meanwhile by another worker) still apply."""
        dbapi_error = self._db.dialect.loaded_dbapi.Error
        cursor = self._db.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            yield cursor
        except dbapi_error as exc:
            raise DBAPIError.instance(statement, params, exc, dbapi_error) from exc
        finally:
            cursor.close()

    def flag(self, value: bool) -> object:
        return int(value) if self._sqlite else value

    def insert(self, table: Table, columns: Sequence[str], rows: list[tuple[object, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(columns)
        if not self._sqlite:
            statement = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
            self._copy(statement, _copy_types(self._db, table, columns), rows)
            return
        marks = ", ".join(["?"] * len(columns))
        self._execute_many(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)

    def update(
        self,
        table: Table,
        columns: Sequence[str],
        keys: Sequence[str],
        rows: list[tuple[object, ...]],
    ) -> None:
        """``UPDATE table SET columns... WHERE keys...``; each row is the columns, then the keys."""
        if not rows:
            return
        if not self._sqlite:
            sets = ", ".join(f"{name} = v.{name}" for name in columns)
            where = " AND ".join(f"t.{name} = v.{name}" for name in keys)
            arrays = self._arrays(table, (*columns, *keys))
            self._unnest(f"UPDATE {table.name} AS t SET {sets} FROM {arrays} WHERE {where}", rows)
            return
        sets = ", ".join(f"{name} = ?" for name in columns)
        where = " AND ".join(f"{name} = ?" for name in keys)
        self._execute_many(f"UPDATE {table.name} SET {sets} WHERE {where}", rows)

    def delete(self, table: Table, keys: Sequence[str], rows: list[tuple[object, ...]]) -> None:
        """``DELETE FROM table WHERE keys...``, once per row of key values."""
        if not rows:
            return
        if not self._sqlite:
            where = " AND ".join(f"t.{name} = v.{name}" for name in keys)
            arrays = self._arrays(table, keys)
            self._unnest(f"DELETE FROM {table.name} AS t USING {arrays} WHERE {where}", rows)
            return
        where = " AND ".join(f"{name} = ?" for name in keys)
        self._execute_many(f"DELETE FROM {table.name} WHERE {where}", rows)

    def upsert(
        self,
        table: Table,
        keys: Sequence[str],
        columns: Sequence[str],
        rows: list[tuple[object, ...]],
    ) -> None:
        """Insert rows of keys then columns; a row whose keys exist replaces its columns."""
        if not rows:
            return
        names = ", ".join((*keys, *columns))
        sets = ", ".join(f"{name} = excluded.{name}" for name in columns)
        conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
        if not self._sqlite:
            arrays = self._arrays(table, (*keys, *columns))
            self._unnest(
                f"INSERT INTO {table.name} ({names}) SELECT * FROM {arrays} {conflict}", rows
            )
            return
        marks = ", ".join(["?"] * (len(keys) + len(columns)))
        self._execute_many(f"INSERT INTO {table.name} ({names}) VALUES ({marks}) {conflict}", rows)

    def _execute_many(self, statement: str, rows: list[tuple[object, ...]]) -> None:
        """SQLite: ``statement`` once per row, on the driver's own cursor in the connection's
        transaction (SQLAlchemy's execution context cost more than a one-row write)."""
        with self._cursor(statement) as cursor:
            cursor.executemany(statement, rows)

    def _copy(self, statement: str, types: Sequence[str], rows: list[tuple[object, ...]]) -> None:
        """PostgreSQL's ``COPY ... FROM STDIN``, in the binary format: measured 2.6 times
        faster than an ``unnest`` insert for a batch's user targets and ledger rows
        (``benchmarks/storage_floor.py``), and the binary format about 6 times faster than
        the text one (psycopg's C dumpers write each value, and the server parses no text
        timestamps). Each column's dumper is fixed by :func:`_copy_types`: a value of
        another type is refused, never stored as something else."""
        with self._cursor(statement) as cursor, cursor.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)

    def _arrays(self, table: Table, columns: Sequence[str]) -> str:
        """``unnest(%b::type[], ...) AS v(columns)``: one array per column, sent in binary."""
        types = [table.c[name].type.compile(dialect=self._db.dialect) for name in columns]
        casts = ", ".join(f"%b::{type_}[]" for type_ in types)
        return f"unnest({casts}) AS v({', '.join(columns)})"

    def _unnest(self, statement: str, rows: list[tuple[object, ...]]) -> None:
        """Run ``statement`` once, with the rows turned into one list per column."""
        columns = tuple(list(column) for column in zip(*rows, strict=True))
        self._db.exec_driver_sql(statement, columns)


# PostgreSQL column types as binary COPY writes them. A JSON column's binary form is its
# text (``json_recv`` reads text), and the values given for it are JSON text already.
_COPY_TYPES = {
    "BIGINT": "int8",
    "INTEGER": "int4",
    "BOOLEAN": "bool",
    "TEXT": "text",
    "JSON": "text",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
}
_copy_types_of: dict[tuple[str, tuple[str, ...]], list[str]] = {}


def _copy_types(connection: Connection, table: Table, columns: Sequence[str]) -> list[str]:
    """The binary COPY type of each column (VARCHAR(n) is written as text)."""
    key = (table.name, tuple(columns))
    found = _copy_types_of.get(key)
    if found is None:
        found = []
        for name in columns:
            compiled = table.c[name].type.compile(dialect=connection.dialect)
            found.append("text" if compiled.startswith("VARCHAR") else _COPY_TYPES[compiled])
        _copy_types_of[key] = found
    return found
