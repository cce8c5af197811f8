"""Bulk answers: the ``sideEffects`` parameter, and chunks that answer as one batch (SPEC §6.1).

A bulk call is applied a chunk of events at a time in one transaction and its answer
spooled to a file (``milestones.engine.chunked``, ``milestones.api.events.spool``).
Whatever the chunks, the answer must be the bytes the whole batch in one ``ingest()``
call renders to, a duplicate or a return in a later chunk included; a fault in any
chunk stores nothing. ``achievements`` keeps only the side effects where something was
achieved or revoked, ``none`` keeps none, and the statuses and summary do not change.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones import admin
from milestones.api.app import create_app
from milestones.api.envelope import ok
from milestones.api.events.schemas import submission
from milestones.api.events.views import bulk_view
from milestones.clock import Clock
from milestones.engine import chunked
from milestones.engine.catalogue import CatalogueCache
from milestones.engine.ingest import ingest
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.engine import SqlEngineStore
from milestones.store.orgs import OrgRepository
from tests.api.test_event_answers import NOW, every_kind_of_group, purchase
from tests.conftest import OrgCredentials, make_org
from tests.integration.test_concurrency import fresh_postgres_database

Json = dict[str, Any]
ACHIEVED_OR_REVOKED = (
    "targetAchieved",
    "milestonesAchieved",
    "streaksAchieved",
    "groupAchievedNow",
    "targetAchievementRevoked",
    "milestonesRevoked",
    "streaksRevoked",
    "groupAchievementRevoked",
)


def events() -> list[Json]:
    """Purchases and returns that achieve, cross triggers, cap, revoke; a duplicate; a refusal."""
    return [
        purchase("B-1", 7001, 300, "2024-08-25T06:00:00.000Z"),
        purchase("B-2", 7001, 900, "2024-08-26T06:00:00.000Z"),
        purchase("B-3", 7002, 2500, "2024-08-26T07:00:00.000Z"),
        purchase("B-1", 7001, 300, "2024-08-25T06:00:00.000Z"),  # DUPLICATE of an earlier chunk
        purchase("B-4", 7001, 150, "2024-08-27T06:00:00.000Z"),
        {"eventId": "X-1", "eventName": "TransactionAdd", "userId": 7003},  # REJECTED
        purchase("B-5", 7003, 40, "2024-08-27T07:00:00.000Z"),
        {
            "eventId": "R-1",
            "eventName": "ReturnBill",
            "userId": 7002,
            "eventTime": "2024-08-27T08:00:00.000Z",
            "return": {"originalEventId": "B-3", "amount": 2000},  # revokes what B-3 achieved
        },
        purchase("B-6", 7002, 100, "2024-08-27T08:30:00.000Z"),
        purchase("B-6", 7002, 100, "2024-08-27T08:30:00.000Z"),  # DUPLICATE in its own chunk
        {
            "eventId": "R-2",
            "eventName": "ReturnBill",
            "userId": 7002,
            "eventTime": "2024-08-27T09:00:00.000Z",
            "return": {"originalEventId": "B-3"},  # the rest of B-3
        },
    ]


@pytest.fixture
def twin_database(database: Database, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A second empty database of the same kind: the same calls give the same ids in both."""
    if database.is_sqlite:
        path = tmp_path / "twin.db"
        shutil.copy(sqlite_template, path)
        twin = Database(f"sqlite:///{path}")
        yield twin
        twin.dispose()
        return
    with fresh_postgres_database("milestones_twin") as url:
        twin = Database(url)
        twin.migrate()
        yield twin
        twin.dispose()


@contextmanager
def seeded(
    database: Database, clock: Clock, org_id: int = 50363, **settings: Any
) -> Iterator[TestClient]:
    """An app on ``database`` with an org (revoking on returns) and every kind of group."""
    org = make_org(database, clock, org_id)
    admin.set_org(database, org.org_id, revoke_on_return=True)
    app = create_app(
        Settings(database_url=database.url, **settings), database=database, clock=clock
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        client.auth = org.auth
        for body in every_kind_of_group():
            response = client.post("/v3/targetGroups", json=body)
            assert response.status_code == 201, response.text
        yield client


def one_batch_answer(database: Database, sent: list[Json]) -> bytes:
    """The answer as the bulk endpoint wrote it before chunks: one ``ingest()``, one render."""
    with database.transaction() as connection:
        org = OrgRepository(connection).get_org(50363)
        assert org is not None
        submissions = [submission(event, org.zone) for event in sent]
        outcomes = ingest(SqlEngineStore(connection), org, submissions, NOW, CatalogueCache())
    return bytes(ok(bulk_view(outcomes), float_free=True).body)


@pytest.mark.parametrize("chunk_events", [1, 2, 3])
def test_a_bulk_call_in_chunks_answers_the_bytes_of_one_batch(
    database: Database, twin_database: Database, clock: Clock, chunk_events: int
) -> None:
    with seeded(database, clock, bulk_chunk_events=chunk_events) as client:
        response = client.post("/v3/events/bulk", json={"events": events()})
    with seeded(twin_database, clock):
        expected = one_batch_answer(twin_database, events())

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(expected))
    assert response.content == expected
    results = response.json()["data"]["results"]
    statuses = [result["status"] for result in results]
    assert statuses == ["APPLIED"] * 3 + ["DUPLICATE", "APPLIED", "REJECTED", "APPLIED"] + [
        "APPLIED",
        "APPLIED",
        "DUPLICATE",
        "APPLIED",
    ]
    returned = [e for r in results if r["eventId"].startswith("R-") for e in r["sideEffects"]]
    assert any(effect.get("targetAchievementRevoked") for effect in returned)
    # A CAPPING target's return may take back only excess that never counted (SPEC §10): 0.
    assert all(effect["currentEventTargetValue"] <= 0 for effect in returned)
    assert any(effect["currentEventTargetValue"] < 0 for effect in returned)


