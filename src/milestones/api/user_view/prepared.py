"""What the user view shows of a group whoever the customer is, worked out once per catalogue.

A customer's view repeats the same period dates, names and timestamps for every customer;
only their values (progress, enrolment, milestones reached) differ. A :class:`Prepared`
holds, for every group of one org's catalogue, the customer-independent part of each
entry: the ``targets[]`` skeletons per (target, period), the audit times as text, and the
fixed periods' starts to find the current one by bisection.

It is keyed on the :class:`~milestones.engine.catalogue.Catalogue` object itself, which the
engine's cache replaces whenever the org's groups change (their revision signature moves):
a changed group can never be shown from a stale skeleton. Nothing here depends on ``now``
or on a customer; those are filled in per request (``views.EntryWriter``).
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from milestones.domain.orgs import ApiClient
from milestones.domain.periods import EvaluationType
from milestones.domain.placement import fixed_period_at, starts_of
from milestones.domain.progress import UserTarget
from milestones.domain.standing import Known, streaks_of, target_value
from milestones.domain.streaks import PeriodResult, StreakStatus
from milestones.domain.target_groups import (
    EnrolmentMethod,
    Period,
    Target,
    TargetGroup,
    TrackingType,
)
from milestones.domain.times import offset_text, utc_text
from milestones.engine.catalogue import Catalogue

Json = dict[str, object]
_UTC = ZoneInfo("UTC")
_NOBODY = Known.of([], {}, [], set())
USER_TRIGGER = "USER_TRIGGER"
# Idle entries kept per group: one per current period and set of targets shown; a group
# that somehow makes more (many option combinations) starts over rather than grow.
_IDLE_ENTRIES_KEPT = 64


@dataclass(frozen=True, slots=True)
class PreparedGroup:
    """One group's customer-independent view parts (read-only: copy before changing)."""

    group: TargetGroup
    created_on: str
    last_updated_on: str
    cells: dict[tuple[int, int], Json]
    idle_cells: dict[tuple[int, int], Json]
    fixed_starts: tuple[datetime, ...] | None
    fixed_ends: tuple[datetime, ...] | None
    # The active targets, when anyone can join every one of them (TRANSACTION enrolment).
    open_targets: list[Target] | None
    _idle_streaks: dict[int, list[StreakStatus]]
    idle_entries: dict[tuple[object, ...], list[bytes]]

    def current_periods(self, now: datetime) -> list[Period] | None:
        """The periods containing ``now`` for a FIXED group with sorted, disjoint periods.

        ``None`` when that shortcut does not apply (the caller lays out every period).
        """
        if self.fixed_starts is None:
            return None
        period = fixed_period_at(self.group.periods, self.fixed_starts, now)
        return [] if period is None else [period]

    def idle_streaks(self, now: datetime) -> list[StreakStatus]:
        """The streak levels of a customer with nothing stored on this FIXED group's targets.

        They depend on ``now`` only through which periods have ended, so they are kept per
        count of ended periods (the periods are in order and disjoint).
        """
        assert self.fixed_ends is not None
        ended = bisect_right(self.fixed_ends, now)
        found = self._idle_streaks.get(ended)
        if found is None:
            found = self._idle_streaks[ended] = streaks_of(self.group, _NOBODY, now)
        return found

    def remember_idle_entry(self, key: tuple[object, ...], parts: list[bytes]) -> None:
        """Keep an idle entry's JSON (split around ``enrolledOn``) for the next customer."""
        if len(self.idle_entries) >= _IDLE_ENTRIES_KEPT:
            self.idle_entries.clear()
        self.idle_entries[key] = parts

    def idle_cell(self, target_id: int, period_id: int) -> Json:
        """A current ``targets[]`` entry for a customer with nothing stored on the target,
        but for ``enrolledOn`` (which is ``now``)."""
        return self.idle_cells[(target_id, period_id)]

    def cell(self, target_id: int, period_id: int) -> Json | None:
        """The skeleton of a ``targets[]`` entry shown with the period's own window."""
        return self.cells.get((target_id, period_id))


def prepare_group(group: TargetGroup) -> PreparedGroup:
    """Everything in ``group``'s entries that no customer and no ``now`` changes."""
    zone = group.zone
    exclusive = group.evaluation_type is EvaluationType.CYCLIC_WINDOW
    cells: dict[tuple[int, int], Json] = {}
    idle_cells: dict[tuple[int, int], Json] = {}
    for period in group.periods:
        window = period.window
        start_date = window.start_date(zone).isoformat()
        end_date = window.end_date(zone).isoformat()
        starts_text = utc_text(window.starts_at)
        ends_text = utc_text(window.ends_at if exclusive else window.last_instant)
        for target in group.targets:
            cell = _cell(group, target, period, start_date, end_date, starts_text, ends_text)
            cells[(target.id, period.id)] = cell
            idle_cells[(target.id, period.id)] = _idle(cell, target, period)
    starts = _fixed_starts(group)
    return PreparedGroup(
        group=group,
        created_on=offset_text(group.audit.created_at, zone),
        last_updated_on=offset_text(group.audit.updated_at, zone),
        cells=cells,
        idle_cells=idle_cells,
        fixed_starts=starts,
        fixed_ends=None if starts is None else tuple(p.window.ends_at for p in group.periods),
        open_targets=_open_targets(group),
        _idle_streaks={},
        idle_entries={},
    )


