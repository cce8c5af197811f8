"""Streak levels and unified groups as a whole (SPEC §11), on the fake store.

Streak groups are weekly from Monday 2024-08-05 in Asia/Kolkata, 4 weeks, a SALES target
of 100 a week; each purchase is sent while its week runs (the clock a minute after it).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from milestones.domain.group_progress import streak_progress
from milestones.domain.periods import FrequencyType
from milestones.domain.target_groups import Aggregation, CombinationType, TargetGroup, TrackingType
from milestones.engine.ingest import EventOutcome
from tests.unit.builders import (
    ORG,
    USER,
    GroupRules,
    TargetSpec,
    at,
    bill,
    bills,
    fixed_group,
    local,
    quantity,
    returned,
    sales,
    send,
)
from tests.unit.fake_store import FakeEngineStore

D = Decimal
MINUTE = timedelta(minutes=1)


def weekly(tracking: TrackingType, *levels: int) -> TargetGroup:
    rules = GroupRules(tracking=tracking, streaks=levels)
    return fixed_group(FrequencyType.WEEKLY, "2024-08-05", 4, sales(100), rules=rules)


def in_week(week: int) -> datetime:
    """Wednesday noon of week ``week`` (1..4), local time."""
    return local(f"2024-08-{7 + 7 * (week - 1):02d}T12:00")


def buy(store: FakeEngineStore, event_id: str, week: int, amount: int = 100) -> EventOutcome:
    [outcome] = send(store, in_week(week) + MINUTE, bill(event_id, in_week(week), amount))
    return outcome


def levels_reached(outcome: EventOutcome) -> list[int]:
    return [s.rule.target_count for e in outcome.effects for s in e.streaks_achieved]


def run(store: FakeEngineStore, group: TargetGroup, now: datetime) -> int:
    """The customer's current run (or count) as the user view reads it from storage."""
    return streak_progress(group, store, USER, now)[0].current_count


def test_a_streak_level_is_achieved_once_when_the_run_reaches_its_count() -> None:
    group = weekly(TrackingType.STREAKS, 2, 3)
    store = FakeEngineStore.of(group)

    outcomes = [buy(store, f"B-{week}", week) for week in (1, 2, 3, 4)]

    assert [levels_reached(o) for o in outcomes] == [[], [2], [3], []]
    [effect] = outcomes[1].effects
    [level] = effect.streaks_achieved
    week_two = store.user_targets(group.targets[0].id, USER)[1]
    assert (level.achieved_at, effect.streak_user_target_id(level)) == (in_week(2), week_two.id)
    assert run(store, group, in_week(4) + MINUTE) == 4


def test_a_week_that_ended_unachieved_resets_the_run() -> None:
    group = weekly(TrackingType.STREAKS, 2)
    store = FakeEngineStore.of(group)
    buy(store, "B-1", 1)
    buy(store, "B-2", 2, amount=99)  # week 2 falls short by 1

    third = buy(store, "B-3", 3)

    assert levels_reached(third) == []
    assert run(store, group, in_week(3) + MINUTE) == 1
    assert levels_reached(buy(store, "B-4", 4)) == [2]  # weeks 3 and 4


def test_the_running_week_never_breaks_the_run_until_it_ends_unachieved() -> None:
    group = weekly(TrackingType.STREAKS, 3)
    store = FakeEngineStore.of(group)
    buy(store, "B-1", 1)
    buy(store, "B-2", 2)

    assert run(store, group, in_week(3)) == 2  # week 3 runs, nothing bought yet
    assert run(store, group, local("2024-08-26T00:00")) == 0  # week 3 has ended unachieved


def test_non_continuous_streaks_count_achieved_weeks_in_total() -> None:
    group = weekly(TrackingType.NON_CONTINUOUS_STREAKS, 2, 3)
    store = FakeEngineStore.of(group)
    first = buy(store, "B-1", 1)

    third = buy(store, "B-3", 3)  # week 2 was missed: no reset
    fourth = buy(store, "B-4", 4)

    assert [levels_reached(o) for o in (first, third, fourth)] == [[], [2], [3]]
    assert run(store, group, in_week(4) + MINUTE) == 3


