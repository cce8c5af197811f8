"""The state of the customers in one batch, loaded once, changed in memory, saved once."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from milestones.domain.enrolment import EnrolmentRecord
from milestones.domain.outcomes import ContributionKind
from milestones.domain.progress import UserTarget
from milestones.domain.streaks import NO_RECORD, CareRecord


@dataclass(slots=True)
class Day:
    """A customer's activity on one target on one local day (VISIT and MAX rules)."""

    visited: bool = False
    max_value: Decimal | None = None
    is_new: bool = True
    dirty: bool = False


@dataclass(slots=True)  # made per contribution: see contribute.Effect
class LedgerEntry:
    """One applied contribution: which event, which user target, how much."""

    event_index: int
    user_target: UserTarget
    amount: Decimal
    kind: ContributionKind
    event_pk: int | None = None  # a stored event's (a re-placement's new EXCESS row)


@dataclass(slots=True)
class LedgerMove:
    """A stored ledger row (``contributions.id``) re-pointed, or dropped when ``to`` is None."""

    contribution_id: int
    to: UserTarget | None
    amount: Decimal


@dataclass
class CustomerState:
    """What the store loads for a batch's customers."""

    user_targets: list[UserTarget] = field(default_factory=list)
    days: dict[tuple[int, str], Day] = field(default_factory=dict)
    anchors: dict[tuple[int, int], datetime] = field(default_factory=dict)
    enrolments: list[EnrolmentRecord] = field(default_factory=list)
    memberships: set[tuple[int, int]] = field(default_factory=set)
    custom_fields: dict[int, dict[str, object]] = field(default_factory=dict)
    group_achievements: dict[tuple[int, int, int], datetime] = field(default_factory=dict)
    # Zone histories (oldest first; None: cleared), loaded only for per-customer groups.
    zones: dict[int, list[tuple[datetime, str | None]]] = field(default_factory=dict)
    care: dict[tuple[int, int], CareRecord] = field(default_factory=dict)  # (group, user)


