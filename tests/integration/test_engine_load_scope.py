"""A batch loads only the user targets it can move: not a customer's ended periods.

(Streak groups are loaded whole; a returned bill's user targets are loaded when the
return is met, which the return tests in tests/api/test_events_flow.py cover.)
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from milestones.engine.ingest import LoadScope
from milestones.store.database import Database
from milestones.store.engine import SqlEngineStore
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials

USER = 4242


def _buy(client: TestClient, org: OrgCredentials, event_id: str, at: str) -> None:
    event = {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": USER,
        "eventTime": at,
        "transaction": {"billAmount": 100},
    }
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "APPLIED"


def _loaded_periods(database: Database, org: OrgCredentials, scope: LoadScope) -> list[str]:
    with database.transaction(write=False) as connection:
        state = SqlEngineStore(connection).load_customers(org.org_id, [USER], scope)
    return sorted(ut.starts_at.date().isoformat() for ut in state.user_targets)


def test_only_periods_open_at_the_batchs_earliest_event_are_loaded_unless_the_group_is_whole(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    response = client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth)
    group_id = response.json()["data"]["id"]
    _buy(client, org, "B-aug", "2024-08-10T09:00:00.000Z")  # August, open: the clock is Aug 27
    august = "2024-07-31"  # the org's Kolkata month starts at 18:30 UTC the day before

    earliest_in_september = datetime(2024, 9, 2, tzinfo=UTC)
    none_whole = LoadScope(earliest_in_september, frozenset(), "2024-08-31")
    august_open = LoadScope(datetime(2024, 8, 27, tzinfo=UTC), frozenset(), "2024-08-25")
    group_whole = LoadScope(earliest_in_september, frozenset({group_id}), "2024-08-31")

    assert _loaded_periods(database, org, august_open) == [august]
    assert _loaded_periods(database, org, none_whole) == []
    assert _loaded_periods(database, org, group_whole) == [august]
