"""One month of two customers across every kind of group, on the fake store, end to end.

The same scenario runs as four batches through ``ingest`` and again through
``ingest_in_chunks`` a chunk or two at a time, as a bulk call runs it: both must save
the same progress. The values are those of the scenario's comments, worked out by hand.
"""

from __future__ import annotations

from decimal import Decimal

from milestones.engine.catalogue import CatalogueCache
from milestones.engine.chunked import ChunkBudget, ingest_in_chunks
from milestones.engine.ingest import EngineStore, EventOutcome
from tests.unit.builders import ORG, USER, at, send
from tests.unit.fake_store import FakeEngineStore
from tests.unit.scenario import OTHER, Scenario, month_of_two_customers, saved_progress

D = Decimal


def run_in_batches(scenario: Scenario) -> tuple[FakeEngineStore, list[list[EventOutcome]]]:
    store = FakeEngineStore.of(*scenario.groups)
    return store, [send(store, batch.now, *batch.submissions) for batch in scenario.batches]


def test_the_fake_store_is_an_engine_store() -> None:
    store: EngineStore = FakeEngineStore()  # checked by mypy against the Protocol
    assert store.catalogue_signature(ORG.id) == (0, 0)


def test_a_month_of_two_customers_answers_every_event_as_the_rules_say() -> None:
    scenario = month_of_two_customers()
    store, batches = run_in_batches(scenario)

    assert [[o.status for o in outcomes] for outcomes in batches] == [
        ["APPLIED", "APPLIED"],
        ["APPLIED", "DUPLICATE", "APPLIED", "APPLIED", "NO_MATCH", "APPLIED"],
        ["APPLIED", "APPLIED", "REJECTED"],
        ["APPLIED", "OUT_OF_WINDOW", "REJECTED", "REJECTED"],
    ]
    spend, capped, slots, *_ = scenario.groups
    monthly = spend.targets[0].id
    # August: 600 + 700 + 50 - 100 (the hat); September: -350, half of B-2 carried.
    assert store.values(monthly, USER) == [D(1250), D(-350)]
    assert store.values(monthly, OTHER) == [D(0)]  # 100, returned whole
    points_effect = batches[1][2].effects[0]
    assert (points_effect.capped, points_effect.excess) == (D(200), D(100))
    assert store.values(capped.targets[0].id, USER) == [D(500)]
    # Capped spend: 600 + 700 + 50 counts 1000, 350 over. The hat takes 100 of the excess;
    # half of B-2 (350) takes the other 250, and the 100 left is carried into September.
    assert store.values(capped.targets[1].id, USER) == [D(1000), D(-100)]
    # The net total 600 + 700 + 50 - 100 - 350 = 900 flows into slot 1 of 1000.
    assert store.values(slots.targets[0].id, USER) == [D(900), D(0)]


def test_an_earlier_bill_re_anchors_the_cycles_and_the_streak_and_unified_groups_follow() -> None:
    scenario = month_of_two_customers()
    store, batches = run_in_batches(scenario)
    *_, cycles, _, unified = scenario.groups

    # B-0 (Aug 9) comes after B-1 (Aug 10) and B-2 (Aug 14): cycle 1 now starts at B-0
    # and holds all three bills.
    [cycle] = store.user_targets(cycles.targets[0].id, USER)
    assert (cycle.starts_at, cycle.achieved_value) == (at("2024-08-09T09:00:00Z"), D(3))
    assert store.anchors[(cycles.id, USER)] == at("2024-08-09T09:00:00Z")
    assert cycle.achieved_at == at("2024-08-10T09:00:00Z")  # the second bill, replayed in order
    b2 = batches[1][0]
    assert [s.rule.target_count for e in b2.effects for s in e.streaks_achieved] == [2]
    august = unified.periods[0].id
    assert store.group_achieved_at(unified.id, august, USER) == at("2024-08-14T09:00:00Z")
    assert store.event("B-1").returned_amount == D(100)
    assert store.event("B-2").returned_amount == D(350)


def test_the_same_month_run_a_chunk_at_a_time_saves_the_same_progress() -> None:
    scenario = month_of_two_customers()
    store, batches = run_in_batches(scenario)
    chunked = FakeEngineStore.of(*scenario.groups)
    budget = ChunkBudget(first_events=1, max_events=2)

    statuses = [
        [
            outcome.status
            for chunk in ingest_in_chunks(
                chunked, ORG, batch.submissions, batch.now, CatalogueCache(), budget
            )
            for outcome in chunk
        ]
        for batch in scenario.batches
    ]

    assert statuses == [[o.status for o in outcomes] for outcomes in batches]
    assert saved_progress(chunked) == saved_progress(store)
