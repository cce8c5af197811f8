"""``POST /v3/targetGroups/simulate`` (SPEC §16): what a draft would reach, writing nothing.

The simulation must answer exactly what creating the draft and backfilling it produces.
Here the test sends a few hundred purchases and returns while no group listens, asks for
the simulation, then creates the same group, backfills it (a real job worker), and works
the figures out itself from what a user reads: each customer's user view (every period)
for reached, achieved, triggers, the value's percentiles (nearest rank, worked out here)
and streak levels; for CAPPING the counted total from the views and the excess from the
events sent (a customer's net spend in the period less what counted). They must be equal.
The org is on UTC.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import simplejson
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from milestones import admin, cli
from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.jobs import JobWorker
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.tables import metadata
from tests.api.test_backfill import (
    CUSTOMERS,
    KINDS,
    backfill,
    create,
    get_job,
    history,
    run_jobs,
)
from tests.api.test_bad_input import assert_refused
from tests.conftest import OrgCredentials, make_org

Json = dict[str, Any]
SENT = datetime(2024, 8, 27, 0, 0, tzinfo=UTC)  # when the history was stored
AFTER = datetime(2024, 8, 27, 10, 0, tzinfo=UTC)  # when the draft is simulated, then created
AUGUST = {"from": "2024-08-01", "to": "2024-10-31"}


@pytest.fixture(autouse=True)
def leaderboards(database: Database, utc_org: OrgCredentials) -> None:
    admin.set_org(database, utc_org.org_id, leaderboards_enabled=True)


def send_stored(client: TestClient, org: OrgCredentials, events: list[Json]) -> None:
    """Stored while no group listens (each NO_MATCH): the history a simulation reads."""
    for start in range(0, len(events), 500):
        response = client.post(
            "/v3/events/bulk",
            content=simplejson.dumps({"events": events[start : start + 500]}, use_decimal=True),
            headers={"content-type": "application/json"},
            auth=org.auth,
        )
        assert response.status_code == 200, response.text
        statuses = {result["status"] for result in response.json()["data"]["results"]}
        assert statuses <= {"APPLIED", "NO_MATCH"}, statuses


def simulate(client: TestClient, org: OrgCredentials, group: Json, **range_: str) -> Any:
    body = {"group": group, **(range_ or AUGUST)}
    return client.post("/v3/targetGroups/simulate", json=body, auth=org.auth)


def simulated(client: TestClient, org: OrgCredentials, group: Json, **range_: str) -> Json:
    response = simulate(client, org, group, **range_)
    assert response.status_code == 200, response.text
    data: Json = json.loads(response.content, parse_float=Decimal)["data"]
    return data


# --- Figures worked out by the test --------------------------------------------------------


def nearest_rank(values: list[Decimal], quantile: int) -> Decimal:
    ordered = sorted(values)
    rank = 1
    while rank * 100 < quantile * len(ordered):
        rank += 1
    return ordered[rank - 1]


def entries(client: TestClient, org: OrgCredentials, group: Json) -> dict[int, Json]:
    """Each customer's entry of ``group`` in the user view, every period."""
    found: dict[int, Json] = {}
    for user in CUSTOMERS:
        response = client.get(
            f"/v3.1/users/{user}/targetGroups", params={"includeInactive": "true"}, auth=org.auth
        )
        assert response.status_code == 200, response.text
        data = json.loads(response.content, parse_float=Decimal)["data"]
        (entry,) = [g for g in data["targetGroups"] if g["id"] == group["id"]]
        found[user] = entry
    return found


def net_spend(events: list[Json], user: int, starts: str, ends: str) -> Decimal:
    """What a customer's bills in [starts, ends) came to, less what was returned of them."""
    bills = {
        e["eventId"]: e["transaction"]["billAmount"]
        for e in events
        if e["userId"] == user and "transaction" in e and starts <= e["eventTime"] < ends
    }
    returned = sum(
        (
            e["return"]["amount"]
            for e in events
            if e["userId"] == user and "return" in e and e["return"]["originalEventId"] in bills
        ),
        Decimal(0),
    )
    return sum(bills.values(), Decimal(0)) - returned


