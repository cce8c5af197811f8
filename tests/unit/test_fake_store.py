"""The fake store itself behaves as storage does: what the engine tests rely on.

(That it saves what ``SqlEngineStore`` saves is checked against a real database by
tests/integration/test_fake_store_contract.py.)
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from milestones.domain.outcomes import EventStatus
from milestones.domain.periods import FrequencyType
from milestones.domain.target_groups import TrackingType
from milestones.engine.ingest import AcceptedEvent, LoadScope
from milestones.engine.working_set import CustomerState, WorkingSet
from milestones.store.ledger import entry_id
from tests.unit.builders import ORG, USER, GroupRules, at, bill, fixed_group, sales, send
from tests.unit.fake_store import FakeEngineStore, UniqueViolation

D = Decimal
AUGUST, SEPTEMBER = at("2024-08-10T09:00:00Z"), at("2024-09-10T09:00:00Z")


def store_with_two_months() -> tuple[FakeEngineStore, int, int]:
    spend = fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000))
    streak = fixed_group(
        FrequencyType.MONTHLY,
        "2024-08-01",
        3,
        sales(1000),
        rules=GroupRules(tracking=TrackingType.STREAKS, streaks=(2,)),
    )
    store = FakeEngineStore.of(spend, streak)
    send(store, AUGUST, bill("B-1", AUGUST, 100))
    send(store, SEPTEMBER, bill("B-2", SEPTEMBER, 200))
    return store, spend.id, streak.id


def loaded_months(store: FakeEngineStore, scope: LoadScope) -> list[tuple[int, Decimal]]:
    state = store.load_customers(ORG.id, [USER], scope)
    return sorted((ut.slot, ut.achieved_value) for ut in state.user_targets)


def test_a_batch_loads_only_user_targets_still_open_unless_their_group_is_loaded_whole() -> None:
    store, _, streak_id = store_with_two_months()
    august_over = at("2024-09-01T00:00:00Z")

    assert loaded_months(store, LoadScope(august_over, frozenset(), "2024-08-30")) == [
        (2, D(200)),
        (2, D(200)),
    ]
    assert loaded_months(store, LoadScope(august_over, frozenset({streak_id}), "2024-08-30")) == [
        (1, D(100)),
        (2, D(200)),
        (2, D(200)),
    ]
    assert len(loaded_months(store, LoadScope(AUGUST, frozenset(), "2024-08-08"))) == 4


def test_ids_are_positive_and_increasing_in_the_order_things_were_saved() -> None:
    store, _, _ = store_with_two_months()

    assert list(store.user_target_rows) == [1, 2, 3, 4]
    assert [row.event_id for row in store.events.values()] == ["B-1", "B-2"]
    # Ledger entries are numbered by event and position, as the store's packed ledger.
    assert list(store.ledger) == [entry_id(1, 0), entry_id(1, 1), entry_id(2, 0), entry_id(2, 1)]
    assert sorted(store.ledger) == list(store.ledger)


def test_every_read_hands_out_a_fresh_object_so_an_unsaved_change_is_lost() -> None:
    store, _, _ = store_with_two_months()
    scope = LoadScope(datetime.min.replace(tzinfo=AUGUST.tzinfo), frozenset(), "2024-01-01")
    [first, *_] = store.load_customers(ORG.id, [USER], scope).user_targets

    first.achieved_value = D(999)

    assert store.user_targets_by_id(ORG.id, [first.id])[0].achieved_value != D(999)


def test_an_event_saved_twice_breaks_its_unique_key_as_in_the_database() -> None:
    store, _, _ = store_with_two_months()
    again = bill("B-1", AUGUST, 100)
    assert again.event is not None
    accepted = [AcceptedEvent(0, again.event, EventStatus.APPLIED, again.payload)]

    with pytest.raises(UniqueViolation):
        store.save(ORG.id, SEPTEMBER, accepted, WorkingSet(CustomerState()))


def test_a_stored_event_keeps_its_body_as_json_gives_it_back() -> None:
    store, _, _ = store_with_two_months()

    payload = store.event("B-1").payload

    assert payload["transaction"] == {"billAmount": 100, "lineItems": []}
    assert store.event("B-1").bill_amount == D("100.000")
