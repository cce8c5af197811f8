"""``milestones events prune --before DATE`` (SPEC §16), as an operator runs it.

The org is on UTC and the app's clock is pinned (``MILESTONES_NOW``) on 2024-08-27, while a
monthly group of August to October runs. Its purchases were sent live through August.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from milestones.cli import app
from milestones.clock import Clock
from milestones.store.database import Database
from milestones.store.tables import events
from tests.api.groups import monthly_spend
from tests.api.test_backfill import CUSTOMERS, create, history, send_live, views
from tests.api.test_bad_input import assert_refused
from tests.conftest import OrgCredentials

runner = CliRunner()
NOW = datetime(2024, 8, 27, 10, 0, tzinfo=UTC)


Json = dict[str, Any]


def _prune(database: Database, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["events", "prune", *args, "--database", database.url],
        env={"MILESTONES_NOW": NOW.isoformat()},
    )
    return result.exit_code, result.output


def _stored(database: Database, before: str | None = None) -> int:
    """Events stored (stamped before ``before``, a UTC time, when given)."""
    query = select(func.count()).select_from(events)
    if before is not None:
        query = query.where(
            events.c.event_time < datetime.fromisoformat(before).replace(tzinfo=UTC)
        )
    with database.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _customers(client: TestClient, org: OrgCredentials) -> dict[int, Json]:
    """``GET /v3/customers/{userId}`` of every customer of the history, exact decimals."""
    found = {}
    for user in CUSTOMERS:
        response = client.get(f"/v3/customers/{user}", auth=org.auth)
        assert response.status_code == 200, response.text
        found[user] = json.loads(response.content, parse_float=Decimal)["data"]
    return found


def _live_history(client: TestClient, org: OrgCredentials, clock: Clock) -> dict[str, object]:
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    group = create(client, org, monthly_spend("August to October"))
    send_live(client, org, clock, history(seed=4)[:80])
    clock.set(NOW)
    return group


def test_a_prune_is_refused_while_a_running_group_needs_the_events(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    group = _live_history(client, utc_org, clock)
    stored = _stored(database)
    for extra in ((), ("--dry-run",), ("--org-id", str(utc_org.org_id))):
        code, output = _prune(database, "--before", "2024-08-20", *extra)
        assert code == 2, output
        assert f"group {group['id']} 'August to October' (running" in output, output
        assert "from 2024-08-01T00:00:00.000Z" in output, output
    assert _stored(database) == stored

    code, output = _prune(database, "--before", "2024-08-01T00:00:00Z")
    assert code == 0, output
    assert "pruned 0 events" in output
    assert _stored(database) == stored


def test_a_prune_counts_on_a_dry_run_deletes_once_no_group_needs_the_events_and_keeps_progress(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    group = _live_history(client, org, clock)
    shown = views(client, org, group)
    customers = _customers(client, org)
    assert all(c["loyaltyInfo"]["lifetimePurchases"] > 0 for c in customers.values())
    response = client.put(f"/v3/targetGroups/{group['id']}", json={"active": False}, auth=org.auth)
    assert response.status_code == 200, response.text
    stored, old = _stored(database), _stored(database, "2024-08-09T00:00:00")
    assert 0 < old < stored

    code, output = _prune(database, "--before", "2024-08-09", "--dry-run")
    assert code == 0, output
    assert f"org {org.org_id}" in output and f"{old:,}" in output and "dry run" in output
    assert _stored(database) == stored

    code, output = _prune(database, "--before", "2024-08-09T05:30:00+05:30")
    assert code == 0, output
    assert f"pruned {old:,} events" in output
    assert _stored(database) == stored - old
    assert _stored(database, "2024-08-09T00:00:00") == 0
    # Each customer's lifetimePurchases and dates are what they were, to the thousandth,
    # though some of their bills (and, for some, every event) are gone.
    assert _customers(client, org) == customers, "a prune moved a customer's figures"

    # Active again, it shows what it showed; but its history is no longer whole, so it
    # cannot be rebuilt or backfilled.
    response = client.put(f"/v3/targetGroups/{group['id']}", json={"active": True}, auth=org.auth)
    assert response.status_code == 200, response.text
    assert views(client, org, group) == shown, "a prune moved progress"
    for job in ("rebuild", "backfill"):
        response = client.post(f"/v3/targetGroups/{group['id']}/{job}", auth=org.auth)
        assert_refused(response, 409, "groupId", code=310170, mention="pruned")


def test_an_open_backfill_of_an_ended_group_keeps_its_events_and_bad_input_exits_2(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    clock.set(datetime(2024, 8, 1, tzinfo=UTC))
    send_live(client, org, clock, history(seed=4)[:20])
    clock.set(NOW)
    ended = create(
        client,
        org,
        monthly_spend(
            "August's first week",
            frequencyType="WEEKLY",
            totalPeriods=1,
            targetCycleEndDate="2024-08-07T23:59:59.000",
        ),
    )
    response = client.post(f"/v3/targetGroups/{ended['id']}/backfill", auth=org.auth)
    assert response.status_code == 202, response.text
    code, output = _prune(database, "--before", "2024-08-20", "--dry-run")
    assert code == 2 and "a backfill or rebuild is queued or running" in output, output

    for bad in (("--before", "last week"), ("--before", "2024-02-30"), ("--org-id", "999")):
        args = bad if bad[0] == "--before" else (*bad, "--before", "2024-08-20")
        code, output = _prune(database, *args)
        assert code == 2 and "error:" in output, output