def test_with_revoke_on_return_a_return_that_unachieves_a_week_takes_back_its_level() -> None:
    group = weekly(TrackingType.STREAKS, 2)
    store = FakeEngineStore.of(group)
    org = replace(ORG, revoke_on_return=True)
    send(store, in_week(1) + MINUTE, bill("B-1", in_week(1), 100), org=org)
    send(store, in_week(2) + MINUTE, bill("B-2", in_week(2), 100), org=org)

    later = in_week(2) + timedelta(hours=1)
    [back] = send(store, later + MINUTE, returned("R-2", later, "B-2", 1), org=org)

    [effect] = back.effects
    assert (effect.group_revoked, [s.rule.target_count for s in effect.streaks_revoked]) == (
        True,
        [2],
    )
    assert run(store, group, later + MINUTE) == 1


def unified(*targets: TargetSpec, rules: GroupRules) -> TargetGroup:
    return fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, *targets, rules=rules)


NOW = at("2024-08-27T10:00:00Z")
FIRST, SECOND = at("2024-08-10T09:00:00Z"), at("2024-08-12T09:00:00Z")


def group_moments(outcome: EventOutcome) -> list[tuple[bool, bool]]:
    """Per side effect: (group achieved now, group state achieved after it) where stated."""
    return [
        (e.group_achieved_now, e.group_state.achieved) for e in outcome.effects if e.group_state
    ]


def test_unified_all_is_achieved_by_the_event_that_achieves_the_last_target() -> None:
    group = unified(sales(1000), bills(2), rules=GroupRules(tracking=TrackingType.UNIFIED))
    store = FakeEngineStore.of(group)

    first, second = send(store, NOW, bill("B-1", FIRST, 1200), bill("B-2", SECOND, 50))

    assert group_moments(first) == [(False, False)]  # spend achieved, one bill of two
    assert group_moments(second) == [(True, True)]
    august = group.periods[0].id
    assert store.group_achieved_at(group.id, august, USER) == SECOND


def test_unified_any_is_achieved_by_the_event_that_achieves_the_first_target() -> None:
    rules = GroupRules(tracking=TrackingType.UNIFIED, combination=CombinationType.ANY)
    group = unified(sales(1000), bills(2), rules=rules)
    store = FakeEngineStore.of(group)

    first, second = send(store, NOW, bill("B-1", FIRST, 1200), bill("B-2", SECOND, 50))

    assert group_moments(first) == [(True, True)]
    assert group_moments(second) == [(False, True)]
    assert store.group_achieved_at(group.id, group.periods[0].id, USER) == FIRST


def test_unified_with_a_sum_threshold_waits_for_the_sum_of_the_targets_values() -> None:
    rules = GroupRules(
        tracking=TrackingType.UNIFIED, aggregation=Aggregation.SUM, threshold=D(1500)
    )
    group = unified(sales(1000), bills(1), rules=rules)
    store = FakeEngineStore.of(group)

    first, second = send(store, NOW, bill("B-1", FIRST, 1000), bill("B-2", SECOND, 499))

    assert group_moments(first) == [(False, False)]  # both achieved, 1000 + 1 < 1500
    assert group_moments(second) == [(True, True)]  # 1499 + 2 >= 1500
    assert store.group_achieved_at(group.id, group.periods[0].id, USER) == SECOND


def test_unified_with_a_count_threshold_needs_that_many_targets_achieved() -> None:
    rules = GroupRules(tracking=TrackingType.UNIFIED, aggregation=Aggregation.COUNT, threshold=D(2))
    group = unified(sales(1000), bills(2), quantity(100), rules=rules)
    store = FakeEngineStore.of(group)

    first, second = send(store, NOW, bill("B-1", FIRST, 1000), bill("B-2", SECOND, 10))

    assert group_moments(first) == [(False, False)]  # only the spend
    assert group_moments(second) == [(True, True)]  # spend and two bills: 2 of 3
