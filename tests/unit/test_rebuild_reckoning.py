"""A rebuild's reckoning (``domain/rebuild.py``): what is kept, what is counted, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from milestones.domain.periods import FrequencyType
from milestones.domain.progress import UserTarget
from milestones.domain.rebuild import AchievementKind, Context, Standing, reckon
from milestones.domain.target_groups import Aggregation, TargetGroup, TrackingType
from tests.unit.builders import USER, GroupRules, fixed_group, local, percentage, sales

BOUGHT = local("2024-08-10T10:00")
LATER = local("2024-08-20T10:00")
NOW = local("2024-08-27T10:00")


def _row(group: TargetGroup, ut_id: int, value: int, *, target: int = 0) -> UserTarget:
    period = group.periods[0]
    return UserTarget(
        id=ut_id,
        target_id=group.targets[target].id,
        period_id=period.id,
        user_id=USER,
        slot=1,
        starts_at=period.window.starts_at,
        ends_at=period.window.ends_at,
        target_value=Decimal(1000),
        achieved_value=Decimal(value),
        enrolled_at=BOUGHT,
    )


def _achieved(group: TargetGroup, row: UserTarget, at: datetime, *names: str) -> UserTarget:
    """``row`` with its target (when its value reaches it) and the named triggers reached at ``at``."""
    triggers = {t.name: t.id for t in group.targets[0].triggers}
    achieved = replace(row, milestones={triggers[name]: at for name in names})
    if "targetAchieved" in names:
        achieved.achieved_at = at
    return achieved


def _spend_group() -> TargetGroup:
    return fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000, percentage(50, "half")))


def test_without_revoke_an_achievement_the_new_rules_do_not_reach_stays_at_its_time() -> None:
    group = _spend_group()
    old = _achieved(group, _row(group, 7, 1200), BOUGHT, "targetAchieved", "half")
    fresh = _achieved(group, replace(_row(group, 7, 600), enrolled_at=LATER), LATER, "half")
    reckoning = reckon(
        Standing.of([old], {}), Standing.of([fresh], {}), Context(group, NOW), revoke=False
    )
    (final,) = reckoning.final.user_targets.values()
    assert final.achieved_value == 600 and final.achieved_at == BOUGHT
    assert set(final.milestones.values()) == {BOUGHT}, "the old times stand"
    assert final.enrolled_at == BOUGHT, "when the customer joined is history"
    assert reckoning.amended == [final] and reckoning.restored == []
    # The target (its system trigger is the same achievement, not counted again) is no
    # longer supported; nothing is taken back or added; the row changed.
    assert reckoning.counts == {
        "userTargetsChanged": 1,
        "achievementsAdded": 0,
        "achievementsUnsupported": 1,
        "achievementsRevoked": 0,
    }
    assert [a.kind for a in reckoning.unsupported] == [
        AchievementKind.TARGET,
        AchievementKind.MILESTONE,
    ]


def test_with_revoke_the_new_rules_decide_and_what_they_do_not_reach_is_taken_back() -> None:
    group = _spend_group()
    old = _achieved(group, _row(group, 7, 1200), BOUGHT, "targetAchieved", "half")
    fresh = _achieved(group, _row(group, 7, 600), LATER, "half")
    reckoning = reckon(
        Standing.of([old], {}), Standing.of([fresh], {}), Context(group, NOW), revoke=True
    )
    (final,) = reckoning.final.user_targets.values()
    assert final.achieved_at is None and set(final.milestones.values()) == {LATER}
    assert reckoning.counts["achievementsRevoked"] == 1
    assert {a.kind for a in reckoning.revoked} == {
        AchievementKind.TARGET,
        AchievementKind.MILESTONE,
    }
    assert reckoning.added == []


def test_a_row_the_new_rules_give_nothing_is_kept_at_zero_for_its_achievement_or_dropped() -> None:
    group = _spend_group()
    achieved = _achieved(group, _row(group, 7, 1200), BOUGHT, "targetAchieved", "half")
    kept = reckon(Standing.of([achieved], {}), Standing(), Context(group, NOW), revoke=False)
    (row,) = kept.restored
    assert row.id == 7 and row.achieved_value == 0 and row.achieved_at == BOUGHT
    assert kept.counts["userTargetsChanged"] == 1

    unreached = _row(group, 8, 300)
    dropped = reckon(Standing.of([unreached], {}), Standing(), Context(group, NOW), revoke=False)
    assert dropped.final.user_targets == {} and dropped.restored == []
    assert dropped.counts["userTargetsChanged"] == 1


def test_a_rebuild_that_changes_nothing_counts_nothing() -> None:
    group = _spend_group()
    row = _achieved(group, _row(group, 7, 1200), BOUGHT, "targetAchieved", "half")
    same = reckon(
        Standing.of([row], {}), Standing.of([replace(row)], {}), Context(group, NOW), revoke=True
    )
    assert same.amended == [] and same.restored == []
    assert set(same.counts.values()) == {0}


def test_a_unified_sum_group_follows_its_values_even_when_its_targets_achievements_stay() -> None:
    """The group as a whole is derived from its targets (as live): achievements of the
    targets stay, but a SUM threshold the new values no longer reach takes it back."""
    rules = GroupRules(
        tracking=TrackingType.UNIFIED, aggregation=Aggregation.SUM, threshold=Decimal(2500)
    )
    group = fixed_group(
        FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000), sales(1000), rules=rules
    )
    first = _achieved(group, _row(group, 7, 1500), BOUGHT, "targetAchieved")
    second = replace(_row(group, 8, 1500, target=1), achieved_at=BOUGHT)
    old = Standing.of([first, second], {(group.periods[0].id, USER): BOUGHT})
    lower = [
        replace(first, achieved_value=Decimal(1100)),
        replace(second, achieved_value=Decimal(1100)),
    ]
    reckoning = reckon(old, Standing.of(lower, {}), Context(group, NOW), revoke=False)
    assert [a.kind for a in reckoning.revoked] == [AchievementKind.GROUP]
    assert reckoning.group_times == {}
    assert reckoning.counts["achievementsRevoked"] == 1
