"""Returns exact at the edges (SPEC §10): line items, carried cycles, agnostic flow, capping.

Every value below is worked out by hand in the comments next to it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.api.test_events_flow import (
    USER,
    Json,
    bill,
    by_target,
    create,
    daily_group,
    decoded,
    giving_back,
    moved,
    only,
    post,
    send,
    spend_group,
    target,
)
from tests.conftest import OrgCredentials

SHOES = "currentLineItem.category == 'shoes'"
# A bill of three lines: 1,800 in all, 6 items, 5 of them shoes worth 1,600.
THREE_LINES: list[Json] = [
    {"itemCode": "SHOE-1", "category": "shoes", "qty": 2, "amount": 1000},
    {"itemCode": "HAT-1", "category": "hats", "qty": 1, "amount": 200},
    {"itemCode": "SHOE-2", "category": "shoes", "qty": 3, "amount": 600},
]


def line_target(name: str, kpi: str) -> Json:
    return target(name, kpi, 10000, targetEntity="LINEITEM", expression=SHOES)


LINE_RETURN_TARGETS = (
    line_target("shoe sales", "SALES"),
    line_target("shoe items", "QUANTITY"),
    target("items", "QUANTITY", 100),
    target("sales", "SALES", 10000),
    target("bills", "COUNT", 10),
)


def returning(event_id: str, *lines: Json) -> Json:
    return giving_back(event_id, "B-1", lineItems=list(lines))


def changes(data: Json) -> dict[str, Decimal]:
    """What one event moved, by target name (targets it left alone are absent)."""
    assert data["status"] == "APPLIED", data
    return {name: effect["currentEventTargetValue"] for name, effect in by_target(data).items()}


def view_values(client: TestClient, org: OrgCredentials) -> dict[tuple[str, str], Decimal]:
    response = client.get(
        f"/v3.1/users/{USER}/targetGroups", params={"includeInactive": "true"}, auth=org.auth
    )
    assert response.status_code == 200, response.text
    return {
        (entry["targetName"], entry["periodRefCode"]): entry["targetAchievedValue"]
        for group in decoded(response)["data"]["targetGroups"]
        for entry in group["targets"]
    }


def test_a_line_item_return_takes_off_exactly_what_the_returned_lines_gave(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, *LINE_RETURN_TARGETS)
    bought = changes(send(client, org, bill("B-1", 1800, lines=THREE_LINES)))
    assert bought == {"shoe sales": 1600, "shoe items": 5, "items": 6, "sales": 1800, "bills": 1}

    # The hat comes back: the shoes-only targets lose nothing; COUNT keeps the bill.
    assert changes(send(client, org, returning("R-1", {"itemCode": "HAT-1"}))) == {
        "items": -1,
        "sales": -200,
    }
    # One of three SHOE-2 (600 for 3): 200 and one item, never a fraction of one.
    assert changes(send(client, org, returning("R-2", {"itemCode": "SHOE-2", "qty": 1}))) == {
        "shoe sales": -200,
        "shoe items": -1,
        "items": -1,
        "sales": -200,
    }
    # SHOE-1 whole: 1000 and 2 items.
    assert changes(send(client, org, returning("R-3", {"itemCode": "SHOE-1"}))) == {
        "shoe sales": -1000,
        "shoe items": -2,
        "items": -2,
        "sales": -1000,
    }
    # The rest of SHOE-2 (2 items, 400) returns the whole bill: now COUNT loses it too.
    assert changes(send(client, org, returning("R-4", {"itemCode": "SHOE-2"}))) == {
        "shoe sales": -400,
        "shoe items": -2,
        "items": -2,
        "sales": -400,
        "bills": -1,
    }
    assert set(view_values(client, org).values()) == {0}
    again = post(client, org, returning("R-5", {"itemCode": "HAT-1"}))
    assert again.status_code == 400
    assert "already fully returned" in again.json()["errors"][0]["message"]


def test_a_line_returned_by_amount_alone_gives_back_the_whole_items_it_covers(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, *LINE_RETURN_TARGETS)
    send(client, org, bill("B-1", 1800, lines=THREE_LINES))
    # 500 of SHOE-1 (2 for 1000) is one whole shoe; 250 more is not a second one yet.
    first = changes(send(client, org, returning("R-1", {"itemCode": "SHOE-1", "amount": 500})))
    assert first == {"shoe sales": -500, "shoe items": -1, "items": -1, "sales": -500}
    second = changes(send(client, org, returning("R-2", {"itemCode": "SHOE-1", "amount": 250})))
    assert second == {"shoe sales": -250, "sales": -250}
    third = changes(send(client, org, returning("R-3", {"itemCode": "SHOE-1", "amount": 250})))
    assert third == {"shoe sales": -250, "shoe items": -1, "items": -1, "sales": -250}


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"itemCode": "SOCK-9"}, "return.lineItems[0].itemCode"),
        ({"itemCode": "HAT-1", "qty": 2}, "return.lineItems[0].qty"),
        ({"itemCode": "HAT-1", "amount": 201}, "return.lineItems[0].amount"),
    ],
)
def test_a_line_return_the_bill_cannot_cover_is_rejected_and_changes_nothing(
    client: TestClient, org: OrgCredentials, line: Json, field: str
) -> None:
    spend_group(client, org, *LINE_RETURN_TARGETS)
    send(client, org, bill("B-1", 1800, lines=THREE_LINES))
    before = view_values(client, org)
    response = post(client, org, returning("R-1", line))
    assert response.status_code == 400
    body = response.json()
    assert body["data"]["status"] == "REJECTED"
    assert body["errors"][0]["field"] == field
    assert view_values(client, org) == before
    # Nothing was kept of the refused return: the same eventId can be sent again, corrected.
    assert changes(send(client, org, returning("R-1", {"itemCode": "HAT-1"})))["sales"] == -200


def test_a_return_after_the_cycle_closed_is_carried_into_the_current_cycle(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    group = daily_group(
        client,
        org,
        target("cycles"),
        targetEvaluationType="CYCLIC_WINDOW",
        targetCycleEndDate="2024-08-31T23:59:59.000",
    )
    cycle = f"PERIOD_G_{group['id']}_"
    # Cycle 1 runs from the purchase, 2024-08-27 09:43:40Z, for 24 hours.
    send(client, org, bill("B-1", 600))
    clock.set(datetime(2024, 8, 29, 12, 0, tzinfo=UTC))  # in cycle 3 (29th 09:43:40Z onwards)
    send(client, org, bill("B-2", 50, at="2024-08-29T11:00:00.000Z"))
    effect = only(send(client, org, giving_back("R-1", "B-1", at="2024-08-29T11:30:00.000Z")))
    assert effect["contributionType"] == "CARRY"
    assert effect["periodRefCode"] == cycle + "3"
    assert moved(effect) == (50, -600, -550)
    assert view_values(client, org) == {
        ("cycles", cycle + str(n)): v for n, v in [(1, 600), (2, 0), (3, -550), (4, 0), (5, 0)]
    }


def test_a_return_within_the_retro_buffer_stays_on_its_own_cycle(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    admin.set_org(database, org.org_id, retro_buffer_days=1)
    group = daily_group(
        client,
        org,
        target("cycles"),
        targetEvaluationType="CYCLIC_WINDOW",
        targetCycleEndDate="2024-08-31T23:59:59.000",
    )
    send(client, org, bill("B-1", 600))
    clock.set(datetime(2024, 8, 29, 9, 0, tzinfo=UTC))  # cycle 1 ended 23 h ago: still open
    effect = only(send(client, org, giving_back("R-1", "B-1", at="2024-08-29T08:00:00.000Z")))
    assert (effect["contributionType"], effect["periodRefCode"]) == (
        "RETURN",
        f"PERIOD_G_{group['id']}_1",
    )
    assert moved(effect) == (600, -600, 0)


def agnostic_slots(client: TestClient, org: OrgCredentials) -> Json:
    return spend_group(client, org, target("slots"), targetEvaluationType="PERIOD_AGNOSTIC_WINDOW")


def slot_moves(data: Json) -> list[tuple[str, Any, Any, Any, bool]]:
    """(slot, before, this event, after, achieved now) of each slot the event moved."""
    return [
        (e["periodRefCode"].rsplit("_", 1)[1], *moved(e), e["targetAchieved"])
        for e in data["sideEffects"]
    ]


@pytest.mark.parametrize("revoke", [False, True])
def test_agnostic_slots_hold_the_flow_of_the_net_total_after_a_return(
    client: TestClient, org: OrgCredentials, database: Database, revoke: bool
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=revoke)
    agnostic_slots(client, org)  # 3 slots of 1000
    assert slot_moves(send(client, org, bill("B-1", 1500))) == [
        ("1", 0, 1000, 1000, True),
        ("2", 0, 500, 500, False),
    ]
    assert slot_moves(send(client, org, bill("B-2", 800))) == [  # net 2300
        ("2", 500, 500, 1000, True),
        ("3", 0, 300, 300, False),
    ]
    back = send(client, org, giving_back("R-1", "B-1"))  # net 800: 800, 0, 0
    assert slot_moves(back) == [
        ("1", 1000, -200, 800, False),
        ("2", 1000, -1000, 0, False),
        ("3", 300, -300, 0, False),
    ]
    revoked = [e.get("targetAchievementRevoked", False) for e in back["sideEffects"]]
    assert revoked == ([True, True, False] if revoke else [False, False, False])
    again = send(client, org, bill("B-3", 400))  # net 1200: 1000, 200, 0
    assert slot_moves(again) == [
        ("1", 800, 200, 1000, revoke),  # achieved again only if the return took it back
        ("2", 0, 200, 200, False),
    ]
    slots = {ref[1][-1]: value for ref, value in view_values(client, org).items()}
    assert slots == {"1": 1000, "2": 200, "3": 0}


def test_a_capping_return_takes_back_excess_that_never_counted_first(
    client: TestClient, org: OrgCredentials
) -> None:
    create(
        client,
        org,
        monthly_spend("Capped", trackingType="CAPPING", targets=[target("coins", "SALES", 500)]),
    )
    first = only(send(client, org, bill("B-1", 300)))
    second = only(send(client, org, bill("B-2", 300)))  # counts 200 of 300: 100 excess
    assert (second["cappedValue"], second["excessValue"]) == (200, 100)
    # 100 of the second bill comes back: net 500, still at the cap; nothing counted moves.
    back = only(send(client, org, giving_back("R-1", "B-2", amount=100)))
    assert moved(back) == (500, 0, 500)
    assert (back["cappedValue"], back["excessValue"]) == (0, -100)
    assert back["targetAchieved"] is False
    # The rest of the second bill: net 300, so the counted value falls by 200.
    rest = only(send(client, org, giving_back("R-2", "B-2")))
    assert moved(rest) == (500, -200, 300)
    assert first["targetAchievedValueAfterEvent"] == 300
    assert view_values(client, org)[("coins", "Cycle_1")] == 300


def test_after_a_return_the_user_view_shows_the_agnostic_slot_being_filled_again(
    client: TestClient, org: OrgCredentials
) -> None:
    agnostic_slots(client, org)
    send(client, org, bill("B-1", 1500))
    send(client, org, giving_back("R-1", "B-1", amount=700))  # net 800: slot 1 below its value
    response = client.get(f"/v3.1/users/{USER}/targetGroups", auth=org.auth)
    [group] = decoded(response)["data"]["targetGroups"]
    [current] = group["targets"]
    assert (current["periodRefCode"][-2:], current["targetAchievedValue"]) == ("_1", 800)
    assert current["currentPeriod"] is True


def test_a_return_with_both_an_amount_and_line_items_is_refused(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, *LINE_RETURN_TARGETS)
    send(client, org, bill("B-1", 1800, lines=THREE_LINES))
    response = post(
        client, org, giving_back("R-1", "B-1", amount=200, lineItems=[{"itemCode": "HAT-1"}])
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "return"
    august = {name: v for (name, ref), v in view_values(client, org).items() if ref == "Cycle_1"}
    assert august == {"shoe sales": 1600, "shoe items": 5, "items": 6, "sales": 1800, "bills": 1}


def test_a_line_of_a_discounted_bill_gives_back_its_share_of_the_bill_not_all_of_it(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, *LINE_RETURN_TARGETS, target("gross", "GROSS_SALES", 10000))
    lines = [
        {"itemCode": "A", "category": "shoes", "qty": 1, "amount": 100},
        {"itemCode": "B", "category": "hats", "qty": 1, "amount": 100},
    ]
    # 200 of goods sold for 100 (a bill-level discount): each line is half of the bill.
    send(client, org, bill("B-1", 100, gross=200, lines=lines))
    first = changes(send(client, org, returning("R-1", {"itemCode": "A"})))
    assert first == {
        "shoe sales": -100,
        "shoe items": -1,
        "items": -1,
        "sales": -50,
        "gross": -100,
    }
    # The bill is not whole returned: B can still come back, and then COUNT loses the bill.
    rest = changes(send(client, org, returning("R-2", {"itemCode": "B"})))
    assert rest == {"items": -1, "sales": -50, "gross": -100, "bills": -1}
    response = client.get(f"/v3/customers/{USER}", auth=org.auth)
    assert decoded(response)["data"]["loyaltyInfo"]["lifetimePurchases"] == 0


def test_the_lines_of_a_free_bill_can_be_returned(client: TestClient, org: OrgCredentials) -> None:
    spend_group(client, org, *LINE_RETURN_TARGETS)
    lines = [{"itemCode": "A", "category": "shoes", "qty": 2, "amount": 100}]
    send(client, org, bill("B-1", 0, lines=lines))
    back = changes(send(client, org, returning("R-1", {"itemCode": "A", "qty": 1})))
    assert back == {"shoe sales": -50, "shoe items": -1, "items": -1}


def test_a_bill_returned_by_amount_is_not_then_returned_by_lines(
    client: TestClient, org: OrgCredentials
) -> None:
    spend_group(client, org, *LINE_RETURN_TARGETS)
    send(client, org, bill("B-1", 1800, lines=THREE_LINES))
    send(client, org, giving_back("R-1", "B-1", amount=200))
    response = post(client, org, returning("R-2", {"itemCode": "HAT-1"}))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "return.lineItems"
    # The rest, by neither amount nor lines, completes it.
    rest = changes(send(client, org, giving_back("R-3", "B-1")))
    assert rest["sales"] == -1600
    assert rest["bills"] == -1


def test_a_target_revoked_and_achieved_again_in_one_bulk_call_keeps_its_new_achievement(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=True)
    spend_group(client, org, target("spend", "SALES", 1000))
    send(client, org, bill("B-1", 1200))  # achieved, its targetAchieved trigger stored
    response = client.post(
        "/v3/events/bulk",
        json={"events": [giving_back("R-1", "B-1", amount=500), bill("B-2", 400)]},
        auth=org.auth,
    )
    assert response.status_code == 200, response.text
    back, again = decoded(response)["data"]["results"]
    assert back["sideEffects"][0]["targetAchievementRevoked"] is True
    assert again["sideEffects"][0]["targetAchieved"] is True
    view = client.get(f"/v3.1/users/{USER}/targetGroups", auth=org.auth)
    [group] = decoded(view)["data"]["targetGroups"]
    [current] = group["targets"]
    assert current["targetAchievedValue"] == 1100
    assert current["targetAchievedDateTime"] is not None
