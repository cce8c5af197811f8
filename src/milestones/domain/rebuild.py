"""A rebuild's reckoning (SPEC §16): what customers held in a group, what its rules give
them now, and what is kept.

A rebuild replays a group's stored events under its current rules: the *fresh* standing.
It is compared with the *old* one, what was stored. Achievements already made are earned
history (rewards may have been issued on them): unless the rebuild revokes, each one the
fresh standing lacks is put back at its old time, on the fresh user target, or on a row
of its own with value 0 where the new rules give the customer nothing in that period.
When a customer joined a target (``enrolledOn``) is history too and stays. The *final*
standing is what is stored.

An achievement is one of four kinds, one notification type each: a target achieved in a
period, a milestone trigger reached, the group achieved as a whole in a period (unified
and streak groups), a streak level reached. The system trigger ``targetAchieved`` is
notified with its target (as live) but counted once, as the target's achievement, and a
streak group's period achieved as a whole is counted as its targets' achievements, so
the counts are of what the user view shows. Counted:

- **added**: in the final standing and not in the old one (notified ``*.achieved``);
- **unsupported**: in the old standing and not in the fresh one: the new rules do not
  reach it;
- **revoked**: in the old standing and not in the final one (notified ``*.revoked``).
  With ``revoke`` these are the unsupported ones. Without, the only ones are those
  derived from values rather than from achievements: a unified group whose SUM threshold
  the new values no longer reach, as a return takes it back live;
- **user targets changed**: a customer's target in a period whose value, target value,
  achievement, milestones or window differ, or that exists on one side only.

Group and streak achievements are derived from the user targets (as the user view and
the engine derive them), so they follow what the final user targets hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from milestones.domain.customer_periods import ZoneHistory
from milestones.domain.group_progress import tracks_group_progress
from milestones.domain.notifications import NotificationType
from milestones.domain.progress import UserTarget
from milestones.domain.standing import Known, group_periods_in, streaks_of
from milestones.domain.streaks import NO_RECORD, CareRecord, StreakState, StreakStatus
from milestones.domain.target_groups import SYSTEM_TRIGGER_NAME, TargetGroup, TrackingType

Key = tuple[int, int, int]  # (target id, period id, user id): one row of user_targets
GroupKey = tuple[int, int]  # (period id, user id): one row of user_group_periods
_ZERO = Decimal(0)


@dataclass
class Standing:
    """Some customers' stored state in one group: their user targets (with milestones) and
    when the group as a whole was achieved in a period."""

    user_targets: dict[Key, UserTarget] = field(default_factory=dict)
    group_achievements: dict[GroupKey, datetime] = field(default_factory=dict)

    @classmethod
    def of(
        cls, user_targets: Iterable[UserTarget], group_achievements: dict[GroupKey, datetime]
    ) -> Standing:
        return cls(
            {(ut.target_id, ut.period_id, ut.user_id): ut for ut in user_targets},
            dict(group_achievements),
        )


class AchievementKind(StrEnum):
    TARGET = "target"
    MILESTONE = "milestone"
    GROUP = "group"
    STREAK = "streak"

    def notification(self, *, revoked: bool) -> NotificationType:
        return NotificationType(f"{self.value}.{'revoked' if revoked else 'achieved'}")


@dataclass(frozen=True, slots=True)
class Achievement:
    """One thing a customer achieved in the group. Two are the same achievement when they
    are of the same kind, customer, period, target and trigger or level (not their times).

    ``period_id`` is 0 for a streak level, ``target_id`` 0 for the group's and a level's,
    ``item_id`` the trigger's or level's id (else 0).
    """

    kind: AchievementKind
    user_id: int
    period_id: int
    target_id: int
    item_id: int
    at: datetime | None = field(default=None, compare=False)
    user_target: UserTarget | None = field(default=None, compare=False)
    streak: StreakStatus | None = field(default=None, compare=False)
    # The system trigger ``targetAchieved`` is the target's own achievement over again:
    # notified (as live), not counted twice.
    counted: bool = field(default=True, compare=False)


@dataclass(frozen=True, slots=True)
class Context:
    """What derived achievements need besides the user targets: the group, the instant,
    and each customer's care record and zone history (by user id)."""

    group: TargetGroup
    now: datetime
    care: dict[int, CareRecord] = field(default_factory=dict)
    zones: dict[int, ZoneHistory] = field(default_factory=dict)


@dataclass
class Reckoning:
    """The final standing, what to store of it beyond what the replay stored, and counts."""

    final: Standing
    amended: list[UserTarget]  # fresh rows given back an achievement, a milestone, enrolledOn
    restored: list[UserTarget]  # rows the fresh standing lacks, kept for their achievements
    group_times: dict[GroupKey, datetime]  # group achievements given back their old time
    added: list[Achievement]
    unsupported: list[Achievement]
    revoked: list[Achievement]
    changed: int

    @property
    def counts(self) -> dict[str, int]:
        def counted(found: list[Achievement]) -> int:
            return sum(1 for achievement in found if achievement.counted)

        return {
            "userTargetsChanged": self.changed,
            "achievementsAdded": counted(self.added),
            "achievementsUnsupported": counted(self.unsupported),
            "achievementsRevoked": counted(self.revoked),
        }


