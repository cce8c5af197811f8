"""Enrolment in IMPORT targets: one customer at a time, and the streamed CSV import (SPEC §8)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from milestones.api.enrolments import router as enrolments_router
from milestones.api.enrolments import service
from milestones.clock import Clock
from milestones.domain.enrolment import EnrolmentRecord, TooManyRows
from milestones.store.database import Database
from milestones.store.enrolments import EnrolmentRepository
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials, make_org

INVALID_INPUT = 300004
NOT_FOUND = 300012
TOO_LARGE = 300013
CSV = {"Content-Type": "text/csv"}
_names = itertools.count(1)


@dataclass(frozen=True)
class ImportGroup:
    id: int
    import_targets: list[int]
    transaction_target: int
    periods: dict[str, int]

    def enrol_path(self, target_id: int | None = None) -> str:
        target = target_id or self.import_targets[0]
        return f"/v3.1/targetGroups/{self.id}/targets/{target}/enroll"

    @property
    def import_path(self) -> str:
        return f"/v3/targetGroups/{self.id}/enrolments/import"


def _target(name: str, method: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "targetEntity": "TRANSACTION",
        "targetType": "SALES",
        "defaultValue": 1000,
        "enrolmentMethod": method,
        **extra,
    }


def _create_group(client: TestClient, org: OrgCredentials, *methods: str) -> ImportGroup:
    targets = [_target(f"target {n}", method) for n, method in enumerate(methods)]
    response = client.post(
        "/v3/targetGroups",
        json=monthly_spend(f"Import group {next(_names)}", targets=targets),
        auth=org.auth,
    )
    assert response.status_code == 201, response.text
    group = response.json()["data"]
    ids = {target["name"]: target["id"] for target in group["targets"]}
    return ImportGroup(
        id=group["id"],
        import_targets=[ids[f"target {n}"] for n, m in enumerate(methods) if m == "IMPORT"],
        transaction_target=next(
            (ids[f"target {n}"] for n, m in enumerate(methods) if m == "TRANSACTION"), 0
        ),
        periods={period["refCode"]: period["id"] for period in group["periods"]},
    )


@pytest.fixture
def group(client: TestClient, org: OrgCredentials) -> ImportGroup:
    """Three monthly periods (Cycle_1..3), two IMPORT targets and one TRANSACTION target."""
    return _create_group(client, org, "IMPORT", "IMPORT", "TRANSACTION")


def _stored(database: Database, org: OrgCredentials, *user_ids: int) -> list[EnrolmentRecord]:
    with database.transaction(write=False) as connection:
        found = EnrolmentRepository(connection).for_users(org.org_id, user_ids)
    return sorted(found, key=lambda e: (e.user_id, e.target_id, e.period_id or 0))


def _errors(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    assert body["data"] is None and body["warnings"] == []
    errors: list[dict[str, Any]] = body["errors"]
    return errors


# --- One customer -----------------------------------------------------------------------------


def test_enrolling_a_customer_answers_the_enrolment_as_stored(
    client: TestClient, org: OrgCredentials, group: ImportGroup
) -> None:
    response = client.post(
        group.enrol_path(),
        json={
            "userId": 1001,
            "periodRefCode": "Cycle_2",
            "targetValue": 1500.5,
            "initialValue": 100,
            "resetStreak": True,
        },
        auth=org.auth,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {
            "id": response.json()["data"]["id"],
            "targetGroupId": group.id,
            "targetId": group.import_targets[0],
            "userId": 1001,
            "periodId": group.periods["Cycle_2"],
            "periodRefCode": "Cycle_2",
            "targetValue": 1500.5,
            "initialValue": 100,
            "resetStreak": True,
            "enrolledOn": "2024-08-27T10:00:00.000Z",
        },
        "errors": [],
        "warnings": [],
    }
    assert '"targetValue":1500.500' in response.text


def test_an_enrolment_without_a_period_covers_every_period(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database
) -> None:
    response = client.post(group.enrol_path(), json={"userId": 7}, auth=org.auth)
    data = response.json()["data"]
    assert (data["periodId"], data["periodRefCode"]) == (None, None)
    assert (data["targetValue"], data["initialValue"], data["resetStreak"]) == (None, None, False)
    [stored] = _stored(database, org, 7)
    assert stored.period_id is None and stored.target_value is None


def test_enrolling_again_updates_the_values_and_keeps_the_first_enrolment_time(
    client: TestClient, org: OrgCredentials, group: ImportGroup, clock: Clock, database: Database
) -> None:
    first = client.post(
        group.enrol_path(),
        json={"userId": 5, "targetValue": 1200, "initialValue": 50},
        auth=org.auth,
    ).json()["data"]
    clock.advance(timedelta(hours=2))
    again = client.post(
        group.enrol_path(), json={"userId": 5, "targetValue": 900.25}, auth=org.auth
    )
    assert again.status_code == 200, again.text
    data = again.json()["data"]
    assert data["id"] == first["id"]
    assert (data["targetValue"], data["initialValue"]) == (900.25, None)
    assert data["enrolledOn"] == "2024-08-27T10:00:00.000Z"
    [stored] = _stored(database, org, 5)
    assert stored.target_value == Decimal("900.250")


def test_an_enrolment_for_one_period_is_kept_apart_from_one_for_every_period(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database
) -> None:
    every = client.post(group.enrol_path(), json={"userId": 5, "targetValue": 10}, auth=org.auth)
    one = client.post(
        group.enrol_path(),
        json={"userId": 5, "targetValue": 20, "periodRefCode": "Cycle_3"},
        auth=org.auth,
    )
    assert every.json()["data"]["id"] != one.json()["data"]["id"]
    assert [(e.period_id, e.target_value) for e in _stored(database, org, 5)] == [
        (None, Decimal("10.000")),
        (group.periods["Cycle_3"], Decimal("20.000")),
    ]


@pytest.mark.parametrize(
    ("method", "says"),
    [("TRANSACTION", "by TRANSACTION"), ("AUDIENCE_FILTER", "by AUDIENCE_FILTER")],
)
def test_a_target_not_enrolled_by_import_refuses_enrolment(
    client: TestClient, org: OrgCredentials, method: str, says: str
) -> None:
    extra = (
        {"targetAudienceFilter": [{"audienceGroupId": 1}]} if method == "AUDIENCE_FILTER" else {}
    )
    body = monthly_spend(f"Group {next(_names)}", targets=[_target("t", method, **extra)])
    created = client.post("/v3/targetGroups", json=body, auth=org.auth).json()["data"]
    path = f"/v3.1/targetGroups/{created['id']}/targets/{created['targets'][0]['id']}/enroll"
    response = client.post(path, json={"userId": 1}, auth=org.auth)
    assert response.status_code == 400
    [error] = _errors(response)
    assert error["code"] == INVALID_INPUT
    assert error["field"] == "targetId" and says in error["message"]
    assert "only IMPORT targets" in error["message"]


def test_an_unknown_period_ref_code_is_refused_naming_the_field(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database
) -> None:
    response = client.post(
        group.enrol_path(), json={"userId": 1, "periodRefCode": "Cycle_9"}, auth=org.auth
    )
    assert response.status_code == 400
    [error] = _errors(response)
    assert error["field"] == "periodRefCode"
    assert "Cycle_9" in error["message"] and "Cycle_1, Cycle_2, Cycle_3" in error["message"]
    assert _stored(database, org, 1) == []


def test_another_orgs_group_is_not_found(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database, clock: Clock
) -> None:
    other = make_org(database, clock, 77)
    enrol = client.post(group.enrol_path(), json={"userId": 1}, auth=other.auth)
    imported = client.post(
        group.import_path, content=b"userId,targetValue\n1,5\n", headers=CSV, auth=other.auth
    )
    for response in (enrol, imported):
        assert response.status_code == 404
        assert _errors(response)[0]["code"] == NOT_FOUND
    assert _stored(database, other, 1) == [] and _stored(database, org, 1) == []


def test_a_target_of_another_group_is_not_found(
    client: TestClient, org: OrgCredentials, group: ImportGroup
) -> None:
    second = _create_group(client, org, "IMPORT")
    path = f"/v3.1/targetGroups/{group.id}/targets/{second.import_targets[0]}/enroll"
    response = client.post(path, json={"userId": 1}, auth=org.auth)
    assert response.status_code == 404
    assert _errors(response)[0]["field"] == "targetId"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "userId"),
        ({"userId": 0}, "userId"),
        ({"userId": "5"}, "userId"),
        ({"userId": 1, "targetValue": 0}, "targetValue"),
        ({"userId": 1, "targetValue": -5}, "targetValue"),
        ({"userId": 1, "targetValue": 10.0005}, "targetValue"),
        ({"userId": 1, "targetValue": "10"}, "targetValue"),
        ({"userId": 1, "initialValue": -0.001}, "initialValue"),
        ({"userId": 1, "resetStreak": "yes"}, "resetStreak"),
        ({"userId": 1, "periodRefCode": ""}, "periodRefCode"),
    ],
)
def test_a_bad_enrolment_body_is_refused_naming_the_field(
    client: TestClient, org: OrgCredentials, group: ImportGroup, body: dict[str, Any], field: str
) -> None:
    response = client.post(group.enrol_path(), json=body, auth=org.auth)
    assert response.status_code == 400
    assert field in [error.get("field") for error in _errors(response)]


def test_enrolment_needs_credentials(client: TestClient, group: ImportGroup) -> None:
    assert client.post(group.enrol_path(), json={"userId": 1}).status_code == 401


# --- The CSV import ---------------------------------------------------------------------------


def _import(
    client: TestClient,
    org: OrgCredentials,
    group: ImportGroup,
    body: bytes | str,
    **params: int,
) -> Any:
    content = body.encode() if isinstance(body, str) else body
    return client.post(
        group.import_path, content=content, headers=CSV, params=params, auth=org.auth
    )


def test_an_import_applies_good_rows_and_reports_bad_ones_by_line(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database
) -> None:
    body = (
        "userId,targetValue,periodRefCode\n"  # line 1
        "101,1500,Cycle_1\n"  # 2: good
        "abc,1500,\n"  # 3: bad userId
        "103,12.5,\n"  # 4: good, every period
        "104,0,\n"  # 5: bad value
        "105,1.2345,\n"  # 6: four decimals
        "106,100,Cycle_7\n"  # 7: unknown period
        "107,100\n"  # 8: too few columns
        "108,100,Cycle_2,extra\n"  # 9: too many columns
        "-3,100,\n"  # 10: not positive
        '"110","2000.125","Cycle_3"\n'  # 11: quoted, good
    )
    response = _import(client, org, group, body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["rowsRead"], data["rowsApplied"], data["rowsRejected"]) == (10, 3, 7)
    assert data["errorsTruncated"] is False
    assert [error["line"] for error in data["errors"]] == [3, 5, 6, 7, 8, 9, 10]
    messages = {error["line"]: error["message"] for error in data["errors"]}
    assert "userId 'abc'" in messages[3]
    assert "targetValue '0'" in messages[5]
    assert "at most 3 decimals" in messages[6]
    assert "periodRefCode 'Cycle_7'" in messages[7]
    assert "2 columns where the header has 3" in messages[8]
    assert "4 columns" in messages[9]
    stored = _stored(database, org, 101, 103, 110)
    # every good row goes to both IMPORT targets of the group
    assert len(stored) == 6
    assert {(e.user_id, e.period_id, e.target_value) for e in stored} == {
        (101, group.periods["Cycle_1"], Decimal("1500.000")),
        (103, None, Decimal("12.500")),
        (110, group.periods["Cycle_3"], Decimal("2000.125")),
    }
    assert {e.target_id for e in stored} == set(group.import_targets)


def test_an_import_reads_crlf_lines_a_bom_blank_lines_and_a_last_line_without_newline(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database
) -> None:
    body = "\ufeffUSERID,TargetValue\r\n1,10\r\n\r\n2,20\r\n   \r\n3,x\r\n4,40".encode()
    data = _import(client, org, group, body).json()["data"]
    assert (data["rowsRead"], data["rowsApplied"], data["rowsRejected"]) == (4, 3, 1)
    assert data["errors"] == [
        {"line": 6, "message": "targetValue 'x' is not a positive number with at most 3 decimals"}
    ]
    assert {e.user_id for e in _stored(database, org, 1, 2, 3, 4)} == {1, 2, 4}


def test_the_columns_may_come_in_any_order_the_header_gives(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database
) -> None:
    data = _import(client, org, group, "periodRefCode,targetValue,userId\nCycle_2,75,9\n").json()
    assert data["data"]["rowsApplied"] == 1
    assert {(e.user_id, e.period_id) for e in _stored(database, org, 9)} == {
        (9, group.periods["Cycle_2"])
    }


def test_a_header_only_file_imports_nothing(
    client: TestClient, org: OrgCredentials, group: ImportGroup
) -> None:
    response = _import(client, org, group, "userId,targetValue\n")
    assert response.status_code == 200
    assert response.json()["data"] == {
        "rowsRead": 0,
        "rowsApplied": 0,
        "rowsRejected": 0,
        "errors": [],
        "errorsTruncated": False,
    }


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("1001,1500\n1002,2000\n", "first line must be the header"),
        ("userId\n1001\n", "missing targetValue"),
        ("targetValue,periodRefCode\n5,Cycle_1\n", "missing userId"),
        ("userId,targetValue,userId\n1,2,3\n", "userId twice"),
        ("", "The body is empty"),
        ("\n\n", "The body is empty"),
    ],
)
def test_a_missing_or_bad_header_is_refused_before_anything_is_applied(
    client: TestClient,
    org: OrgCredentials,
    group: ImportGroup,
    database: Database,
    body: str,
    says: str,
) -> None:
    response = _import(client, org, group, body)
    assert response.status_code == 400
    [error] = _errors(response)
    assert error["code"] == INVALID_INPUT
    assert error["field"] == "header" and says in error["message"]
    assert _stored(database, org, 1, 1001, 1002) == []


def test_the_target_id_parameter_limits_the_import_to_that_target(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database
) -> None:
    target = group.import_targets[1]
    response = _import(client, org, group, "userId,targetValue\n1,10\n2,20\n", targetId=target)
    assert response.json()["data"]["rowsApplied"] == 2
    assert {e.target_id for e in _stored(database, org, 1, 2)} == {target}


def test_the_target_id_parameter_must_name_an_import_target_of_the_group(
    client: TestClient, org: OrgCredentials, group: ImportGroup
) -> None:
    second = _create_group(client, org, "IMPORT")
    for target_id, says in [
        (group.transaction_target, "by TRANSACTION"),
        (second.import_targets[0], "is not a target of target group"),
    ]:
        response = _import(client, org, group, "userId,targetValue\n1,10\n", targetId=target_id)
        assert response.status_code == 400
        [error] = _errors(response)
        assert error["field"] == "targetId" and says in error["message"]


def test_a_group_without_import_targets_refuses_an_import(
    client: TestClient, org: OrgCredentials
) -> None:
    group = _create_group(client, org, "TRANSACTION")
    response = _import(client, org, group, "userId,targetValue\n1,10\n")
    assert response.status_code == 400
    assert "no IMPORT target" in _errors(response)[0]["message"]


def test_importing_again_updates_target_values_and_a_repeated_row_keeps_the_last(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database
) -> None:
    target = group.import_targets[0]
    client.post(
        group.enrol_path(), json={"userId": 1, "targetValue": 5, "initialValue": 3}, auth=org.auth
    )
    body = "userId,targetValue\n1,10\n2,20\n2,25\n"
    data = _import(client, org, group, body, targetId=target).json()["data"]
    assert (data["rowsRead"], data["rowsApplied"]) == (3, 3)
    stored = {e.user_id: e for e in _stored(database, org, 1, 2)}
    assert stored[1].target_value == Decimal("10.000")
    assert stored[1].initial_value == Decimal("3.000")  # the CSV carries no initial value
    assert stored[2].target_value == Decimal("25.000")


def test_unreadable_lines_are_reported_and_skipped(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database
) -> None:
    body = b"userId,targetValue\n1,\xff\xfe\n2," + b"9" * 70_000 + b"\n3,30\n"
    data = _import(client, org, group, body).json()["data"]
    assert (data["rowsRead"], data["rowsApplied"], data["rowsRejected"]) == (3, 1, 2)
    assert data["errors"] == [
        {"line": 2, "message": "the line is not valid UTF-8"},
        {"line": 3, "message": "the line is over 65,536 bytes"},
    ]


def test_only_the_first_thousand_errors_are_listed(
    client: TestClient, org: OrgCredentials, group: ImportGroup
) -> None:
    body = "userId,targetValue\n" + "x,1\n" * 1_200 + "1,1\n"
    data = _import(client, org, group, body).json()["data"]
    assert (data["rowsRead"], data["rowsApplied"], data["rowsRejected"]) == (1_201, 1, 1_200)
    assert len(data["errors"]) == 1_000 and data["errorsTruncated"] is True
    assert data["errors"][-1]["line"] == 1_001


def test_a_body_that_is_not_csv_is_refused_with_415(
    client: TestClient, org: OrgCredentials, group: ImportGroup
) -> None:
    for content_type in ("application/json", "text/csv; charset=latin-1"):
        response = client.post(
            group.import_path,
            content=b"userId,targetValue\n1,1\n",
            headers={"Content-Type": content_type},
            auth=org.auth,
        )
        assert response.status_code == 415
        assert _errors(response)[0]["field"] == "Content-Type"


def test_more_rows_than_allowed_answers_413_and_keeps_the_rows_before_the_limit(
    client: TestClient,
    org: OrgCredentials,
    group: ImportGroup,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(enrolments_router, "MAX_IMPORT_ROWS", 5)
    body = "userId,targetValue\n" + "".join(f"{n},10\n" for n in range(1, 9))
    response = _import(client, org, group, body, targetId=group.import_targets[0])
    assert response.status_code == 413
    [error] = _errors(response)
    assert error["code"] == TOO_LARGE
    assert "more than 5 rows" in error["message"] and "from line 7" in error["message"]
    assert sorted(e.user_id for e in _stored(database, org, *range(1, 9))) == [1, 2, 3, 4, 5]


# --- The service, fed in pieces ---------------------------------------------------------------


async def _pieces(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("piece_size", [1, 2, 3, 7, 64])
def test_a_body_arriving_in_pieces_splits_into_the_same_lines(
    group: ImportGroup, org: OrgCredentials, database: Database, clock: Clock, piece_size: int
) -> None:
    body = "\ufeffuserId,targetValue\r\n11,1.5\r\nbad,2\r\n\r\n13,3\r\n14,4".encode()
    summary = asyncio.run(
        service.import_enrolments(
            database,
            org.org_id,
            group.id,
            group.import_targets[0],
            _pieces(body, piece_size),
            clock.now(),
            chunk_rows=2,
        )
    )
    assert (summary.rows_read, summary.rows_applied, summary.rows_rejected) == (4, 3, 1)
    assert [(e.line, e.message) for e in summary.errors] == [
        (3, "userId 'bad' is not a positive integer")
    ]
    assert [e.user_id for e in _stored(database, org, 11, 12, 13, 14)] == [11, 13, 14]


def test_a_line_over_the_limit_across_many_pieces_is_reported_once(
    group: ImportGroup, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    body = b"userId,targetValue\n21," + b"1" * 200_000 + b"\n22,2\n"
    summary = asyncio.run(
        service.import_enrolments(
            database,
            org.org_id,
            group.id,
            group.import_targets[0],
            _pieces(body, 1_000),
            clock.now(),
        )
    )
    assert (summary.rows_read, summary.rows_applied) == (2, 1)
    assert [(e.line, e.message) for e in summary.errors] == [(2, "the line is over 65,536 bytes")]
    assert [e.user_id for e in _stored(database, org, 21, 22)] == [22]


def test_the_row_limit_stops_the_import_after_applying_the_rows_before_it(
    group: ImportGroup, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    body = ("userId,targetValue\n" + "".join(f"{n},1\n" for n in range(1, 26))).encode()
    with pytest.raises(TooManyRows) as raised:
        asyncio.run(
            service.import_enrolments(
                database,
                org.org_id,
                group.id,
                group.import_targets[0],
                _pieces(body, 16),
                clock.now(),
                max_rows=10,
                chunk_rows=3,
            )
        )
    summary = raised.value.summary
    assert (summary.rows_read, summary.rows_applied) == (10, 10)
    assert len(_stored(database, org, *range(1, 26))) == 10


def test_a_streamed_import_of_100_000_rows_completes(
    client: TestClient, org: OrgCredentials, group: ImportGroup, database: Database
) -> None:
    lines = [f"{n},{n % 5000 + 1}.5" for n in range(1, 100_001)]
    lines[49_999] = "oops,1"  # line 50,001
    body = ("userId,targetValue\n" + "\n".join(lines) + "\n").encode()

    def stream() -> Any:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    started = time.monotonic()
    response = client.post(
        group.import_path,
        content=stream(),
        headers=CSV,
        params={"targetId": group.import_targets[0]},
        auth=org.auth,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["rowsRead"], data["rowsApplied"], data["rowsRejected"]) == (
        100_000,
        99_999,
        1,
    )
    assert data["errors"] == [
        {"line": 50_001, "message": "userId 'oops' is not a positive integer"}
    ]
    assert elapsed < 20, f"100,000 rows took {elapsed:.1f} s"
    [last] = _stored(database, org, 100_000)
    assert last.target_value == Decimal("1.500")
