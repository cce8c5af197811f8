"""Property-based API test: Schemathesis against the OpenAPI document the app serves.

Every operation of ``/openapi.json`` is fuzzed (the coverage phase plus a bounded number of
generated positive and negative cases) against the real app over a migrated SQLite file, with
valid Basic credentials on every request. No response may be a 5xx, and each must match what the
document says about it: a documented status code, a documented content type, and a body that
validates against the documented schema.

A state machine over the document's OpenAPI links runs when there are links. Until then,
hand-written flows stand in: a real group exists from the start, reading and updating it is
fuzzed with its real id, and near-valid groups are created and read back.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
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
AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
}

# Bounded so the whole file runs well under two minutes on a small CI machine.
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

VALID_GROUP: dict[str, Any] = {
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


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """An event import's body as generated: text as it is, anything else as one JSON line."""
    if isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else json.dumps(value).encode() + b"\n"


# Collection needs the operations, so the document is read at import from an app that is never
# called (schemathesis' `from_fixture` does not work with this pytest); every request goes to the
# `api` fixture's app, which is checked to serve the very same document.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Settings(database_url="sqlite://")), config=_config()
)


@dataclass(frozen=True)
class Api:
    app: FastAPI
    schema: BaseSchema
    group_id: int


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Api]:
    """The app over its own migrated SQLite file, one org, one group, and the schema it serves."""
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
    settings = Settings(database_url=database.url, data_dir=path.parent / "data")
    app = create_app(settings, database=database, clock=clock)
    served = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config())
    assert served.raw_schema == schema.raw_schema
    # Group 1: generated ids (the coverage phase starts at the minimum) then hit a real group.
    create = served["/v3/targetGroups"]["POST"].Case(
        body=VALID_GROUP, media_type="application/json"
    )
    response = create.call_and_validate(headers=AUTH, checks=CHECKS)
    assert response.status_code == 201, response.text
    yield Api(app, served, response.json()["data"]["id"])
    database.dispose()


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_answers_within_its_documented_responses(
    api: Api, case: schemathesis.Case
) -> None:
    case.call_and_validate(app=api.app, checks=CHECKS)


def test_links_drive_a_state_machine(api: Api) -> None:
    """Stateful testing over the document's OpenAPI links; it must follow some of them."""
    if not api.schema.statistic.transitions.total:
        pytest.skip("the served OpenAPI document declares no links between operations")
    serial = itertools.count(1)
    followed: list[str] = []

    class Workflow(api.schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case) -> None:
            # Generated create bodies are almost never accepted, so each is made valid, with a
            # fresh name: replays then see the same answers (the database outlives a scenario)
            # and links out of a created group always have something to follow.
            if case.operation.label == "POST /v3/targetGroups":
                case.body = {**VALID_GROUP, "name": f"Stateful group {next(serial)}"}

        def step(self, input: Any) -> Any:
            if input.transition is not None and input.is_applied:
                followed.append(input.case.operation.label)
            return super().step(input)

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
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
    assert followed, "the state machine followed no link"


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_an_existing_group_survives_fuzzed_reads_and_updates(api: Api, method: str) -> None:
    operation = api.schema["/v3/targetGroups/{groupId}"][method]
    cases = st.one_of(
        [
            operation.as_strategy(mode, path_parameters={"groupId": api.group_id})
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
    )
    statuses: set[int] = set()

    @FUZZ_SETTINGS
    @given(case=cases)
    def fuzz(case: schemathesis.Case) -> None:
        case.path_parameters = {**(case.path_parameters or {}), "groupId": api.group_id}
        statuses.add(case.call_and_validate(checks=CHECKS).status_code)

    fuzz()
    assert 200 in statuses, f"no fuzzed {method} reached the group: {sorted(statuses)}"


def test_near_valid_groups_are_created_and_read_back(api: Api) -> None:
    """A valid body with a few fields swapped for generated ones; what is created is read back."""
    create = api.schema["/v3/targetGroups"]["POST"]
    reads = [
        api.schema["/v3/targetGroups/{groupId}"]["GET"],
        api.schema["/v3/targetGroups/{groupId}/targets"]["GET"],
    ]
    serial = itertools.count(1)
    statuses: set[int] = set()

    @FUZZ_SETTINGS
    @given(generated=create.as_strategy(GenerationMode.POSITIVE), data=st.data())
    def fuzz(generated: schemathesis.Case, data: st.DataObject) -> None:
        body = copy.deepcopy(VALID_GROUP)
        body["name"] = f"Near-valid group {next(serial)}"
        fields = data.draw(st.sets(st.sampled_from(sorted(generated.body)), max_size=3))
        body.update({field: generated.body[field] for field in fields})
        target = (generated.body.get("targets") or [{}])[0]
        if target and "targets" not in fields:
            keys = data.draw(st.sets(st.sampled_from(sorted(target)), max_size=3))
            body["targets"] = [{**VALID_GROUP["targets"][0], **{key: target[key] for key in keys}}]
        case = create.Case(body=body, media_type="application/json")
        response = case.call_and_validate(headers=AUTH, checks=CHECKS)
        statuses.add(response.status_code)
        if response.status_code == 201:
            group_id = response.json()["data"]["id"]
            for read in reads:
                read.Case(path_parameters={"groupId": group_id}).call_and_validate(
                    headers=AUTH, checks=CHECKS
                )

    fuzz()
    assert 201 in statuses, f"no near-valid group was created: {sorted(statuses)}"
