"""ReturnBill (SPEC §10): what each target loses, where it is taken from, and when it is refused.

Groups are monthly from 2024-08-01 in Asia/Kolkata (August ends 2024-08-31T18:30Z)
unless a test says otherwise.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from milestones.domain.orgs import Org
from milestones.domain.periods import FrequencyType
from milestones.domain.target_groups import TargetGroup, TrackingType
from tests.unit.builders import (
    ORG,
    USER,
    GroupRules,
    TargetSpec,
    agnostic_group,
    at,
    bill,
    bills,
    cyclic_group,
    fixed_group,
    line,
    line_quantity,
    line_sales,
    moves,
    percentage,
    returned,
    returned_line,
    sales,
    send,
)
from tests.unit.fake_store import FakeEngineStore

D = Decimal
NOW = at("2024-08-27T10:00:00Z")
AUGUST = at("2024-08-10T09:00:00Z")
LATER = at("2024-08-20T09:00:00Z")
SEPTEMBER = at("2024-09-10T09:00:00Z")
REVOKING = replace(ORG, revoke_on_return=True)
SHOES = "currentLineItem.category == 'shoes'"


def monthly(*targets: TargetSpec, tracking: TrackingType = TrackingType.DEFAULT) -> TargetGroup:
    return fixed_group(
        FrequencyType.MONTHLY,
        "2024-08-01",
        3,
        *targets,
        rules=GroupRules(tracking=tracking),
    )


def test_an_amount_return_takes_the_same_share_off_every_target_and_a_bill_count_stays() -> None:
    group = monthly(sales(2000), bills(5))
    spend, count = group.targets
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST, 1000))

    [outcome] = send(store, NOW, returned("R-1", LATER, "B-1", 250))  # a quarter of the bill

    assert moves(outcome) == [("RETURN", D(1000), D(750))]
    assert store.values(spend.id, USER) == [D(750)]
    assert store.values(count.id, USER) == [D(1)]  # lost only when the whole bill is back
    assert store.event("B-1").returned_amount == D(250)


def test_a_hat_coming_back_costs_a_shoes_only_target_nothing() -> None:
    group = monthly(line_sales(5000, SHOES), line_quantity(10, SHOES), sales(5000))
    shoe_money, shoe_units, _ = group.targets
    store = FakeEngineStore.of(group)
    shoes, hat = line("SHOE", 800, qty=2, category="shoes"), line("HAT", 200, category="hats")
    send(store, NOW, bill("B-1", AUGUST, 1000, shoes, hat))

    [outcome] = send(store, NOW, returned("R-1", LATER, "B-1", None, returned_line("HAT")))

    assert moves(outcome) == [("RETURN", D(1000), D(800))]  # only the bill's SALES moved
    assert store.values(shoe_money.id, USER) == [D(800)]
    assert store.values(shoe_units.id, USER) == [D(2)]


def test_a_shoe_returned_by_money_takes_back_the_whole_units_it_covers() -> None:
    group = monthly(line_sales(5000, SHOES), line_quantity(10, SHOES), sales(5000))
    shoe_money, shoe_units, spend = group.targets
    store = FakeEngineStore.of(group)
    shoes, hat = line("SHOE", 800, qty=2, category="shoes"), line("HAT", 200, category="hats")
    send(store, NOW, bill("B-1", AUGUST, 1000, shoes, hat))

    # 500 of two shoes at 400 each covers one whole shoe: one unit back, never 1.25.
    send(store, NOW, returned("R-1", LATER, "B-1", None, returned_line("SHOE", amount=500)))

    assert store.values(shoe_money.id, USER) == [D(300)]  # 800 - 500
    assert store.values(shoe_units.id, USER) == [D(1)]  # 2 - 1
    assert store.values(spend.id, USER) == [D(500)]  # 1000 - 500


def test_partial_returns_then_the_rest_take_back_exactly_what_the_bill_brought() -> None:
    group = monthly(sales(5000), bills(5))
    spend, count = group.targets
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-0", AUGUST, 100), bill("B-1", AUGUST, "1000.001"))

    send(
        store,
        NOW,
        returned("R-1", LATER, "B-1", "333.333"),
        returned("R-2", LATER, "B-1", "333.333"),
        returned("R-3", LATER, "B-1"),  # the rest, whole
    )

    assert store.values(spend.id, USER) == [D(100)]  # B-0 alone: 1100.001 - 1000.001
    assert store.values(count.id, USER) == [D(1)]  # the count lost B-1 once it was all back
    assert store.event("B-1").returned_amount == D("1000.001")


def test_a_return_after_the_period_closed_is_carried_into_the_current_period() -> None:
    group = monthly(sales(1000))
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST, 600))

    [outcome] = send(store, SEPTEMBER, returned("R-1", SEPTEMBER, "B-1", 200))

    [effect] = outcome.effects
    assert (effect.kind, effect.period.ref_code, effect.move.after) == ("CARRY", "Cycle_2", D(-200))
    assert store.values(group.targets[0].id, USER) == [D(600), D(-200)]  # August keeps its 600
    [_, september] = store.user_targets(group.targets[0].id, USER)
    assert store.ledger_of(september.id) == [("CARRY", D(-200))]


def test_a_return_within_the_retro_buffer_stays_on_its_own_period() -> None:
    group = monthly(sales(1000))
    store = FakeEngineStore.of(group)
    org = replace(ORG, retro_buffer_days=15)
    send(store, NOW, bill("B-1", AUGUST, 600), org=org)

    [outcome] = send(store, SEPTEMBER, returned("R-1", SEPTEMBER, "B-1", 200), org=org)

    assert [(e.kind, e.period.ref_code) for e in outcome.effects] == [("RETURN", "Cycle_1")]
    assert store.values(group.targets[0].id, USER) == [D(400)]


def test_a_return_after_the_cycle_closed_is_carried_into_the_customers_current_cycle() -> None:
    # Weekly cycles from the first purchase: Aug 10 09:00Z to Aug 17 09:00Z, then to Aug 24.
    group = cyclic_group(FrequencyType.WEEKLY, "2024-08-01", "2024-10-31", 4, sales(1000))
    target = group.targets[0]
    store = FakeEngineStore.of(group)
    send(store, AUGUST + timedelta(hours=1), bill("B-1", AUGUST, 600))
    send(store, LATER, bill("B-2", LATER, 100))  # cycle 2 has begun

    [outcome] = send(store, LATER, returned("R-1", LATER, "B-1", 300))

    [effect] = outcome.effects
    assert (effect.kind, effect.user_target.slot) == ("CARRY", 2)
    assert store.values(target.id, USER) == [D(600), D(-200)]  # 100 - 300 in cycle 2
    first, second = store.user_targets(target.id, USER)
    assert (first.starts_at, second.starts_at, second.ends_at) == (
        AUGUST,
        at("2024-08-17T09:00:00Z"),
        at("2024-08-24T09:00:00Z"),
    )
    assert store.ledger_of(second.id) == [("EVENT", D(100)), ("CARRY", D(-300))]


def test_agnostic_slots_re_flow_the_net_total_after_a_return() -> None:
    group = agnostic_group("2024-08-01", "2024-10-31", 3, sales(1000))
    target = group.targets[0]
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST, 1500), bill("B-2", LATER, 800))
    assert store.values(target.id, USER) == [D(1000), D(1000), D(300)]  # 2300 flowing

    [outcome] = send(store, NOW, returned("R-1", LATER, "B-1"))  # net total 800

    assert store.values(target.id, USER) == [D(800), D(0), D(0)]
    assert moves(outcome) == [
        ("RETURN", D(1000), D(800)),
        ("RETURN", D(1000), D(0)),
        ("RETURN", D(300), D(0)),
    ]
    # Without revokeOnReturn the slots achieved stay achieved.
    assert [ut.achieved_at for ut in store.user_targets(target.id, USER)] == [AUGUST, LATER, None]


def test_with_revoke_on_return_each_agnostic_slot_follows_its_re_flowed_value() -> None:
    group = agnostic_group("2024-08-01", "2024-10-31", 3, sales(1000))
    target = group.targets[0]
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST, 1500), bill("B-2", LATER, 800), org=REVOKING)

    [outcome] = send(store, NOW, returned("R-1", LATER, "B-1"), org=REVOKING)

    assert [e.move.revoked for e in outcome.effects] == [True, True, False]
    assert [ut.achieved_at for ut in store.user_targets(target.id, USER)] == [None, None, None]


def test_a_capping_return_takes_back_the_excess_that_never_counted_first() -> None:
    group = monthly(sales(500), tracking=TrackingType.CAPPING)
    target = group.targets[0]
    store = FakeEngineStore.of(group)
    first, second = send(store, NOW, bill("B-1", AUGUST, 300), bill("B-2", AUGUST, 300))
    assert [(e.capped, e.excess) for e in first.effects] == [(D(300), D(0))]
    assert [(e.capped, e.excess) for e in second.effects] == [(D(200), D(100))]

    [back] = send(store, NOW, returned("R-1", LATER, "B-2", 100))  # net 500: still the cap

    [effect] = back.effects
    assert (effect.move.before, effect.move.after) == (D(500), D(500))
    assert (effect.capped, effect.excess) == (D(0), D(-100))
    assert store.values(target.id, USER) == [D(500)]
    [august] = store.user_targets(target.id, USER)
    # The return keeps a zero RETURN row beside its EXCESS row: what counted did not move.
    assert store.ledger_of(august.id) == [
        ("EVENT", D(300)),
        ("EXCESS", D(100)),
        ("EVENT", D(200)),
        ("RETURN", D(0)),
        ("EXCESS", D(-100)),
    ]

    [rest] = send(store, NOW, returned("R-2", LATER, "B-2"))  # net 300: under the cap

    assert [(e.capped, e.excess, e.move.after) for e in rest.effects] == [(D(-200), D(0), D(300))]


@pytest.mark.parametrize(("org", "achieved"), [(ORG, True), (REVOKING, False)])
def test_a_return_revokes_an_achievement_and_its_triggers_only_with_revoke_on_return(
    org: Org, achieved: bool
) -> None:
    group = monthly(sales(1000, percentage(50)))
    target = group.targets[0]
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST, 1200), org=org)

    [outcome] = send(store, NOW, returned("R-1", LATER, "B-1", 700), org=org)

    [effect] = outcome.effects
    assert effect.move.after == D(500)
    assert effect.move.revoked is not achieved
    revoked = [t.name for t in effect.move.milestones_revoked]
    assert revoked == ([] if achieved else ["targetAchieved"])  # 50 % of 1000 still holds
    [august] = store.user_targets(target.id, USER)
    assert (august.achieved_at is not None) is achieved
    names = {t.id: t.name for t in target.triggers}
    kept = sorted(names[i] for i in august.milestones)
    assert kept == (["50%", "targetAchieved"] if achieved else ["50%"])


def test_with_revoke_on_return_a_target_revoked_and_achieved_again_in_one_batch_is_saved() -> None:
    group = monthly(sales(1000))
    target = group.targets[0]
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST, 1200), org=REVOKING)

    outcomes = send(
        store,
        NOW,
        returned("R-1", LATER, "B-1", 500),  # 700: revoked
        bill("B-2", LATER + timedelta(hours=1), 400),  # 1100: achieved again
        org=REVOKING,
    )

    assert [o.status for o in outcomes] == ["APPLIED", "APPLIED"]
    [august] = store.user_targets(target.id, USER)
    assert august.achieved_at == LATER + timedelta(hours=1)
    assert list(august.milestones.values()) == [LATER + timedelta(hours=1)]


def test_a_return_of_an_unknown_bill_is_rejected_and_kept_nowhere() -> None:
    store = FakeEngineStore.of(monthly(sales(1000)))

    [outcome] = send(store, NOW, returned("R-1", LATER, "B-404", 100))

    assert outcome.status == "REJECTED"
    assert [(e["field"], e["message"]) for e in outcome.errors] == [
        ("return.originalEventId", "no bill with eventId B-404 to return")
    ]
    assert store.events == {}


def test_a_return_of_a_bill_already_fully_returned_is_rejected() -> None:
    group = monthly(sales(1000))
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST, 600), returned("R-1", LATER, "B-1"))

    [outcome] = send(store, NOW, returned("R-2", LATER, "B-1", 1))

    assert outcome.status == "REJECTED"
    assert [e["message"] for e in outcome.errors] == ["bill B-1 is already fully returned"]
    assert store.values(group.targets[0].id, USER) == [D(0)]


def test_a_return_of_more_than_remains_or_of_another_customers_bill_is_rejected() -> None:
    group = monthly(sales(1000))
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST, 600))

    too_much, not_theirs = send(
        store,
        NOW,
        returned("R-1", LATER, "B-1", 601),
        returned("R-2", LATER, "B-1", 100, user=USER + 1),
    )

    assert [e["field"] for e in too_much.errors] == ["return.amount"]
    assert [e["field"] for e in not_theirs.errors] == ["userId"]
    assert store.values(group.targets[0].id, USER) == [D(600)]
