"""Column types that keep money exact and instants timezone-aware on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer
from sqlalchemy.types import TypeDecorator

MILLI = Decimal("0.001")


# A batch stores the same few values (targets' values, bills) thousands of times. Equal
# Decimals give the same thousandths, so the value itself is the key; bounded.
_STORED: dict[Decimal, int] = {}
_STORED_MAX = 65_536


def money_to_stored(value: Decimal) -> int:
    """Integer thousandths: ``Decimal("1200.5")`` -> ``1200500``."""
    if not value.is_finite():  # NaN or infinite: refused by quantize, never remembered
        return int(value.quantize(MILLI).scaleb(3))
    found = _STORED.get(value)
    if found is None:
        found = int(value.quantize(MILLI).scaleb(3))
        if len(_STORED) >= _STORED_MAX:
            _STORED.clear()
        _STORED[value] = found
    return found


def money_from_stored(stored: int) -> Decimal:
    """The Decimal a count of thousandths stands for: ``1200500`` -> ``Decimal("1200.500")``."""
    return Decimal(int(stored)).scaleb(-3).quantize(MILLI)


# SQLite only auto-increments an INTEGER PRIMARY KEY, so ids are BIGINT elsewhere.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Money(TypeDecorator[Decimal]):
    """A decimal with 3 places, stored as an integer count of thousandths.

    Integers are exact on every engine, sum exactly in SQL and index well;
    ``Decimal("1200.5")`` is stored as ``1200500``.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return money_to_stored(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return money_from_stored(value)


class Instant(TypeDecorator[datetime]):
    """A UTC instant: ``timestamptz`` on PostgreSQL, naive UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to an Instant column")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