def test_a_fault_in_a_later_chunk_stores_nothing_of_the_call(
    client: TestClient, org: OrgCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    for body in every_kind_of_group():
        assert client.post("/v3/targetGroups", json=body, auth=org.auth).status_code == 201
    client.app.state.settings.bulk_chunk_events = 2
    calls = 0
    real_ingest = chunked.ingest

    def failing_third_chunk(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the server fails in the middle of the call")
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(chunked, "ingest", failing_third_chunk)
    failed = client.post("/v3/events/bulk", json={"events": events()}, auth=org.auth)
    monkeypatch.setattr(chunked, "ingest", real_ingest)
    again = client.post("/v3/events/bulk", json={"events": events()}, auth=org.auth)

    assert calls == 3
    assert failed.status_code == 500
    assert failed.json()["data"] is None
    first = [result["status"] for result in again.json()["data"]["results"]][:3]
    assert first == ["APPLIED"] * 3  # nothing of the failed call was stored


def achieved_or_revoked(effect: Json) -> bool:
    return any(effect.get(key) for key in ACHIEVED_OR_REVOKED)


def answers(client: TestClient, sent: list[Json], shown: str | None, bulk: bool) -> list[Json]:
    """Each event's result, from one bulk call or one call per event."""
    query = {} if shown is None else {"sideEffects": shown}
    if bulk:
        response = client.post("/v3/events/bulk", json={"events": sent}, params=query)
        assert response.status_code == 200, response.text
        found: list[Json] = response.json()["data"]["results"]
        assert response.json()["data"]["summary"] == {
            "total": 11,
            "APPLIED": 8,
            "DUPLICATE": 2,
            "NO_MATCH": 0,
            "OUT_OF_WINDOW": 0,
            "REJECTED": 1,
        }
        return found
    results = []
    for event in sent:
        response = client.post("/v3/events", json=event, params=query)
        assert response.status_code in (200, 400), response.text
        results.append(response.json()["data"])
    return results


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
def test_achievements_lists_only_what_was_achieved_or_revoked_and_none_lists_nothing(
    database: Database, twin_database: Database, clock: Clock, bulk: bool
) -> None:
    with seeded(database, clock) as client:
        full = answers(client, events(), None, bulk)
    with seeded(twin_database, clock) as client:
        achievements = answers(client, events(), "achievements", bulk)
    with seeded(twin_database, clock, org_id=50364) as client:
        nothing = answers(client, events(), "none", bulk)

    kept = [
        {**result, "sideEffects": [e for e in result["sideEffects"] if achieved_or_revoked(e)]}
        for result in full
    ]
    assert achievements == kept
    every_effect = [effect for result in full for effect in result["sideEffects"]]
    shown = [effect for result in achievements for effect in result["sideEffects"]]
    assert 0 < len(shown) < len(every_effect)
    assert {key for effect in shown for key in ACHIEVED_OR_REVOKED if effect.get(key)} >= {
        "targetAchieved",
        "milestonesAchieved",
        "targetAchievementRevoked",
        "groupAchievedNow",
    }
    assert nothing == [{**result, "sideEffects": []} for result in full]


@pytest.mark.parametrize("path", ["/v3/events", "/v3/events/bulk"])
def test_an_unknown_side_effects_value_is_refused_naming_it_and_stores_nothing(
    client: TestClient, org: OrgCredentials, path: str
) -> None:
    assert client.post("/v3/targetGroups", json=every_kind_of_group()[0], auth=org.auth)
    event = purchase("B-1", 7001, 300, "2024-08-25T06:00:00.000Z")
    body = event if path == "/v3/events" else {"events": [event]}

    refused = client.post(path, json=body, params={"sideEffects": "brief"}, auth=org.auth)
    taken = client.post(path, json=body, params={"sideEffects": "none"}, auth=org.auth)

    assert refused.status_code == 400
    assert refused.json()["data"] is None
    [error] = refused.json()["errors"]
    assert error["code"] == 300004
    assert error["field"] == "sideEffects"
    assert "achievements" in error["message"]
    assert taken.status_code == 200
    status = taken.json()["data"]["status"] if path == "/v3/events" else None
    status = status or taken.json()["data"]["results"][0]["status"]
    assert status == "APPLIED"


def test_the_parameter_is_documented_on_both_endpoints(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path in ("/v3/events", "/v3/events/bulk"):
        operation = document["paths"][path]["post"]
        [parameter] = [p for p in operation["parameters"] if p["in"] == "query"]
        assert parameter["name"] == "sideEffects"
        assert parameter["schema"]["default"] == "full"
        assert "achieved" in parameter["description"]
        name = parameter["schema"]["$ref"].rsplit("/", 1)[-1]
        assert document["components"]["schemas"][name]["enum"] == ["full", "achievements", "none"]
