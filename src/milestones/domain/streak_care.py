"""Streak care settings (SPEC §17): freezes, repair, the at-risk notice, per-customer periods.

A streak group may let a customer hold freezes (granted every ``grant_every`` achieved
periods, up to ``max_held``), repair a missed period within ``repair_window_days`` of its
end (at most ``max_repairs`` times), and be told ``at_risk_hours`` before their run
would reset. A FIXED DAILY or WEEKLY group may cut each customer's periods in the
customer's own zone (``PeriodZone.CUSTOMER``).

>>> check_care(CareInput(max_held=2, grant_every=3, given=frozenset({"streakFreezes"})),
...            TrackingType.STREAKS,
...            EvaluationType.FIXED_CALENDAR_WINDOW, FrequencyType.DAILY)
StreakCare(max_held=2, grant_every=3, repair_window_days=None, max_repairs=None, \
at_risk_hours=None, period_zone=<PeriodZone.GROUP: 'GROUP'>)
"""

from __future__ import annotations

from dataclasses import dataclass

from milestones.domain.care_settings import NO_CARE, PeriodZone, StreakCare
from milestones.domain.errors import InvalidInput
from milestones.domain.periods import EvaluationType, FrequencyType
from milestones.domain.target_groups import TrackingType

MAX_FREEZES_HELD = 100
MAX_GRANT_EVERY = 1000
MAX_REPAIR_WINDOW_DAYS = 365
MAX_REPAIRS = 1000
_AT_RISK_HOURS_MAX = {FrequencyType.DAILY: 23, FrequencyType.WEEKLY: 167}
_AT_RISK_HOURS_LONGER = 671


@dataclass(frozen=True, slots=True)
class CareInput:
    """The care fields of a create or PUT body. ``given`` names the fields the body has
    (``streakFreezes``, ``repairWindowDays``, ``maxRepairs``, ``atRiskHours``,
    ``periodZone``): a field given as null turns its feature off, one left out keeps it."""

    max_held: int | None = None
    grant_every: int | None = None
    repair_window_days: int | None = None
    max_repairs: int | None = None
    at_risk_hours: int | None = None
    period_zone: PeriodZone | None = None
    given: frozenset[str] = frozenset()

    def pick(self, field: str, value: int | None, stored: int | None) -> int | None:
        return value if field in self.given else stored


def check_care(
    care: CareInput | None,
    tracking: TrackingType,
    evaluation: EvaluationType,
    frequency: FrequencyType,
    stored: StreakCare = NO_CARE,
) -> StreakCare:
    """The group's care settings: ``care`` (a body's fields) over ``stored`` ones, checked."""
    care = care or CareInput()
    max_held = care.pick("streakFreezes", care.max_held, stored.max_held)
    grant_every = care.pick("streakFreezes", care.grant_every, stored.grant_every)
    window = care.pick("repairWindowDays", care.repair_window_days, stored.repair_window_days)
    repairs = care.pick("maxRepairs", care.max_repairs, stored.max_repairs)
    if "repairWindowDays" in care.given and window is None and "maxRepairs" not in care.given:
        repairs = None  # repairs turned off
    at_risk = care.pick("atRiskHours", care.at_risk_hours, stored.at_risk_hours)
    zone = care.period_zone or stored.period_zone
    if not tracking.is_streak:
        for field, value in (
            ("streakFreezes", max_held),
            ("repairWindowDays", window),
            ("maxRepairs", repairs),
            ("atRiskHours", at_risk),
        ):
            if value is not None:
                raise InvalidInput(f"{field} belongs to streak groups, not {tracking.value}", field)
    if max_held is None and grant_every is not None:
        raise InvalidInput("streakFreezes.maxHeld is required", "streakFreezes.maxHeld")
    _check_range(max_held, 1, MAX_FREEZES_HELD, "streakFreezes.maxHeld")
    _check_range(grant_every, 1, MAX_GRANT_EVERY, "streakFreezes.grantEveryAchieved")
    if repairs is not None and window is None:
        raise InvalidInput("maxRepairs needs repairWindowDays", "repairWindowDays")
    _check_range(window, 1, MAX_REPAIR_WINDOW_DAYS, "repairWindowDays")
    if window is not None and repairs is None:
        repairs = 1
    _check_range(repairs, 1, MAX_REPAIRS, "maxRepairs")
    _check_range(
        at_risk, 1, _AT_RISK_HOURS_MAX.get(frequency, _AT_RISK_HOURS_LONGER), "atRiskHours"
    )
    if zone is PeriodZone.CUSTOMER and (
        evaluation is not EvaluationType.FIXED_CALENDAR_WINDOW
        or frequency not in (FrequencyType.DAILY, FrequencyType.WEEKLY)
    ):
        raise InvalidInput(
            "periodZone CUSTOMER needs a FIXED_CALENDAR_WINDOW DAILY or WEEKLY group",
            "periodZone",
        )
    return StreakCare(max_held, grant_every, window, repairs, at_risk, zone)


def _check_range(value: int | None, low: int, high: int, field: str) -> None:
    if value is not None and not low <= value <= high:
        raise InvalidInput(f"{field} must be from {low} to {high}, got {value}", field)


def care_columns(care: StreakCare) -> dict[str, object]:
    """The group's stored columns for ``care``."""
    return {
        "freezes_max_held": care.max_held,
        "freezes_grant_every": care.grant_every,
        "repair_window_days": care.repair_window_days,
        "max_repairs": care.max_repairs,
        "at_risk_hours": care.at_risk_hours,
        "period_zone": care.period_zone.value,
    }


def care_changed(stored: StreakCare, changes: dict[str, object]) -> bool:
    """Whether a group's ``changes`` (stored columns) change its care settings."""
    before = care_columns(stored)
    return any(name in changes and changes[name] != value for name, value in before.items())
