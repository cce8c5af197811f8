"""``milestones user create|list|disable`` as an operator runs it, on both databases."""

from __future__ import annotations

from typer.testing import CliRunner

from milestones.cli import app
from milestones.credentials import verify_password
from milestones.store.console_users import ConsoleUserRepository
from milestones.store.database import Database
from tests.conftest import OrgCredentials

runner = CliRunner()
PASSWORD = "correct horse battery"


def _run(database: Database, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--database", database.url], input=stdin)
    return result.exit_code, result.output


def _create(
    database: Database, org_id: int, email: str, role: str, password: str
) -> tuple[int, str]:
    return _run(
        database, "user", "create", "--org-id", str(org_id), "--email", email, "--role", role,
        "--password-stdin", stdin=password + "\n",
    )  # fmt: skip


def test_a_user_is_created_from_a_password_on_stdin_and_nothing_secret_is_printed(
    database: Database, org: OrgCredentials
) -> None:
    code, output = _create(database, org.org_id, " Ada@Example.com ", "marketer", PASSWORD)
    assert code == 0, output
    assert output.strip() == f"created console user ada@example.com (MARKETER) of org {org.org_id}"
    with database.transaction(write=False) as connection:
        found = ConsoleUserRepository(connection).with_password("ada@example.com")
    assert found is not None and found[1].startswith("$argon2id$")
    assert verify_password(PASSWORD, found[1]) and PASSWORD not in found[1]


def test_the_password_is_asked_twice_when_not_on_stdin(
    database: Database, org: OrgCredentials
) -> None:
    args = ("user", "create", "--org-id", str(org.org_id), "--email", "b@example.com")
    code, output = _run(database, *args, "--role", "SUPPORT", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, output
    assert PASSWORD not in output


def test_list_and_disable(database: Database, org: OrgCredentials) -> None:
    assert _create(database, org.org_id, "z@example.com", "ADMIN", PASSWORD)[0] == 0
    assert _create(database, org.org_id, "a@example.com", "SUPPORT", PASSWORD)[0] == 0
    code, output = _run(database, "user", "list", "--org-id", str(org.org_id))
    assert code == 0
    assert output.splitlines() == ["a@example.com\tSUPPORT\tactive", "z@example.com\tADMIN\tactive"]
    assert _run(database, "user", "disable", "--email", "A@example.com")[0] == 0
    _, output = _run(database, "user", "list", "--org-id", str(org.org_id))
    assert "a@example.com\tSUPPORT\tdisabled" in output


def test_bad_input_exits_2_with_the_reason(database: Database, org: OrgCredentials) -> None:
    cases = [
        ((org.org_id, "x@example.com", "OWNER", PASSWORD), "role must be one of"),
        ((org.org_id, "not an email", "ADMIN", PASSWORD), "not an email address"),
        ((org.org_id, "x@example.com", "ADMIN", "short"), "at least 10 characters"),
        ((999, "x@example.com", "ADMIN", PASSWORD), "no org 999"),
    ]
    for args, reason in cases:
        code, output = _create(database, *args)
        assert code == 2 and reason in output, output
    assert _create(database, org.org_id, "x@example.com", "ADMIN", PASSWORD)[0] == 0
    code, output = _create(database, org.org_id, "X@example.com", "ADMIN", PASSWORD)
    assert code == 2 and "exists already" in output
    code, output = _run(database, "user", "disable", "--email", "nobody@example.com")
    assert code == 2 and "no console user" in output
    assert _run(database, "user", "list", "--org-id", "999")[0] == 2
