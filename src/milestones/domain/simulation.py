"""What a draft group would do over the stored events (SPEC §16): its range and its figures.

A simulation applies the org's stored events to a group that does not exist, as a
backfill of it would, and answers per target and period:

- ``reached``: customers with progress there (a user target: an event of theirs counted
  toward the target in that period, even if a return took it back to 0);
- ``achieved``: those whose target is achieved (``targetAchievedDateTime`` set);
- per milestone trigger (the active ones the group set, as the user view lists them), the
  customers who achieved it;
- the achieved value's p25, p50, p75 and p90 over the customers reached (nearest rank:
  always one of their values, exact to the thousandth; none when nobody was reached);
- CAPPING groups: the total counted (the sum of the achieved values) and the excess
  (what the cap left out);

and per streak level, the customers who reached it (status ``ACHIEVED``).

>>> values = [Decimal(v) for v in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)]
>>> [str(nearest_rank(values, p)) for p in QUANTILES]
['30', '50', '80', '90']
>>> when = simulation_range("2024-08-01", "2024-08-31", ZoneInfo("UTC"))
>>> when.starts_at.isoformat(), when.ends_at.isoformat()
('2024-08-01T00:00:00+00:00', '2024-09-01T00:00:00+00:00')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from milestones.domain.errors import InvalidInput
from milestones.domain.progress import UserTarget
from milestones.domain.streaks import StreakState, StreakStatus
from milestones.domain.target_groups import (
    MilestoneTrigger,
    Period,
    StreakLevel,
    Target,
    TargetGroup,
    TrackingType,
)
from milestones.domain.times import TimeFormatError, parse_local_or_instant

QUANTILES = (25, 50, 75, 90)
# The triggers a marketer set (the user view lists them): the system one is ``achieved``.
USER_TRIGGER = "USER_TRIGGER"
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class SimulationRange:
    """The events' times a simulation reads: from ``starts_at`` (included) to ``ends_at``
    (excluded)."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class SimulationAsk:
    """A simulation asked for: the draft group (held in memory, ids of its own), the range
    asked, and the id of the org's last event stored when it was asked (the events read
    stop there)."""

    group: TargetGroup
    asked: SimulationRange
    upto_pk: int


def simulation_range(from_text: str, to_text: str, zone: ZoneInfo) -> SimulationRange:
    """``from`` and ``to`` of a simulation, read in ``zone`` when they carry no offset.

    A date alone as ``from`` is that day's first instant; as ``to``, the whole day is in
    (the range ends at the next midnight). An instant is exact: ``to`` is excluded.
    """
    starts_at, _ = _read(from_text, zone, "from")
    ends_at, has_time = _read(to_text, zone, "to")
    if not has_time:
        day = ends_at.astimezone(zone).date() + timedelta(days=1)
        ends_at, _ = parse_local_or_instant(day.isoformat(), zone)
    # A date as ``to`` is a whole day: a ``from`` at its end or later is after it.
    if starts_at > ends_at or (starts_at == ends_at and not has_time):
        raise InvalidInput("from must not be after to", "from")
    return SimulationRange(starts_at, ends_at)


def _read(text: str, zone: ZoneInfo, field_name: str) -> tuple[datetime, bool]:
    try:
        return parse_local_or_instant(text, zone)
    except TimeFormatError as exc:
        raise InvalidInput(str(exc), field_name) from exc


def nearest_rank(ordered: Sequence[Decimal], quantile: int) -> Decimal:
    """The ``quantile`` percentile of ``ordered`` (ascending, not empty): the smallest value
    at or below which at least ``quantile`` % of the values lie."""
    rank = max(1, -(-quantile * len(ordered) // 100))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class TriggerFigures:
    trigger: MilestoneTrigger
    achieved: int


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """One target in one period (for CYCLIC groups, cycle n; AGNOSTIC, slot n)."""

    period: Period
    reached: int
    achieved: int
    triggers: list[TriggerFigures]
    quantiles: dict[int, Decimal] | None  # by percentile; None when nobody was reached
    counted: Decimal | None = None  # CAPPING only
    excess: Decimal | None = None  # CAPPING only


@dataclass(frozen=True, slots=True)
class TargetFigures:
    target: Target
    periods: list[PeriodFigures]


@dataclass(frozen=True, slots=True)
class StreakFigures:
    level: StreakLevel
    achieved: int


@dataclass(frozen=True, slots=True)
class Figures:
    """What a simulation answers."""

    targets: list[TargetFigures]
    streaks: list[StreakFigures] = field(default_factory=list)
    customers: int = 0  # customers reached anywhere in the group


def figures_of(
    group: TargetGroup,
    user_targets: Iterable[UserTarget],
    excess: Mapping[int, Decimal],
    streaks: Iterable[Sequence[StreakStatus]] = (),
) -> Figures:
    """The figures of ``group`` from every customer's user targets of it, the excess each
    CAPPING user target holds (by id), and each customer's streak statuses."""
    cells: dict[tuple[int, int], list[UserTarget]] = {}
    customers: set[int] = set()
    for user_target in user_targets:
        customers.add(user_target.user_id)
        cells.setdefault((user_target.target_id, user_target.period_id), []).append(user_target)
    capping = group.tracking_type is TrackingType.CAPPING
    targets = [
        TargetFigures(
            target,
            [
                _period(target, period, cells.get((target.id, period.id), []), excess, capping)
                for period in group.periods
            ],
        )
        for target in group.targets
    ]
    achieved: dict[int, int] = {level.id: 0 for level in group.streaks}
    for statuses in streaks:
        for status in statuses:
            if status.status == StreakState.ACHIEVED and status.rule.id in achieved:
                achieved[status.rule.id] += 1
    levels = [StreakFigures(level, achieved[level.id]) for level in group.streaks]
    return Figures(targets, levels, len(customers))


def _period(
    target: Target,
    period: Period,
    held: list[UserTarget],
    excess: Mapping[int, Decimal],
    capping: bool,
) -> PeriodFigures:
    values = sorted(user_target.achieved_value for user_target in held)
    return PeriodFigures(
        period=period,
        reached=len(held),
        achieved=sum(1 for user_target in held if user_target.achieved_at is not None),
        triggers=[
            TriggerFigures(
                trigger, sum(1 for user_target in held if trigger.id in user_target.milestones)
            )
            for trigger in target.triggers
            if trigger.trigger_type == USER_TRIGGER and trigger.is_active
        ],
        quantiles={q: nearest_rank(values, q) for q in QUANTILES} if values else None,
        counted=sum(values, ZERO) if capping else None,
        excess=sum((excess.get(ut.id, ZERO) for ut in held), ZERO) if capping else None,
    )
