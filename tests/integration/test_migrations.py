"""Migrations over a database that already holds the engine's rows, on both engines."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from milestones.clock import Clock
from milestones.store.database import Database, alembic_config
from milestones.store.ledger import ledger_rows
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials

ENGINE_TABLES = (
    "user_targets",
    "user_milestones",
    "user_target_days",
    "user_group_periods",
)


def _counts(database: Database) -> dict[str, int]:
    """Rows of the engine's tables, and the ledger's entries by kind whichever way it is
    stored (a row per contribution before migration 0012, packed per event since)."""
    with database.engine.connect() as connection:
        counts = {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ENGINE_TABLES
        }
        packed = "ledger" in {
            column["name"] for column in inspect(connection).get_columns("events")
        }
        if packed:
            kinds = Counter(str(row.kind) for row in ledger_rows(connection))
        else:
            rows = connection.execute(
                text("SELECT kind, count(*) FROM contributions GROUP BY kind")
            )
            kinds = Counter({str(kind): int(count) for kind, count in rows})
        counts.update({f"ledger {kind}": count for kind, count in kinds.items()})
        excess = connection.execute(
            text("SELECT count(*) FROM contributions WHERE kind = 'EXCESS'")
        ).scalar_one()
        counts["contributions EXCESS"] = int(excess)
    return counts


def _view(client: TestClient, org: OrgCredentials) -> object:
    response = client.get("/v3.1/users/7001/targetGroups", auth=org.auth)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_dropping_the_engine_tables_foreign_keys_keeps_every_row_both_ways(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    halfway = [{"triggerName": "half", "triggerValueType": "PERCENTAGE", "triggerValue": 50}]
    spend = {"name": "spend", "targetEntity": "TRANSACTION", "targetType": "SALES"}
    visits = {"name": "visits", "targetEntity": "TRANSACTION", "targetType": "VISIT"}
    groups = [
        monthly_spend(
            targets=[{**spend, "defaultValue": 1000, "targetMilestoneTriggers": halfway}]
        ),
        monthly_spend("Visits", targets=[{**visits, "defaultValue": 2}]),
        # A cap leaves excess out: EXCESS entries, also rows of ``contributions``.
        monthly_spend("Capped", trackingType="CAPPING", targets=[{**spend, "defaultValue": 400}]),
        monthly_spend(
            "Both",
            trackingType="UNIFIED",
            combinationType="ALL",
            targets=[{**spend, "defaultValue": 100}, {**visits, "defaultValue": 1}],
        ),
    ]
    for body in groups:
        assert client.post("/v3/targetGroups", json=body, auth=org.auth).status_code == 201
    events = [
        {
            "eventId": f"B-{n}",
            "eventName": "TransactionAdd",
            "userId": 7001,
            "eventTime": f"2024-08-2{n}T09:00:00.000Z",
            "transaction": {"billAmount": 300 * n},
        }
        for n in (5, 6)
    ]
    answer = client.post("/v3/events/bulk", json={"events": events}, auth=org.auth)
    assert answer.status_code == 200, answer.text
    before, view = _counts(database), _view(client, org)
    assert all(before[table] > 0 for table in ENGINE_TABLES), before
    assert before["ledger EVENT"] > 0 and before["ledger EXCESS"] > 0, before
    assert before["contributions EXCESS"] == before["ledger EXCESS"], before

    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004")  # through 0012 ... 0005
    assert _counts(database) == before
    database.migrate()

    assert _counts(database) == before
    assert _view(client, org) == view


def _period_ends(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT ends_at FROM periods UNION SELECT ends_at FROM user_targets")
        )
        return {str(row[0])[:19] for row in rows}


def test_a_group_ending_in_a_days_last_minute_has_its_slots_moved_to_the_day_end_both_ways(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    clock.set(datetime(2024, 8, 26, 12, 0, tzinfo=UTC))
    for evaluation in ("PERIOD_AGNOSTIC_WINDOW", "CYCLIC_WINDOW"):
        body = monthly_spend(
            evaluation,
            targetEvaluationType=evaluation,
            frequencyType="DAILY",
            totalPeriods=2,
            targetCycleStartDate="2024-08-20T00:00:00.000",
            targetCycleEndDate="2024-08-26T23:59:59.000",  # Kolkata: 18:29:59Z
        )
        assert client.post("/v3/targetGroups", json=body, auth=org.auth).status_code == 201
    bill = {
        "eventId": "B-1",
        "eventName": "TransactionAdd",
        "userId": 7001,
        "eventTime": "2024-08-26T09:00:00.000Z",
        "transaction": {"billAmount": 300},
    }
    assert client.post("/v3/events", json=bill, auth=org.auth).status_code == 200
    view = _view(client, org)
    # Slots of both groups, the customer's agnostic slot and clipped last cycle, all moved.
    assert _period_ends(database) == {"2024-08-26 18:30:00"}

    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0007")
    assert _period_ends(database) == {"2024-08-26 18:29:59"}
    database.migrate()

    assert _period_ends(database) == {"2024-08-26 18:30:00"}
    assert _view(client, org) == view


def test_user_targets_get_the_latest_event_time_that_moved_them_when_reached_at_is_added(
    client: TestClient, org: OrgCredentials, database: Database
) -> None:
    assert client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth).status_code == 201
    # Sent out of order: the later-stamped bill first.
    for event_id, stamp in (
        ("B-2", "2024-08-26T09:00:00.000Z"),
        ("B-1", "2024-08-25T09:00:00.000Z"),
    ):
        event = {
            "eventId": event_id,
            "eventName": "TransactionAdd",
            "userId": 7001,
            "eventTime": stamp,
            "transaction": {"billAmount": 300},
        }
        assert client.post("/v3/events", json=event, auth=org.auth).status_code == 200

    def reached() -> list[str]:
        with database.engine.connect() as connection:
            rows = connection.execute(text("SELECT reached_at FROM user_targets"))
            return [str(row[0])[:19].replace(" ", "T") for row in rows]

    assert reached() == ["2024-08-26T09:00:00"]
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0009")
    database.migrate()
    assert reached() == ["2024-08-26T09:00:00"]
