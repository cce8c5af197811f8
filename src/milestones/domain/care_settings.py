"""A streak group's care settings (SPEC §17), as stored on the group; None turns one off.

The rules that check them are in :mod:`milestones.domain.streak_care`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PeriodZone(StrEnum):
    """Whose zone cuts a FIXED group's periods: the group's, or each customer's own."""

    GROUP = "GROUP"
    CUSTOMER = "CUSTOMER"


@dataclass(frozen=True, slots=True)
class StreakCare:
    """Freezes (held up to ``max_held``, one granted every ``grant_every`` achieved periods),
    repairs (within ``repair_window_days`` of a period's end, ``max_repairs`` per customer),
    the at-risk notice ``at_risk_hours`` before a run resets, and whose zone cuts periods."""

    max_held: int | None = None
    grant_every: int | None = None
    repair_window_days: int | None = None
    max_repairs: int | None = None
    at_risk_hours: int | None = None
    period_zone: PeriodZone = PeriodZone.GROUP

    @property
    def freezes(self) -> bool:
        return self.max_held is not None

    @property
    def repairs(self) -> bool:
        return self.repair_window_days is not None

    @property
    def per_customer(self) -> bool:
        return self.period_zone is PeriodZone.CUSTOMER


NO_CARE = StreakCare()


@dataclass(frozen=True, slots=True)
class CareTimeline:
    """A group's care settings through time: ``current`` since the last change, and each
    earlier version with the instant it stopped applying (``before``, in that order).

    A period is judged by the settings in force when it ended, an achievement by those in
    force when it was made: a PUT applies to the periods that have not ended yet.
    """

    current: StreakCare = NO_CARE
    before: tuple[tuple[datetime, StreakCare], ...] = ()

    def at(self, instant: datetime | None) -> StreakCare:
        if instant is not None:
            for until, care in self.before:
                if instant < until:
                    return care
        return self.current
