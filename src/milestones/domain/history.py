"""Which stored events a group's history reaches (SPEC §16): for backfills, rebuilds, prunes.

A group counts events whose ``eventTime`` falls inside its dates: from its start (its
``targetCycleStartDate``, or its first period's start) to its end (``targetCycleEndDate``
read as :attr:`TargetGroup.closes_at`, or a FIXED group's last period's end). A group whose periods
are cut in each customer's own zone (``periodZone: CUSTOMER``) reaches up to a day on
either side, where a customer's local day begins or ends. A return has no end: it takes
back what its bill brought, whenever it comes.

A group *still needs* the events before an instant when it is active, has not ended, and
its dates reach back before that instant: a prune must keep them.

>>> from datetime import UTC
>>> start = datetime(2024, 8, 1, tzinfo=UTC)
>>> needs_events_before(start, None, start, active=True, now=start)
False
>>> needs_events_before(start, None, start + timedelta(days=1), active=True, now=start)
True
"""

from __future__ import annotations

from datetime import datetime, timedelta

from milestones.domain.periods import EvaluationType
from milestones.domain.placement import cut_per_customer
from milestones.domain.target_groups import TargetGroup

ZONE_REACH = timedelta(days=1, hours=2)
"""How far a customer's local day can begin or end from the group's own (UTC-12 to +14)."""


def dates_start(group: TargetGroup) -> datetime | None:
    """The first instant the group counts (None: it has no dates, which never happens)."""
    starts = [period.window.starts_at for period in group.periods]
    first = group.cycle_start or (min(starts) if starts else None)
    if first is not None and cut_per_customer(group):
        return first - ZONE_REACH
    return first


def dates_end(group: TargetGroup) -> datetime | None:
    """The instant the group stops counting (exclusive); None: it never ends."""
    end = group.closes_at
    fixed = group.evaluation_type is EvaluationType.FIXED_CALENDAR_WINDOW
    if end is None and fixed and group.periods:  # CYCLIC cycles run on from each anchor
        end = max(period.window.ends_at for period in group.periods)
    if end is not None and cut_per_customer(group):
        return end + ZONE_REACH
    return end


def has_ended(group: TargetGroup, now: datetime) -> bool:
    end = dates_end(group)
    return end is not None and end <= now


def needs_events_before(
    start: datetime | None,
    end: datetime | None,
    before: datetime,
    *,
    active: bool,
    now: datetime,
) -> bool:
    """Whether a group of these dates still needs the events stamped before ``before``."""
    if not active or (end is not None and end <= now):
        return False
    return start is None or start < before


def group_needs_events_before(group: TargetGroup, before: datetime, now: datetime) -> bool:
    """:func:`needs_events_before` for a stored group."""
    return needs_events_before(
        dates_start(group), dates_end(group), before, active=group.active, now=now
    )
