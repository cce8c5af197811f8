"""Property-based API test: Schemathesis against the OpenAPI document the app serves.

Every operation of ``/openapi.json`` is fuzzed (explicit examples, the coverage phase and a
bounded number of generated positive and negative cases) against the real app over a migrated
SQLite file, with valid Basic credentials on every request. Each response must not be a 5xx, and
must match what the document says about it: a documented status code, a documented content type,
and a body that validates against the documented schema.

A state machine over the document's OpenAPI links runs when there are links; until then a
hand-written flow stands in: create a group, then fuzz reading and updating that real group.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.schemas import BaseSchema

from milestones import admin
from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.settings import Settings
from milestones.store.database import Database

START = datetime(2024, 8, 27, 10, 0, tzinfo=UTC)
ORG_ID = 50363
CLIENT_ID = "schemathesis-client"
CLIENT_SECRET = "schemathesis-secret"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

# Bounded so the file stays well under two minutes on a small CI machine.
MAX_EXAMPLES = 40
STATEFUL_SCENARIOS = 30

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]

VALID_GROUP = {
    "name": "Spend 1000 a month",
    "trackingType": "DEFAULT",
    "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
    "frequencyType": "MONTHLY",
    "frequency": 1,
    "totalPeriods": 3,
    "recurringCycles": -1,
    "targetCycleStartDate": "2024-08-01T00:00:00.000",
    "targetCycleEndDate": "2024-10-31T23:59:59.000",
    "targets": [
        {
            "name": "spend",
            "targetEntity": "TRANSACTION",
            "targetType": "SALES",
            "defaultValue": 1000,
        }
    ],
}


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            # Every generated request carries valid credentials, unless a negative case drops them.
            "auth": {"basic": {"username": CLIENT_ID, "password": CLIENT_SECRET}},
            # No example database under the working tree; `derandomize` makes runs repeatable.
            "generation": {"database": "none"},
        }
    )


# Collection needs the operations, so the document is read at import from an app that is never
# called; every request goes to the `api` fixture's app, which must serve the same document.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Settings(database_url="sqlite://")), config=_config()
)


@dataclass(frozen=True)
class Api:
    app: FastAPI
    schema: BaseSchema


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Api]:
    """The app over its own migrated SQLite file, one org, and the schema it serves."""
    path = tmp_path_factory.mktemp("schemathesis") / "milestones.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    clock = Clock(START)
    admin.create_org(
        database,
        clock,
        org_id=ORG_ID,
        name="Schemathesis org",
        time_zone="Asia/Kolkata",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    app = create_app(Settings(database_url=database.url), database=database, clock=clock)
    served = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config())
    assert served.raw_schema == schema.raw_schema
    yield Api(app, served)
    database.dispose()


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_answers_within_its_documented_responses(
    api: Api, case: schemathesis.Case
) -> None:
    r = case.call_and_validate(app=api.app, checks=CHECKS)
    import collections, json as _j
    if r.status_code == 400 and case.meta and str(case.meta.generation.mode) == 'positive':
        for e in r.json()['errors']:
            MSGS[(case.operation.label, e['message'][:70])] += 1
    STATS[(case.operation.label, r.status_code, str(case.meta.generation.mode) if case.meta else None, str(case.meta.phase.name) if case.meta else None)] += 1


def test_links_drive_a_state_machine(api: Api) -> None:
    """Stateful testing over the document's OpenAPI links; it must take real steps."""
    if not api.schema.statistic.transitions.total:
        pytest.skip("the served OpenAPI document declares no links between operations")
    steps: list[str] = []

    class Workflow(api.schema.as_state_machine()):  # type: ignore[misc]
        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            steps.append(case.operation.label)
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert steps, "the state machine ran no steps"


@pytest.fixture(scope="module")
def group_id(api: Api) -> int:
    """A real group, created with a valid body through the documented operation."""
    create = api.schema["/v3/targetGroups"]["POST"]
    case = create.Case(body=VALID_GROUP, media_type="application/json")
    response = case.call_and_validate(headers={"Authorization": BASIC}, checks=CHECKS)
    assert response.status_code == 201, response.text
    created: int = response.json()["data"]["id"]
    return created


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_an_existing_group_survives_fuzzed_reads_and_updates(
    api: Api, group_id: int, method: str
) -> None:
    operation = api.schema["/v3/targetGroups/{groupId}"][method]
    cases = st.one_of(
        [
            operation.as_strategy(mode, path_parameters={"groupId": group_id})
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
    )

    @FUZZ_SETTINGS
    @given(case=cases)
    def fuzz(case: schemathesis.Case) -> None:
        case.path_parameters = {**(case.path_parameters or {}), "groupId": group_id}
        r = case.call_and_validate(checks=CHECKS)
        STATS[("FLOW "+case.operation.label, r.status_code, str(case.meta.generation.mode) if case.meta else None, None)] += 1

    fuzz()


import collections
STATS = collections.Counter()
MSGS = collections.Counter()

def test_zz_print():
    for k, v in sorted(STATS.items(), key=str):
        print(k, v)
    for k, v in MSGS.most_common(60):
        print(v, k)
