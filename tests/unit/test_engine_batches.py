"""A batch of events: duplicates, reused eventIds, the clock, late events (SPEC §6.1, §10).

The group is monthly from 2024-08-01 in Asia/Kolkata: August ends at 2024-08-31T18:30Z.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from milestones.domain.periods import FrequencyType
from milestones.domain.target_groups import TargetGroup
from milestones.engine.ingest import Submission
from tests.unit.builders import (
    ORG,
    USER,
    at,
    bill,
    custom,
    fixed_group,
    malformed,
    returned,
    sales,
    send,
)
from tests.unit.fake_store import FakeEngineStore

D = Decimal
NOW = at("2024-08-27T10:00:00Z")
AUGUST = at("2024-08-10T09:00:00Z")
AUGUST_ENDS = at("2024-08-31T18:30:00Z")


def spend() -> TargetGroup:
    return fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000))


def _reused(outcome_errors: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(error["code"], error.get("field")) for error in outcome_errors]


def test_the_same_event_twice_in_one_batch_applies_once_and_the_second_is_a_duplicate() -> None:
    group = spend()
    store = FakeEngineStore.of(group)

    outcomes = send(store, NOW, bill("B-1", AUGUST, 600), bill("B-1", AUGUST, 600))

    assert [o.status for o in outcomes] == ["APPLIED", "DUPLICATE"]
    assert outcomes[1].effects == []
    assert store.values(group.targets[0].id, USER) == [D(600)]
    assert [row.event_id for row in store.events.values()] == ["B-1"]


def test_an_event_id_reused_in_one_batch_for_another_amount_is_rejected_310140() -> None:
    group = spend()
    store = FakeEngineStore.of(group)

    outcomes = send(store, NOW, bill("B-1", AUGUST, 600), bill("B-1", AUGUST, 700))

    assert [o.status for o in outcomes] == ["APPLIED", "REJECTED"]
    assert _reused(outcomes[1].errors) == [(310140, "eventId")]
    assert store.values(group.targets[0].id, USER) == [D(600)]


@pytest.mark.parametrize(
    "other",
    [
        bill("B-1", AUGUST, 600, user=USER + 1),  # another customer
        bill("B-1", AUGUST + timedelta(seconds=1), 600),  # another time
        custom("B-1", AUGUST, "TransactionAdd2"),  # another name
    ],
    ids=["customer", "time", "name"],
)
def test_an_event_id_stored_earlier_for_a_different_event_is_rejected_310140(
    other: Submission,
) -> None:
    group = spend()
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST, 600))

    [outcome] = send(store, NOW, other)

    assert (outcome.status, _reused(outcome.errors)) == ("REJECTED", [(310140, "eventId")])
    assert store.values(group.targets[0].id, USER) == [D(600)]
    assert len(store.events) == 1


def test_an_event_sent_again_in_a_later_batch_is_a_duplicate_even_with_its_numbers_written_otherwise() -> (
    None
):
    group = spend()
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST, 600))
    ledger = dict(store.ledger)

    [again] = send(store, NOW + timedelta(hours=1), bill("B-1", AUGUST, "600.000"))

    assert (again.status, again.effects) == ("DUPLICATE", [])
    assert store.values(group.targets[0].id, USER) == [D(600)]
    assert store.ledger == ledger
    assert len(store.events) == 1


@pytest.mark.parametrize(
    ("ahead", "status"),
    [
        (timedelta(minutes=5), "APPLIED"),
        (timedelta(minutes=5, milliseconds=1), "REJECTED"),
    ],
)
def test_an_event_more_than_five_minutes_after_now_is_rejected(
    ahead: timedelta, status: str
) -> None:
    group = spend()
    store = FakeEngineStore.of(group)

    [outcome] = send(store, NOW, bill("B-1", NOW + ahead, 600))

    assert outcome.status == status
    if status == "REJECTED":
        assert [(e["code"], e["field"]) for e in outcome.errors] == [(300004, "eventTime")]
        assert store.events == {}
        assert store.values(group.targets[0].id, USER) == []
    else:
        assert store.values(group.targets[0].id, USER) == [D(600)]


def test_a_rejected_event_is_not_kept_and_the_same_event_id_can_be_sent_again() -> None:
    group = spend()
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", NOW + timedelta(hours=1), 600))  # a clock error upstream

    [outcome] = send(store, NOW, bill("B-1", AUGUST, 600))

    assert outcome.status == "APPLIED"


def test_a_rejected_event_in_a_batch_leaves_the_others_applied() -> None:
    group = spend()
    store = FakeEngineStore.of(group)
    refused = malformed({"eventId": "X-1", "eventName": "TransactionAdd"})

    outcomes = send(store, NOW, bill("B-1", AUGUST, 600), refused, bill("B-2", AUGUST, 100))

    assert [o.status for o in outcomes] == ["APPLIED", "REJECTED", "APPLIED"]
    assert [e["field"] for e in outcomes[1].errors] == ["userId", "eventTime"]
    assert outcomes[1].event_id == "X-1"
    assert store.values(group.targets[0].id, USER) == [D(700)]


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (AUGUST_ENDS + timedelta(days=2) - timedelta(milliseconds=1), "APPLIED"),
        (AUGUST_ENDS + timedelta(days=2), "OUT_OF_WINDOW"),
    ],
    ids=["inside the buffer", "past it"],
)
def test_an_event_of_an_ended_period_counts_only_within_the_retro_buffer(
    now: datetime, status: str
) -> None:
    group = spend()
    store = FakeEngineStore.of(group)
    org = replace(ORG, retro_buffer_days=2)

    [outcome] = send(store, now, bill("B-1", AUGUST, 600), org=org)

    assert outcome.status == status
    assert store.event("B-1").status == status  # accepted and kept either way
    expected = [D(600)] if status == "APPLIED" else []
    assert store.values(group.targets[0].id, USER) == expected


def test_without_a_retro_buffer_a_late_event_of_last_month_is_out_of_window() -> None:
    store = FakeEngineStore.of(spend())

    [outcome] = send(store, AUGUST_ENDS + timedelta(seconds=1), bill("B-1", AUGUST, 600))

    assert (outcome.status, outcome.effects) == ("OUT_OF_WINDOW", [])


@pytest.mark.parametrize(
    "submission",
    [
        custom("E-1", AUGUST, "AppOpened", screen="home"),  # no target listens to it
        bill("B-0", at("2024-07-31T18:29:59Z"), 600),  # before the group's first period
    ],
    ids=["nothing listens", "before the periods"],
)
def test_an_event_nothing_counts_is_no_match_and_is_kept(submission: Submission) -> None:
    group = spend()
    store = FakeEngineStore.of(group)

    [outcome] = send(store, NOW, submission)

    assert (outcome.status, outcome.effects) == ("NO_MATCH", [])
    assert [row.status for row in store.events.values()] == ["NO_MATCH"]
    assert store.user_target_rows == {}


def test_a_bill_and_its_return_in_one_batch_both_apply() -> None:
    group = spend()
    store = FakeEngineStore.of(group)

    outcomes = send(
        store,
        NOW,
        bill("B-1", AUGUST, 600),
        returned("R-1", AUGUST + timedelta(hours=1), "B-1", 200),
    )

    assert [o.status for o in outcomes] == ["APPLIED", "APPLIED"]
    assert store.values(group.targets[0].id, USER) == [D(400)]
    assert store.event("B-1").returned_amount == D(200)


def test_a_batch_is_saved_once_with_its_customers_locked_in_order() -> None:
    store = FakeEngineStore.of(spend())

    send(
        store,
        NOW,
        bill("B-1", AUGUST, 600, user=9),
        bill("B-2", AUGUST, 600, user=3),
        bill("B-3", AUGUST, 600, user=9),
    )

    assert store.locked == [(ORG.id, (3, 9))]
    assert store.saves == 1
    assert sorted(row.id for row in store.user_target_rows.values()) == [1, 2]