def reckon(old: Standing, fresh: Standing, context: Context, *, revoke: bool) -> Reckoning:
    """Compare the stored standing with the replayed one; keep what is earned unless ``revoke``."""
    final, amended, restored = _final_rows(old, fresh, revoke)
    group_times: dict[GroupKey, datetime] = {}
    before = achievements_of(old, context)
    if not revoke:
        kept = {
            key: at
            for key, at in old.group_achievements.items()
            if fresh.group_achievements.get(key) != at
        }
        final_groups = {**fresh.group_achievements, **kept}
        derived = achievements_of(Standing(final, final_groups), context)
        # An old time only where the group is still achieved as a whole (a SUM threshold
        # the values fell under is not): as the engine deletes the row of a revoked one.
        group_times = {
            (period_id, user_id): at
            for (period_id, user_id), at in kept.items()
            if _group_key(period_id, user_id) in derived
        }
    final_standing = Standing(final, {**fresh.group_achievements, **group_times})
    after = achievements_of(final_standing, context)
    rebuilt = achievements_of(fresh, context)
    return Reckoning(
        final=final_standing,
        amended=amended,
        restored=restored,
        group_times=group_times,
        added=[achievement for key, achievement in after.items() if key not in before],
        unsupported=[achievement for key, achievement in before.items() if key not in rebuilt],
        revoked=[achievement for key, achievement in before.items() if key not in after],
        changed=_changed(old.user_targets, final),
    )


def _final_rows(
    old: Standing, fresh: Standing, revoke: bool
) -> tuple[dict[Key, UserTarget], list[UserTarget], list[UserTarget]]:
    final = {key: _copy(ut) for key, ut in fresh.user_targets.items()}
    amended: list[UserTarget] = []
    restored: list[UserTarget] = []
    for key, held in old.user_targets.items():
        row = final.get(key)
        if row is None:
            if not revoke and (held.achieved_at is not None or held.milestones):
                kept = replace(_copy(held), achieved_value=_ZERO, reached_at=None)
                final[key] = kept
                restored.append(kept)
            continue
        changed = False
        if held.enrolled_at is not None and row.enrolled_at != held.enrolled_at:
            row.enrolled_at = held.enrolled_at
            changed = True
        if not revoke:
            if held.achieved_at is not None and row.achieved_at != held.achieved_at:
                row.achieved_at = held.achieved_at
                changed = True
            for trigger_id, at in held.milestones.items():
                if row.milestones.get(trigger_id) != at:
                    row.milestones[trigger_id] = at
                    changed = True
        if changed:
            amended.append(row)
    return final, amended, restored


def _copy(user_target: UserTarget) -> UserTarget:
    return replace(user_target, milestones=dict(user_target.milestones))


def _group_key(period_id: int, user_id: int) -> Achievement:
    return Achievement(AchievementKind.GROUP, user_id, period_id, 0, 0)


def _changed(old: dict[Key, UserTarget], final: dict[Key, UserTarget]) -> int:
    return sum(
        1 for key in old.keys() | final.keys() if _shown(old.get(key)) != _shown(final.get(key))
    )


def _shown(user_target: UserTarget | None) -> object:
    """What the user view shows of a user target."""
    if user_target is None:
        return None
    return (
        user_target.achieved_value,
        user_target.target_value,
        user_target.achieved_at,
        sorted(user_target.milestones.items()),
        user_target.starts_at,
        user_target.ends_at,
    )


def achievements_of(standing: Standing, context: Context) -> dict[Achievement, Achievement]:
    """Every achievement the standing holds (each is its own key)."""
    found: dict[Achievement, Achievement] = {}

    def add(achievement: Achievement) -> None:
        found[achievement] = achievement

    group = context.group
    system = {
        trigger.id
        for target in group.targets
        for trigger in target.triggers
        if trigger.name == SYSTEM_TRIGGER_NAME
    }
    by_user: dict[int, list[UserTarget]] = defaultdict(list)
    for (target_id, period_id, user_id), ut in standing.user_targets.items():
        by_user[user_id].append(ut)
        if ut.achieved_at is not None:
            add(
                Achievement(
                    AchievementKind.TARGET, user_id, period_id, target_id, 0, ut.achieved_at, ut
                )
            )
        for trigger_id, at in ut.milestones.items():
            add(
                Achievement(
                    AchievementKind.MILESTONE,
                    user_id,
                    period_id,
                    target_id,
                    trigger_id,
                    at,
                    ut,
                    counted=trigger_id not in system,
                )
            )
    if not tracks_group_progress(group):
        return found
    groups_by_user: dict[int, dict[tuple[int, int], datetime]] = defaultdict(dict)
    for (period_id, user_id), at in standing.group_achievements.items():
        groups_by_user[user_id][(group.id, period_id)] = at
    period_ids = [period.id for period in group.periods]
    # A streak group's period achieved as a whole is its targets' achievements (the view
    # shows it as the period's outcome): notified, as live, and counted as theirs.
    unified = group.tracking_type is TrackingType.UNIFIED
    for user_id, rows in by_user.items():
        known = Known.of(
            rows,
            {},
            [],
            set(),
            groups_by_user.get(user_id, {}),
            {group.id: context.care.get(user_id, NO_RECORD)},
            {group.org_id: context.zones.get(user_id, ())},
        )
        for state in group_periods_in(group, known, period_ids):
            if state.achieved:
                add(
                    Achievement(
                        AchievementKind.GROUP,
                        user_id,
                        state.period_id,
                        0,
                        0,
                        state.achieved_at,
                        counted=unified,
                    )
                )
        if not group.tracking_type.is_streak:
            continue
        for status in streaks_of(group, known, context.now):
            if status.status is StreakState.ACHIEVED:
                completed = next(
                    (ut for ut in rows if ut.id == status.achieved_user_target_id), None
                )
                add(
                    Achievement(
                        AchievementKind.STREAK,
                        user_id,
                        0,
                        0,
                        status.rule.id,
                        status.achieved_at,
                        completed,
                        status,
                    )
                )
    return found