def figures_from_views(
    client: TestClient, org: OrgCredentials, group: Json, events: list[Json]
) -> Json:
    """The simulation's figures as a user reads them off the created, backfilled group."""
    number = {period["id"]: n for n, period in enumerate(group["periods"], start=1)}
    cells: dict[tuple[str, int], list[Json]] = {}
    streaks = {level["name"]: 0 for level in group.get("streaks", [])}
    for user, entry in entries(client, org, group).items():
        for row in entry["targets"]:
            if row["targetId"] is not None:
                row["userId"] = user
                cells.setdefault((row["targetName"], number[row["periodId"]]), []).append(row)
        for streak in entry.get("streaks", []):
            streaks[streak["streakName"]] += streak["status"] == "ACHIEVED"
    capping = group["trackingType"] == "CAPPING"
    targets = {}
    for target in group["targets"]:
        periods = []
        for n in range(1, len(group["periods"]) + 1):
            rows = cells.get((target["name"], n), [])
            values = [row["targetAchievedValue"] for row in rows]
            period: Json = {
                "periodNumber": n,
                "customersReached": len(rows),
                "customersAchieved": sum(row["targetAchievedDateTime"] is not None for row in rows),
                "milestones": {
                    trigger["triggerName"]: sum(
                        milestone["isAchieved"]
                        for row in rows
                        for milestone in row["milestones"] or []
                        if milestone["triggerName"] == trigger["triggerName"]
                    )
                    for trigger in target["targetMilestoneTriggers"]
                    if trigger["triggerType"] == "USER_TRIGGER" and trigger["isActive"]
                },
                "achievedValue": {f"p{q}": nearest_rank(values, q) for q in (25, 50, 75, 90)}
                if values
                else None,
            }
            if capping:
                window = group["periods"][n - 1]
                starts, ends = window["startDateWithTimeStamp"], window["endDateWithTimeStamp"]
                period["cappedValue"] = sum(values, Decimal(0))
                period["excessValue"] = sum(
                    (
                        net_spend(events, row["userId"], starts, ends) - row["targetAchievedValue"]
                        for row in rows
                    ),
                    Decimal(0),
                )
            periods.append(period)
        targets[target["name"]] = periods
    return {"targets": targets, "streaks": streaks}


def figures_answered(data: Json) -> Json:
    """The same shape, from the simulation's answer."""
    targets = {}
    for target in data["targets"]:
        periods = []
        for period in target["periods"]:
            mine = {
                key: period[key]
                for key in ("periodNumber", "customersReached", "customersAchieved")
            }
            mine["milestones"] = {
                m["triggerName"]: m["customersAchieved"] for m in period["milestones"]
            }
            mine["achievedValue"] = period["achievedValue"]
            for key in ("cappedValue", "excessValue"):
                if key in period:
                    mine[key] = period[key]
            periods.append(mine)
        targets[target["targetName"]] = periods
    streaks = {streak["streakName"]: streak["customersAchieved"] for streak in data["streaks"]}
    return {"targets": targets, "streaks": streaks}


def same(got: Any, expected: Any) -> None:
    """Equal, or the first paths that differ."""
    differences: list[str] = []

    def walk(a: Any, b: Any, at: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key, "<missing>"), b.get(key, "<missing>"), f"{at}.{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{at}[{index}]")
        elif a != b:
            differences.append(f"{at}: {a!r} != {b!r}")

    walk(got, expected, "")
    assert not differences, "\n".join(differences[:15])


# --- Simulation agrees with backfill -----------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_simulation_answers_what_creating_and_backfilling_the_draft_produces(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock, kind: str
) -> None:
    org = utc_org
    events = history(seed=16)
    clock.set(SENT)
    send_stored(client, org, events)
    clock.set(AFTER)
    draft = KINDS[kind]("late")
    answer = simulated(client, org, draft)
    assert answer["eventsRead"] == len(events)

    group = create(client, org, draft)
    job = backfill(client, org, group["id"])
    run_jobs(database, clock)
    assert get_job(client, org, job["id"])["status"] == "DONE"

    expected = figures_from_views(client, org, group, events)
    same(figures_answered(answer), expected)
    reached = sum(
        p["customersReached"] for periods in expected["targets"].values() for p in periods
    )
    assert reached >= len(CUSTOMERS), "nobody reached: the test shows nothing"
    if kind == "streak":
        assert any(expected["streaks"].values()), expected["streaks"]
    if kind == "capping":
        excess = [p["excessValue"] for p in expected["targets"]["spend"]]
        assert any(excess), "no excess: the test shows nothing"
    if kind == "fixed":
        assert any(p["milestones"]["half"] for p in expected["targets"]["spend"])
    # The group now exists (and has progress): simulating it again counts the events alone.
    again = simulated(client, org, draft)
    same(figures_answered(again), expected)


# --- What it reads, and what it writes -----------------------------------------------------


