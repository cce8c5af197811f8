"""Progress, achievement and triggers (SPEC §9), day rules (§6.2), fixed periods (§5).

The engine on a fake store: no database. The group is monthly from 2024-08-01 in
Asia/Kolkata, so August runs from 2024-07-31T18:30Z to 2024-08-31T18:30Z.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from milestones.domain.enrolment import EnrolmentRecord
from milestones.domain.periods import FrequencyType
from milestones.domain.target_groups import EnrolmentMethod
from tests.unit.builders import (
    ORG,
    USER,
    GroupRules,
    absolute,
    at,
    bill,
    bill_field_max,
    custom,
    event_count,
    fixed_group,
    local,
    percentage,
    reached,
    sales,
    send,
    visits,
)
from tests.unit.fake_store import FakeEngineStore

D = Decimal
NOW = at("2024-08-27T10:00:00Z")


def test_contributions_add_up_and_the_target_is_achieved_at_the_events_time() -> None:
    group = fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000))
    store = FakeEngineStore.of(group)
    target = group.targets[0]

    outcomes = send(
        store,
        NOW,
        bill("B-1", at("2024-08-03T09:00:00Z"), 300),
        bill("B-2", at("2024-08-05T09:00:00Z"), "450.5"),
        bill("B-3", at("2024-08-07T09:00:00Z"), "249.5"),  # 300 + 450.5 + 249.5 = 1000
    )

    assert [o.status for o in outcomes] == ["APPLIED"] * 3
    assert [e.move.after for o in outcomes for e in o.effects] == [D(300), D("750.5"), D(1000)]
    assert [e.move.achieved_now for o in outcomes for e in o.effects] == [False, False, True]
    [august] = store.user_targets(target.id, USER)
    assert august.achieved_value == D(1000)
    assert august.achieved_at == at("2024-08-07T09:00:00Z")  # the event's time, not NOW


def test_a_target_is_achieved_once_and_keeps_its_first_achievement_time() -> None:
    group = fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000))
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", at("2024-08-03T09:00:00Z"), 1200))

    [later] = send(store, NOW, bill("B-2", at("2024-08-04T09:00:00Z"), 500))

    [effect] = later.effects
    assert (effect.move.after, effect.move.achieved_now, effect.move.milestones_now) == (
        D(1700),
        False,
        (),
    )
    [august] = store.user_targets(group.targets[0].id, USER)
    assert august.achieved_at == at("2024-08-03T09:00:00Z")


def test_percentage_and_absolute_triggers_are_each_achieved_once_by_the_event_crossing_them() -> (
    None
):
    group = fixed_group(
        FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000, percentage(50), absolute(700))
    )
    store = FakeEngineStore.of(group)
    times = [at(f"2024-08-0{day}T09:00:00Z") for day in range(1, 6)]

    outcomes = send(
        store,
        NOW,
        bill("B-1", times[0], 400),  # 400: nothing yet
        bill("B-2", times[1], 200),  # 600: 50 % of 1000
        bill("B-3", times[2], 200),  # 800: the absolute 700
        bill("B-4", times[3], 300),  # 1100: the target itself
        bill("B-5", times[4], 100),  # 1200: nothing more
    )

    assert [reached(o) for o in outcomes] == [[], ["50%"], ["at 700"], ["targetAchieved"], []]
    [august] = store.user_targets(group.targets[0].id, USER)
    by_name = {t.id: t.name for t in group.targets[0].triggers}
    assert {by_name[i]: when for i, when in august.milestones.items()} == {
        "50%": times[1],
        "at 700": times[2],
        "targetAchieved": times[3],
    }


def test_a_percentage_trigger_is_a_share_of_the_periods_own_value() -> None:
    group = fixed_group(
        FrequencyType.MONTHLY, "2024-08-01", 3, sales([1000, 2000, 3000], percentage(50))
    )
    store = FakeEngineStore.of(group)
    september = at("2024-09-10T09:00:00Z")

    [first] = send(store, september, bill("B-1", september, 999))
    [second] = send(store, september, bill("B-2", september, 1))

    assert (reached(first), reached(second)) == ([], ["50%"])  # 50 % of September's 2000


def test_a_visit_counts_once_per_local_day_of_the_groups_zone() -> None:
    group = fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, visits(3))
    store = FakeEngineStore.of(group)

    outcomes = send(
        store,
        NOW,
        bill("B-1", local("2024-08-10T09:30"), 100),
        bill("B-2", local("2024-08-10T23:59:59"), 100),  # the same local day: nothing
        bill("B-3", local("2024-08-11T00:00"), 100),  # the next local day
    )

    assert [len(o.effects) for o in outcomes] == [1, 0, 1]
    assert outcomes[1].status == "NO_MATCH"  # it brought nothing to any target
    assert store.values(group.targets[0].id, USER) == [D(2)]
    # The stored day records are what a later batch reads to refuse a second visit.
    [third] = send(store, NOW, bill("B-4", local("2024-08-11T20:00"), 100))
    assert third.effects == []


def test_max_adds_each_local_days_increase_of_its_running_maximum() -> None:
    group = fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, bill_field_max(100, "weight"))
    store = FakeEngineStore.of(group)
    day_one, day_two = local("2024-08-10T10:00"), local("2024-08-11T10:00")

    outcomes = send(
        store,
        NOW,
        bill("B-1", day_one, 10, extended={"weight": 5}),  # day 1 max 5: +5
        bill("B-2", day_one, 10, extended={"weight": 3}),  # under the max: nothing
        bill("B-3", day_one, 10, extended={"weight": 8}),  # max 8: +3
        bill("B-4", day_two, 10, extended={"weight": 4}),  # day 2 max 4: +4
    )

    assert [[e.move.amount for e in o.effects] for o in outcomes] == [[D(5)], [], [D(3)], [D(4)]]
    assert store.values(group.targets[0].id, USER) == [D(12)]  # 8 + 4


def test_an_event_target_counts_each_event_of_its_name_and_nothing_else() -> None:
    group = fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, event_count("GameWon", 2))
    store = FakeEngineStore.of(group)

    outcomes = send(
        store,
        NOW,
        custom("G-1", local("2024-08-10T10:00"), "GameWon", score=10),
        custom("G-2", local("2024-08-10T11:00"), "GameLost", score=0),
        custom("G-3", local("2024-08-10T12:00"), "GameWon", score=3),
    )

    assert [o.status for o in outcomes] == ["APPLIED", "NO_MATCH", "APPLIED"]
    assert reached(outcomes[2]) == ["targetAchieved"]
    assert store.values(group.targets[0].id, USER) == [D(2)]


def test_an_import_target_counts_only_enrolled_customers_at_their_own_value() -> None:
    spend = replace(sales(1000, percentage(50)), enrolment=EnrolmentMethod.IMPORT)
    group = fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, spend)
    target = group.targets[0]
    store = FakeEngineStore.of(group)
    enrolled = EnrolmentRecord(target.id, USER, None, D(400), None, False, at("2024-08-01T00:00Z"))
    store.enrol(ORG.id, enrolled)

    mine, stranger = send(
        store,
        NOW,
        bill("B-1", at("2024-08-10T09:00:00Z"), 300),
        bill("B-2", at("2024-08-10T09:00:00Z"), 300, user=USER + 1),
    )

    assert (mine.status, stranger.status) == ("APPLIED", "NO_MATCH")
    assert reached(mine) == ["50%"]  # half of the customer's own 400
    [august] = store.user_targets(target.id, USER)
    assert (august.target_value, august.enrolled_at) == (D(400), at("2024-08-01T00:00Z"))


@pytest.mark.parametrize(
    ("zone", "instant", "period"),
    [
        ("Asia/Kolkata", "2024-08-31T18:29:59.999Z", "Cycle_1"),  # 23:59:59.999 on Aug 31 there
        ("Asia/Kolkata", "2024-08-31T18:30:00.000Z", "Cycle_2"),  # midnight Sep 1 there
        ("UTC", "2024-08-31T18:30:00.000Z", "Cycle_1"),
        ("UTC", "2024-08-31T23:59:59.999Z", "Cycle_1"),
        ("UTC", "2024-09-01T00:00:00.000Z", "Cycle_2"),
        ("America/New_York", "2024-09-01T03:59:59.999Z", "Cycle_1"),  # EDT, UTC-4
        ("America/New_York", "2024-09-01T04:00:00.000Z", "Cycle_2"),
    ],
)
def test_a_fixed_period_starts_and_ends_at_local_midnight_in_the_groups_zone(
    zone: str, instant: str, period: str
) -> None:
    group = fixed_group(
        FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000), rules=GroupRules(zone=zone)
    )
    store = FakeEngineStore.of(group)
    org = replace(ORG, retro_buffer_days=1)

    [outcome] = send(store, at("2024-09-01T12:00:00Z"), bill("B-1", at(instant), 100), org=org)

    assert [e.period.ref_code for e in outcome.effects] == [period]
