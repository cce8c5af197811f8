"""Event answers give the same bytes through orjson and through simplejson (SPEC §6.1).

Bulk answers are written by orjson (``render_float_free``); whatever it refuses falls back
to simplejson. Both must give the same bytes for every kind of group and change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from milestones import admin
from milestones.api.envelope import render, render_float_free
from milestones.api.events.schemas import submission
from milestones.api.events.spool import BulkAnswerSpool
from milestones.api.events.views import SideEffects, bulk_view
from milestones.engine.catalogue import CatalogueCache
from milestones.engine.ingest import ingest
from milestones.store.database import Database
from milestones.store.engine import SqlEngineStore
from milestones.store.orgs import OrgRepository
from tests.api.groups import monthly_spend
from tests.api.test_events_flow import target
from tests.conftest import OrgCredentials

NOW = datetime(2024, 8, 27, 10, 0, tzinfo=UTC)
Json = dict[str, Any]


def every_kind_of_group() -> list[Json]:
    """One group of each kind a side effect can show (also used by test_side_effects_param)."""
    daily = {
        "frequencyType": "DAILY",
        "totalPeriods": 5,
        "targetCycleStartDate": "2024-08-24T00:00:00.000",
        "targetCycleEndDate": "2024-08-28T23:59:59.000",
    }
    half = [{"triggerName": "half", "triggerValueType": "PERCENTAGE", "triggerValue": 50}]
    return [
        monthly_spend("Plain", targets=[target('spend \u00e9 "quoted"')]),
        monthly_spend("Triggers", targets=[target("halfway", targetMilestoneTriggers=half)]),
        monthly_spend("Capped", trackingType="CAPPING", targets=[target("cap", value=500)]),
        monthly_spend(
            "Unified",
            trackingType="UNIFIED",
            combinationType="ALL",
            targets=[target("u-spend", value=100), target("u-visits", "VISIT", 1)],
        ),
        monthly_spend(
            "Streak",
            trackingType="STREAKS",
            streaks=[{"name": "two days", "targetCountOfSequence": 2}],
            targets=[target("daily", value=100)],
            **daily,
        ),
        monthly_spend(
            "Slots", targetEvaluationType="PERIOD_AGNOSTIC_WINDOW", targets=[target("s")], **daily
        ),
        monthly_spend(
            "Cycles", targetEvaluationType="CYCLIC_WINDOW", targets=[target("c")], **daily
        ),
    ]


def purchase(event_id: str, user: int, amount: int, at: str) -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount},
    }


def test_every_kind_of_side_effect_gives_the_same_bytes_through_either_encoder(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    admin.set_org(database, org.org_id, revoke_on_return=True)
    for body in every_kind_of_group():
        response = client.post("/v3/targetGroups", json=body, auth=org.auth)
        assert response.status_code == 201, response.text
    events = [
        purchase("B-1", 7001, 300, "2024-08-25T06:00:00.000Z"),
        purchase("B-2", 7001, 900, "2024-08-26T06:00:00.000Z"),  # crosses triggers, caps, slots
        purchase("B-3", 7002, 2500, "2024-08-26T07:00:00.000Z"),
        purchase("B-4", 7001, 150, "2024-08-27T06:00:00.000Z"),
        {
            "eventId": "R-1",
            "eventName": "ReturnBill",
            "userId": 7002,
            "eventTime": "2024-08-27T08:00:00.000Z",
            "return": {"originalEventId": "B-3"},  # revokes what B-3 achieved
        },
    ]
    with database.transaction() as connection:
        found = OrgRepository(connection).get_org(org.org_id)
        assert found is not None
        submissions = [submission(event, found.zone) for event in events]
        outcomes = ingest(SqlEngineStore(connection), found, submissions, NOW, CatalogueCache())

    view = bulk_view(outcomes)
    direct = render_float_free(view)  # orjson
    fallback = render(view)  # simplejson

    assert direct == fallback
    # The bulk endpoint's spool writes money values prerendered: byte for byte the same.
    spool = BulkAnswerSpool(SideEffects.FULL)
    spool.add(outcomes)
    _, file, _ = spool.response()._parts
    spooled = file.read()
    spool.close()
    assert spooled == direct[len(b'{"results":[') : direct.index(b'],"summary":')]
    shown = [effect for result in json.loads(direct)["results"] for effect in result["sideEffects"]]
    assert {"cappedValue", "groupAchieved"} <= {key for effect in shown for key in effect}
    assert any(effect["milestonesAchieved"] for effect in shown)
    assert any(effect.get("targetAchievementRevoked") for effect in shown)
    assert [result["status"] for result in json.loads(direct)["results"]] == ["APPLIED"] * len(
        events
    )
