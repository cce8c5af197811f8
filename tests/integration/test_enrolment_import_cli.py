"""``milestones import enrolments``: the CSV import as an operator runs it, with exit codes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from milestones import cli
from milestones.cli import app
from milestones.store.database import Database
from milestones.store.enrolments import EnrolmentRepository
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials

runner = CliRunner()


def _group(client: TestClient, org: OrgCredentials, method: str = "IMPORT") -> tuple[int, int]:
    target = {
        "name": "spend",
        "targetEntity": "TRANSACTION",
        "targetType": "SALES",
        "defaultValue": 1000,
        "enrolmentMethod": method,
    }
    response = client.post(
        "/v3/targetGroups", json=monthly_spend(f"{method} group", targets=[target]), auth=org.auth
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return data["id"], data["targets"][0]["id"]


def _run(
    database: Database, file: Path, org_id: int, group_id: int, *extra: str
) -> tuple[int, str]:
    args = ["import", "enrolments", str(file), "--org-id", str(org_id), "--group-id", str(group_id)]
    result = runner.invoke(app, [*args, *extra, "--database", database.url])
    return result.exit_code, result.output


def _values(database: Database, org_id: int, *user_ids: int) -> dict[int, Decimal | None]:
    with database.transaction(write=False) as connection:
        found = EnrolmentRepository(connection).for_users(org_id, user_ids)
    return {e.user_id: e.target_value for e in found}


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    return tmp_path / "enrolments.csv"


def test_a_clean_file_is_imported_with_progress_and_exit_code_0(
    client: TestClient, org: OrgCredentials, database: Database, csv_file: Path
) -> None:
    group_id, _ = _group(client, org)
    csv_file.write_bytes(
        b"\xef\xbb\xbfuserId,targetValue,periodRefCode\r\n"
        + b"".join(f"{n},{n}.25,\r\n".encode() for n in range(1, 20_001))
    )
    code, output = _run(database, csv_file, org.org_id, group_id)
    assert code == 0, output
    assert "rows read:     20,000" in output
    assert "rows applied:  20,000" in output
    assert "rows rejected: 0" in output
    assert "20,000 rows read, 0 rejected" in output  # the progress line
    values = _values(database, org.org_id, 1, 20_000)
    assert values == {1: Decimal("1.250"), 20_000: Decimal("20000.250")}


def test_rejected_rows_are_listed_by_line_and_exit_with_code_1(
    client: TestClient, org: OrgCredentials, database: Database, csv_file: Path
) -> None:
    group_id, target_id = _group(client, org)
    csv_file.write_text("userId,targetValue\n1,10\nnope,10\n3,-1\n4,40\n")
    code, output = _run(database, csv_file, org.org_id, group_id, "--target-id", str(target_id))
    assert code == 1, output
    assert "rows applied:  2" in output and "rows rejected: 2" in output
    assert "line 3: userId 'nope' is not a positive integer" in output
    assert "line 4: targetValue '-1'" in output
    assert _values(database, org.org_id, 1, 4) == {1: Decimal("10.000"), 4: Decimal("40.000")}


def test_more_than_twenty_rejected_rows_are_summarised(
    client: TestClient, org: OrgCredentials, database: Database, csv_file: Path
) -> None:
    group_id, _ = _group(client, org)
    csv_file.write_text("userId,targetValue\n" + "x,1\n" * 25)
    code, output = _run(database, csv_file, org.org_id, group_id)
    assert code == 1
    assert "line 21:" in output and "line 22:" not in output
    assert "... and 5 more rejected rows" in output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("1,10\n2,20\n", "first line must be the header"),
        ("", "The body is empty"),
    ],
)
def test_a_bad_header_is_fatal_with_code_2(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    csv_file: Path,
    content: str,
    says: str,
) -> None:
    group_id, _ = _group(client, org)
    csv_file.write_text(content)
    code, output = _run(database, csv_file, org.org_id, group_id)
    assert code == 2
    assert "error: " in output and says in output
    assert _values(database, org.org_id, 1, 2) == {}


def test_an_unknown_group_or_a_group_of_another_org_is_fatal_with_code_2(
    client: TestClient, org: OrgCredentials, database: Database, csv_file: Path
) -> None:
    group_id, _ = _group(client, org)
    csv_file.write_text("userId,targetValue\n1,10\n")
    code, output = _run(database, csv_file, org.org_id, group_id + 100)
    assert code == 2 and f"No target group {group_id + 100} in org {org.org_id}" in output
    code, output = _run(database, csv_file, 999, group_id)
    assert code == 2 and f"No target group {group_id} in org 999" in output


def test_a_group_without_import_targets_is_fatal_with_code_2(
    client: TestClient, org: OrgCredentials, database: Database, csv_file: Path
) -> None:
    group_id, target_id = _group(client, org, "TRANSACTION")
    csv_file.write_text("userId,targetValue\n1,10\n")
    assert _run(database, csv_file, org.org_id, group_id)[0] == 2
    code, output = _run(database, csv_file, org.org_id, group_id, "--target-id", str(target_id))
    assert code == 2 and "by TRANSACTION" in output


def test_a_file_over_the_row_limit_is_fatal_and_keeps_the_rows_before_it(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    csv_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "MAX_IMPORT_ROWS", 3)
    group_id, _ = _group(client, org)
    csv_file.write_text("userId,targetValue\n1,1\n2,x\n3,3\n4,4\n5,5\n")
    code, output = _run(database, csv_file, org.org_id, group_id)
    assert code == 2
    assert "rows read:     3" in output and "rows applied:  2" in output
    assert "line 3: targetValue 'x'" in output
    assert "more than 3 rows" in output and "from line 5" in output
    assert set(_values(database, org.org_id, 1, 2, 3, 4, 5)) == {1, 3}


def test_a_missing_file_is_refused(
    client: TestClient, org: OrgCredentials, database: Database, tmp_path: Path
) -> None:
    code, _ = _run(database, tmp_path / "absent.csv", org.org_id, 1)
    assert code == 2
