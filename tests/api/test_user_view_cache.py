"""The user view's prepared parts (per catalogue) and remembered clients never show stale data.

Each test warms a server's caches, changes something (a group, the customer's progress,
the clock), then asks again: the warm server must answer byte for byte what a server
started afresh on the same database answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones.api.app import create_app
from milestones.api.user_view.prepared import PreparedGroup
from milestones.clock import Clock
from milestones.domain.standing import Known
from milestones.settings import Settings
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials

Json = dict[str, Any]
USER = 555001
VARIANTS: list[dict[str, str]] = [
    {},
    {"includeInactive": "true"},
    {"includeInactiveTargets": "true"},
]


@contextmanager
def fresh_client(database: Database, clock: Clock) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database.url), database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def raw_view(client: TestClient, org: OrgCredentials, **params: Any) -> bytes:
    response = client.get(f"/v3.1/users/{USER}/targetGroups", params=params, auth=org.auth)
    assert response.status_code == 200, response.text
    return response.content


def assert_as_fresh(
    client: TestClient, database: Database, clock: Clock, org: OrgCredentials
) -> Json:
    """The warm server answers as a fresh one, with and without every period; the view."""
    for params in VARIANTS:
        warm = raw_view(client, org, **params)
        with fresh_client(database, clock) as fresh:
            assert warm == raw_view(fresh, org, **params), params
    data: Json = client.get(f"/v3.1/users/{USER}/targetGroups", auth=org.auth).json()["data"]
    return data


def bill(event_id: str, at: str, amount: int) -> Json:
    return {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": USER,
        "eventTime": at,
        "transaction": {"billNumber": event_id, "billAmount": amount, "grossAmount": amount},
    }


def weekly_streaks() -> Json:
    """Six weeks from Monday 2024-08-05, a streak level of two weeks in a row."""
    return {
        "name": "Spend weekly",
        "trackingType": "STREAKS",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "WEEKLY",
        "frequency": 1,
        "totalPeriods": 6,
        "recurringCycles": -1,
        "targetCycleStartDate": "2024-08-05T00:00:00.000",
        "targetCycleEndDate": "2024-09-15T23:59:59.000",
        "targets": [
            {
                "name": "weekly spend",
                "targetEntity": "TRANSACTION",
                "targetType": "SALES",
                "defaultValue": 1000,
                "targetMilestoneTriggers": [
                    {"triggerName": "half", "triggerValueType": "PERCENTAGE", "triggerValue": 50}
                ],
            }
        ],
        "streaks": [{"name": "two weeks", "targetCountOfSequence": 2}],
    }


def create(client: TestClient, org: OrgCredentials, body: Json) -> Json:
    response = client.post("/v3/targetGroups", json=body, auth=org.auth)
    assert response.status_code == 201, response.text
    group: Json = response.json()["data"]
    return group


def test_a_changed_group_is_shown_changed_by_a_warm_server(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    clock.set(datetime(2024, 9, 15, tzinfo=UTC))
    group = create(client, utc_org, monthly_spend())
    other = create(client, utc_org, monthly_spend("Another"))
    before = assert_as_fresh(client, database, clock, utc_org)
    assert before["targetGroups"][0]["targets"][0]["targetValue"] == 1000
    september = group["periods"][1]["id"]
    target = group["targets"][0]["id"]
    values = {"id": target, "defaultValues": [{"periodId": september, "defaultValue": 1500}]}
    clock.advance(timedelta(seconds=1))
    changed = client.put(
        f"/v3/targetGroups/{group['id']}", json={"targets": [values]}, auth=utc_org.auth
    )
    assert changed.status_code == 200, changed.text
    after = assert_as_fresh(client, database, clock, utc_org)
    assert after["targetGroups"][0]["targets"][0]["targetValue"] == 1500
    assert after["targetGroups"][0]["attribution"] != before["targetGroups"][0]["attribution"]
    clock.advance(timedelta(seconds=1))
    hidden = client.put(
        f"/v3/targetGroups/{other['id']}", json={"active": False}, auth=utc_org.auth
    )
    assert hidden.status_code == 200, hidden.text
    assert [
        g["name"] for g in assert_as_fresh(client, database, clock, utc_org)["targetGroups"]
    ] == ["Spend 1000 a month"]


def test_the_customers_new_progress_is_shown_by_a_warm_server(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    clock.set(datetime(2024, 8, 14, 12, tzinfo=UTC))
    create(client, utc_org, monthly_spend())
    create(client, utc_org, weekly_streaks())
    idle = assert_as_fresh(client, database, clock, utc_org)
    assert all(t["targetId"] is None for g in idle["targetGroups"] for t in g["targets"])
    sent = client.post(
        "/v3/events", json=bill("B-1", "2024-08-14T10:00:00.000Z", 600), auth=utc_org.auth
    )
    assert sent.status_code == 200, sent.text
    shown = assert_as_fresh(client, database, clock, utc_org)
    targets = [t for g in shown["targetGroups"] for t in g["targets"]]
    assert all(t["targetId"] is not None for t in targets)
    assert [t["targetAchievedValue"] for t in targets] == [600, 600]
    weekly = shown["targetGroups"][1]["targets"][0]
    assert weekly["milestones"][0]["isAchieved"] is True


def test_a_period_rolling_over_moves_the_current_period_of_a_warm_server(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    clock.set(datetime(2024, 8, 14, 12, tzinfo=UTC))
    create(client, utc_org, monthly_spend())
    create(client, utc_org, weekly_streaks())
    august = assert_as_fresh(client, database, clock, utc_org)
    seen: set[tuple[int, ...]] = set()
    for days in (7, 7, 7, 14, 30, 60):  # weeks end, months end, then every period has
        clock.advance(timedelta(days=days))
        view = assert_as_fresh(client, database, clock, utc_org)
        seen.add(tuple(t["periodId"] for g in view["targetGroups"] for t in g["targets"]))
    periods = tuple(t["periodId"] for g in august["targetGroups"] for t in g["targets"])
    assert periods not in seen and len(seen) >= 3
    assert view["targetGroups"] == []  # December: every period has ended


def test_the_shortcuts_answer_what_the_full_layout_answers(
    client: TestClient,
    utc_org: OrgCredentials,
    database: Database,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Current period by bisection, prepared skeletons and defaults: same bytes as laying
    out every period of every group and writing every entry from scratch."""
    clock.set(datetime(2024, 8, 14, 12, tzinfo=UTC))
    create(client, utc_org, monthly_spend())
    create(client, utc_org, weekly_streaks())
    sent = client.post(
        "/v3/events", json=bill("B-1", "2024-08-14T10:00:00.000Z", 1200), auth=utc_org.auth
    )
    assert sent.status_code == 200, sent.text
    # Created after the purchase: the customer has nothing on these.
    create(client, utc_org, monthly_spend("Untouched"))
    create(client, utc_org, {**weekly_streaks(), "name": "Untouched streak"})
    answers = []
    for days in (0, 7, 20, 40, 90):
        clock.set(datetime(2024, 8, 14, 12, tzinfo=UTC) + timedelta(days=days))
        answers.append([raw_view(client, utc_org, **p) for p in VARIANTS])
    monkeypatch.setattr(PreparedGroup, "current_periods", lambda self, now: None)
    monkeypatch.setattr(PreparedGroup, "cell", lambda self, target_id, period_id: None)
    monkeypatch.setattr(Known, "touches", lambda self, group: True)
    with fresh_client(database, clock) as full:
        for days, answer in zip((0, 7, 20, 40, 90), answers, strict=True):
            clock.set(datetime(2024, 8, 14, 12, tzinfo=UTC) + timedelta(days=days))
            assert answer == [raw_view(full, utc_org, **p) for p in VARIANTS], days


def test_the_streak_levels_of_a_customer_without_progress_follow_the_clock(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    clock.set(datetime(2024, 8, 6, tzinfo=UTC))
    create(client, utc_org, weekly_streaks())
    levels = []
    for _ in range(5):
        view = assert_as_fresh(client, database, clock, utc_org)
        levels.append(view["targetGroups"][0]["streaks"])
        clock.advance(timedelta(days=7))
    assert all(level is not None for level in levels)
