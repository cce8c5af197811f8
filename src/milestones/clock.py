"""The server's notion of "now": the system clock, or a fixed instant for tests and demos."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Answers the current UTC instant; ``fixed_at`` pins it (``MILESTONES_NOW``)."""

    def __init__(self, fixed_at: datetime | None = None) -> None:
        self._fixed_at = _as_utc(fixed_at) if fixed_at is not None else None

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        if self._fixed_at is not None:
            return self._fixed_at
        return datetime.now(UTC)

    def set(self, instant: datetime) -> None:
        """Pin the clock to ``instant`` (tests move time with it)."""
        self._fixed_at = _as_utc(instant)

    def advance(self, delta: timedelta) -> None:
        """Move a pinned clock forward."""
        self._fixed_at = self.now() + delta


def _as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)