def _idle(cell: Json, target: Target, period: Period) -> Json:
    """What ``views.target_entry`` shows in a current period without progress or enrolment."""
    idle = dict(cell)
    idle["targetValue"] = target_value(target, period, None, None)
    idle["targetAchievedValue"] = Decimal(0)
    idle["currentPeriod"] = True
    idle["milestones"] = milestones(target, None)
    if "periodOutcome" in idle:
        idle["periodOutcome"] = PeriodResult.RUNNING.value
    return idle


def _cell(
    group: TargetGroup,
    target: Target,
    period: Period,
    start_date: str,
    end_date: str,
    starts_text: str,
    ends_text: str,
) -> Json:
    # Key order is the answer's key order; None marks what each customer fills in.
    cell: Json = {
        "targetId": None,
        "orgId": group.org_id,
        "periodId": period.id,
        "periodRefCode": period.ref_code,
        "periodStartDate": start_date,
        "periodEndDate": end_date,
        "targetValue": None,
        "targetAchievedValue": None,
        "targetName": target.name,
        "targetType": target.target_type,
        "targetEntity": target.entity.value,
        "targetRuleId": target.id,
        "enrolledOn": None,
        "eventName": target.event_name,
        "periodStartDateWithTimeStamp": starts_text,
        "periodEndDateWithTimeStamp": ends_text,
        "targetAchievedDateTime": None,
        "currentPeriod": None,
        "milestones": None,
    }
    if group.tracking_type.is_streak:
        cell["periodOutcome"] = None
    return cell


def _open_targets(group: TargetGroup) -> list[Target] | None:
    active = [target for target in group.targets if target.active]
    if all(target.enrolment_method is EnrolmentMethod.TRANSACTION for target in active):
        return active
    return None


def _fixed_starts(group: TargetGroup) -> tuple[datetime, ...] | None:
    """Period starts of a FIXED group whose periods are in order and do not overlap."""
    if group.evaluation_type is not EvaluationType.FIXED_CALENDAR_WINDOW:
        return None
    windows = [period.window for period in group.periods]
    for before, after in pairwise(windows):
        if before.ends_at > after.starts_at:
            return None
    return starts_of(group.periods)


def milestones(target: Target, progress: UserTarget | None) -> list[Json] | None:
    """The target's active user triggers and whether each is reached; None when it has none."""
    reached = progress.milestones if progress else {}
    entries: list[Json] = [
        {
            "id": trigger.id,
            "triggerName": trigger.name,
            "triggerValueType": trigger.value_type.value,
            "triggerValue": trigger.value,
            "isAchieved": trigger.id in reached,
            "achievedDateTime": _utc_or_none(reached.get(trigger.id)),
        }
        for trigger in target.triggers
        if trigger.trigger_type == USER_TRIGGER and trigger.is_active
    ]
    return entries or None


def _utc_or_none(instant: datetime | None) -> str | None:
    return utc_text(instant) if instant is not None else None


@dataclass(frozen=True, slots=True)
class StandingKeys:
    """What a customer's standing is read for, over every group in scope (shown or not):
    the cyclic groups' anchors, the audiences targets filter on, and the targets of unified
    and streak groups (whose achievements decide whether group achievements are read)."""

    cyclic_group_ids: frozenset[int]
    audience_ids: frozenset[int]
    whole_target_ids: frozenset[int]

    @classmethod
    def of(cls, catalogue: Catalogue) -> StandingKeys:
        cyclic: set[int] = set()
        audiences: set[int] = set()
        wholes: set[int] = set()
        for tracked in catalogue.by_id.values():
            group = tracked.group
            if group.evaluation_type is EvaluationType.CYCLIC_WINDOW:
                cyclic.add(group.id)
            if group.tracking_type is TrackingType.UNIFIED or group.tracking_type.is_streak:
                wholes.add(tracked.id)
            audiences |= tracked.audience_ids
        return cls(frozenset(cyclic), frozenset(audiences), frozenset(wholes))

    def __or__(self, other: StandingKeys) -> StandingKeys:
        return StandingKeys(
            self.cyclic_group_ids | other.cyclic_group_ids,
            self.audience_ids | other.audience_ids,
            self.whole_target_ids | other.whole_target_ids,
        )


class Prepared:
    """Every group of one catalogue, prepared, and the keys of a customer's standing in it."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.groups: dict[int, PreparedGroup] = {}
        for tracked in catalogue.by_id.values():
            if tracked.group.id not in self.groups:
                self.groups[tracked.group.id] = prepare_group(tracked.group)
        self.keys = StandingKeys.of(catalogue)


class ViewCache:
    """Prepared catalogues (weakly keyed on the engine's catalogue objects) and API clients.

    API clients are only ever inserted, never changed or deleted, so a client once read is
    kept for the life of the process; ids not found are asked again every time.
    """

    def __init__(self) -> None:
        self._prepared: weakref.WeakKeyDictionary[Catalogue, Prepared] = weakref.WeakKeyDictionary()
        self._clients: dict[int, ApiClient] = {}
        self._lock = threading.Lock()

    def prepared(self, catalogue: Catalogue) -> Prepared:
        with self._lock:
            found = self._prepared.get(catalogue)
        if found is not None:
            return found
        made = Prepared(catalogue)
        with self._lock:
            return self._prepared.setdefault(catalogue, made)

    def known_clients(self, client_ids: set[int]) -> tuple[dict[int, ApiClient], set[int]]:
        """The clients already read, and the ids still to read."""
        with self._lock:
            found = {i: self._clients[i] for i in client_ids if i in self._clients}
        return found, client_ids - found.keys()

    def remember_clients(self, clients: dict[int, ApiClient]) -> None:
        with self._lock:
            if len(self._clients) > 10_000:
                self._clients.clear()
            self._clients.update(clients)