class WorkingSet:
    """Customer state plus every change made to it while a batch is processed."""

    def __init__(self, state: CustomerState) -> None:
        self._by_key: dict[tuple[int, int, int], UserTarget] = {}
        self.by_id: dict[int, UserTarget] = {}
        for user_target in state.user_targets:
            self._index(user_target)
        self.days = state.days
        self.anchors = state.anchors
        self.new_anchors: dict[tuple[int, int], datetime] = {}
        self.moved_anchors: dict[tuple[int, int], datetime] = {}
        self.memberships = state.memberships
        self.custom_fields = state.custom_fields
        self.group_achievements = state.group_achievements
        self.zones = state.zones
        self.care = state.care
        self.group_achievements_added: dict[tuple[int, int, int], datetime] = {}
        self.group_achievements_removed: set[tuple[int, int, int]] = set()
        self.enrolments: dict[tuple[int, int], list[EnrolmentRecord]] = {}
        for enrolment in state.enrolments:
            self.enrolments.setdefault((enrolment.target_id, enrolment.user_id), []).append(
                enrolment
            )
        self.new_user_targets: list[UserTarget] = []
        self.dirty: dict[int, UserTarget] = {}
        self.milestones_added: list[tuple[UserTarget, int, datetime]] = []
        self.milestones_removed: list[tuple[UserTarget, int]] = []
        self.ledger: list[LedgerEntry] = []
        self.ledger_of_event: dict[int, list[LedgerEntry]] = {}
        # CAPPING: what user targets hold past their cap (EXCESS ledger rows), stored + this batch.
        self.excess_stored: dict[int, Decimal] = {}
        self.excess_added: dict[int, Decimal] = {}
        self._new_ids = itertools.count(-1, -1)
        # Re-anchored cycles (engine.anchors): what save() must rewrite rather than add.
        self.relaid: dict[int, UserTarget] = {}  # stored user targets with a new window
        self.removed: set[int] = set()  # stored user targets to delete
        self.reset: set[int] = set()  # stored user targets whose milestones and days are redone
        self.ledger_moves: dict[int, LedgerMove] = {}  # stored ledger rows re-pointed or dropped

    def _index(self, user_target: UserTarget) -> None:
        self._by_key[(user_target.target_id, user_target.period_id, user_target.user_id)] = (
            user_target
        )
        self.by_id[user_target.id] = user_target

    def adopt(self, loaded: Iterable[UserTarget]) -> None:
        """Track stored user targets loaded after the batch began (never replacing one)."""
        for user_target in loaded:
            if user_target.id not in self.by_id:
                self._index(user_target)

    def find(self, target_id: int, period_id: int, user_id: int) -> UserTarget | None:
        return self._by_key.get((target_id, period_id, user_id))

    def add(self, user_target: UserTarget) -> UserTarget:
        """Track a new user target; it gets a provisional negative id until saved."""
        user_target.id = next(self._new_ids)
        self._index(user_target)
        self.new_user_targets.append(user_target)
        return user_target

    def group_achieved_at(self, group_id: int, period_id: int, user_id: int) -> datetime | None:
        return self.group_achievements.get((group_id, period_id, user_id))

    def care_of(self, group_id: int, user_id: int) -> CareRecord:
        return self.care.get((group_id, user_id), NO_RECORD)

    def record_group_achievement(self, key: tuple[int, int, int], at: datetime | None) -> None:
        """Note (``at``) or take back (None) a group's achievement in a period."""
        if at is None:
            self.group_achievements.pop(key, None)
            self.group_achievements_added.pop(key, None)
            self.group_achievements_removed.add(key)
        else:
            self.group_achievements[key] = at
            self.group_achievements_added[key] = at
            self.group_achievements_removed.discard(key)

    def touch(self, user_target: UserTarget) -> None:
        if user_target.id > 0:
            self.dirty[user_target.id] = user_target

    def day(self, user_target: UserTarget, day: str) -> Day:
        key = (user_target.id, day)
        found = self.days.get(key)
        if found is None:
            found = self.days[key] = Day()
        return found

    def set_anchor(self, group_id: int, user_id: int, at: datetime) -> None:
        self.anchors[(group_id, user_id)] = at
        self.new_anchors[(group_id, user_id)] = at

    def move_anchor(self, group_id: int, user_id: int, at: datetime) -> None:
        """An earlier event re-anchors cycles that are already anchored (maybe in this batch)."""
        key = (group_id, user_id)
        self.anchors[key] = at
        if key in self.new_anchors:
            self.new_anchors[key] = at
        else:
            self.moved_anchors[key] = at

    def remove(self, user_target: UserTarget) -> None:
        """Stop tracking a user target (and delete it on save, if it was stored)."""
        self._by_key.pop((user_target.target_id, user_target.period_id, user_target.user_id))
        del self.by_id[user_target.id]
        self.dirty.pop(user_target.id, None)
        self.relaid.pop(user_target.id, None)
        if user_target.id > 0:
            self.removed.add(user_target.id)
        else:
            self.new_user_targets.remove(user_target)

    def enrolments_of(self, target_id: int, user_id: int) -> list[EnrolmentRecord]:
        return self.enrolments.get((target_id, user_id), [])

    def is_member(self, audience_ids: Iterable[int], user_id: int) -> bool:
        return any((audience_id, user_id) in self.memberships for audience_id in audience_ids)

    def record(self, entry: LedgerEntry) -> None:
        self.ledger.append(entry)
        of_event = self.ledger_of_event.get(entry.event_index)
        if of_event is None:
            self.ledger_of_event[entry.event_index] = [entry]
        else:
            of_event.append(entry)
        user_target = entry.user_target
        if entry.kind == ContributionKind.EXCESS:
            key = user_target.id
            self.excess_added[key] = self.excess_added.get(key, Decimal(0)) + entry.amount
        if user_target.id > 0:
            self.dirty[user_target.id] = user_target

    def excess(self, user_target: UserTarget) -> Decimal:
        """What a CAPPING user target holds past its cap (its stored excess must be loaded)."""
        key = user_target.id
        return self.excess_stored.get(key, Decimal(0)) + self.excess_added.get(key, Decimal(0))