def row_counts(database: Database) -> dict[str, int]:
    with database.transaction(write=False) as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def test_a_simulation_writes_nothing(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    clock.set(SENT)
    send_stored(client, org, history(seed=7))
    clock.set(AFTER)
    live = create(client, org, KINDS["capping"]("live"))
    backfill(client, org, live["id"])
    run_jobs(database, clock)
    before = row_counts(database)
    assert before["events"] and before["user_targets"] and before["notifications"], before

    for kind in sorted(KINDS):
        simulated(client, org, KINDS[kind](f"draft {kind}"))

    assert row_counts(database) == before


def test_another_orgs_events_are_never_counted(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    other = make_org(database, clock, 4242, "UTC")
    events = history(seed=11)
    clock.set(SENT)
    send_stored(client, other, events)  # the same customers' ids, in another org
    clock.set(AFTER)
    draft = KINDS["capping"]("draft")

    nothing = simulated(client, utc_org, draft)
    assert nothing["eventsRead"] == 0 and nothing["customersReached"] == 0, nothing
    theirs = simulated(client, other, draft)
    assert theirs["eventsRead"] == len(events) and theirs["customersReached"] == len(CUSTOMERS)

    clock.set(SENT)
    mine = [e for e in history(seed=12) if e["userId"] in CUSTOMERS[:3]]
    send_stored(client, utc_org, mine)
    clock.set(AFTER)
    answer = simulated(client, utc_org, draft)
    assert answer["eventsRead"] == len(mine) and answer["customersReached"] == 3, answer


def test_only_the_events_inside_the_range_and_the_groups_dates_are_read(
    client: TestClient, utc_org: OrgCredentials, clock: Clock
) -> None:
    org = utc_org
    events = history(seed=16)
    clock.set(SENT)
    send_stored(client, org, events)
    clock.set(AFTER)
    draft = KINDS["fixed"]("draft")

    def read(**range_: str) -> int:
        count: int = simulated(client, org, draft, **range_)["eventsRead"]
        return count

    in_week = [e for e in events if "2024-08-10" <= e["eventTime"] < "2024-08-17"]
    assert read(**{"from": "2024-08-10", "to": "2024-08-16"}) == len(in_week)
    from_noon = [e for e in events if e["eventTime"] >= "2024-08-10T12:00:00"]
    assert read(**{"from": "2024-08-10T12:00:00Z", "to": "2024-12-31"}) == len(from_noon)
    # The group starts on 2024-08-01: what came before it is not read, whatever the range.
    assert read(**{"from": "2024-01-01", "to": "2024-07-31"}) == 0
    # A range with no time of day ends with its last day; an instant is excluded.
    assert read(**{"from": "2024-08-10", "to": "2024-08-10"}) == len(
        [e for e in events if e["eventTime"].startswith("2024-08-10")]
    )
    assert read(**{"from": "2024-08-10T00:00:00Z", "to": "2024-08-10T00:00:00Z"}) == 0


def test_a_range_reaching_back_before_a_prune_is_warned_about(
    client: TestClient, utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    events = history(seed=16)
    clock.set(SENT)
    send_stored(client, org, events)
    clock.set(AFTER)
    pruned = CliRunner().invoke(
        cli.app, ["events", "prune", "--before", "2024-08-15", "--database", database.url]
    )
    assert pruned.exit_code == 0, pruned.output
    kept = [e for e in events if e["eventTime"] >= "2024-08-15"]
    assert 0 < len(kept) < len(events)
    draft = KINDS["capping"]("draft")

    response = simulate(client, org, draft)
    assert response.status_code == 200, response.text
    assert [w["code"] for w in response.json()["warnings"]] == [310170]
    assert response.json()["data"]["eventsRead"] == len(kept)
    after = simulate(client, org, draft, **{"from": "2024-08-15", "to": "2024-10-31"})
    assert after.status_code == 200 and after.json()["warnings"] == [], after.text


# --- A range too large: a job --------------------------------------------------------------


def test_a_range_over_the_bound_runs_as_a_job_whose_result_holds_the_same_figures(
    utc_org: OrgCredentials, database: Database, clock: Clock
) -> None:
    org = utc_org
    events = history(seed=16)
    settings = Settings(database_url=database.url, simulation_sync_events=len(events) - 1)
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as bounded:
        clock.set(SENT)
        send_stored(bounded, org, events)
        clock.set(AFTER)
        draft = KINDS["streak"]("draft")
        asked = simulate(bounded, org, draft)
        assert asked.status_code == 202, asked.text
        job = asked.json()["data"]
        assert (job["type"], job["status"], job["total"]) == ("SIMULATION", "QUEUED", len(events))
        assert job["result"] is None
        before = row_counts(database)

        worker = JobWorker(
            database, Settings(database_url=database.url, import_chunk_lines=50), clock
        )
        stop = threading.Event()
        worker.run_one(stop, on_chunk=lambda *_: stop.set())  # one chunk, then stopped
        assert get_job(bounded, org, job["id"])["done"] == 50
        worker.run_pending()
        done = json.loads(
            bounded.get(f"/v3/jobs/{job['id']}", auth=org.auth).content, parse_float=Decimal
        )["data"]
        assert done["status"] == "DONE" and done["resumed"] == 1, done
        assert done["done"] == len(events), done

        assert row_counts(database) == before  # the job's own row aside: nothing written
    at_once = simulated_with(database, clock, org, draft)
    result = done["result"]
    assert result.pop("warnings") == []
    assert result == at_once


def simulated_with(database: Database, clock: Clock, org: OrgCredentials, draft: Json) -> Json:
    app = create_app(Settings(database_url=database.url), database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        return simulated(client, org, draft)


# --- Bad input -----------------------------------------------------------------------------

INVALID_DRAFTS = {
    "no targets": {"targets": []},
    "a bad zone": {"timeZoneName": "Mars/Olympus"},
    "end before start": {"targetCycleEndDate": "2024-07-01T00:00:00.000"},
    "streaks on DEFAULT": {"streaks": [{"name": "x", "targetCountOfSequence": 2}]},
    "a negative value": {
        "targets": [
            {"name": "s", "targetEntity": "TRANSACTION", "targetType": "SALES", "defaultValue": -1}
        ]
    },
    "a string for a number": {"totalPeriods": "3"},
    "no name": {"name": None},
}


@pytest.mark.parametrize("case", sorted(INVALID_DRAFTS))
def test_an_invalid_draft_gets_the_errors_create_gives_under_group(
    client: TestClient, utc_org: OrgCredentials, case: str
) -> None:
    body = {**KINDS["fixed"]("draft"), **INVALID_DRAFTS[case]}
    created = client.post("/v3/targetGroups", json=body, auth=utc_org.auth)
    assert created.status_code == 400, created.text
    expected = [
        {**error, "field": f"group.{error['field']}" if error.get("field") else "group"}
        for error in created.json()["errors"]
    ]
    response = simulate(client, utc_org, body)
    assert_refused(response, 400, tuple(e["field"] for e in expected))
    answered = response.json()["errors"]
    assert [(e["code"], e["field"]) for e in answered] == [
        (e["code"], e["field"]) for e in expected
    ]
    for got, made in zip(answered, created.json()["errors"], strict=True):
        # The same message; a message that names its field names it as the body has it.
        field = made.get("field")
        moved = made["message"].replace(field, f"group.{field}", 1) if field else None
        assert got["message"] in (made["message"], moved), (got, made)


@pytest.mark.parametrize(
    ("range_", "field"),
    [
        ({"from": "2024-08-31", "to": "2024-08-01"}, "from"),
        ({"from": "2024-08-10T12:00:00Z", "to": "2024-08-10T11:59:59Z"}, "from"),
        ({"from": "the first", "to": "2024-08-01"}, "from"),
        ({"from": "2024-08-01", "to": "2024-02-30"}, "to"),
        ({"to": "2024-08-01"}, "from"),
        ({"from": "2024-08-01", "to": 20240801}, "to"),
    ],
)
def test_a_bad_range_is_refused_naming_the_field(
    client: TestClient, utc_org: OrgCredentials, range_: Json, field: str
) -> None:
    body = {"group": KINDS["fixed"]("draft"), **range_}
    response = client.post("/v3/targetGroups/simulate", json=body, auth=utc_org.auth)
    assert_refused(response, 400, field)


def test_a_simulation_needs_credentials_and_a_json_body(
    client: TestClient, utc_org: OrgCredentials
) -> None:
    body = {"group": KINDS["fixed"]("draft"), **AUGUST}
    assert client.post("/v3/targetGroups/simulate", json=body).status_code == 401
    response = client.post(
        "/v3/targetGroups/simulate",
        content=b"group=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=utc_org.auth,
    )
    assert_refused(response, 415, None)
    response = client.post(
        "/v3/targetGroups/simulate",
        content=b"{not json",
        headers={"content-type": "application/json"},
        auth=utc_org.auth,
    )
    assert_refused(response, 400, None)


def test_a_draft_whose_name_is_taken_is_simulated_with_a_warning(
    client: TestClient, utc_org: OrgCredentials
) -> None:
    create(client, utc_org, KINDS["fixed"]("taken"))
    response = simulate(client, utc_org, KINDS["fixed"]("Taken"))
    assert response.status_code == 200, response.text
    assert [w["code"] for w in response.json()["warnings"]] == [310069]
