"""The ``milestones`` command: org administration as an operator runs it."""

from __future__ import annotations

from typer.testing import CliRunner

from milestones.cli import app
from milestones.store.database import Database
from milestones.store.orgs import OrgRepository

runner = CliRunner()


def _run(database: Database, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--database", database.url])
    return result.exit_code, result.output


def test_org_create_prints_credentials_that_work(database: Database) -> None:
    code, output = _run(
        database, "org", "create", "--org-id", "7", "--name", "Seven", "--timezone", "Europe/Berlin"
    )
    assert code == 0, output
    assert "client id:     org7-client" in output
    secret = output.split("client secret:")[1].strip()
    from milestones.credentials import verify_secret

    with database.transaction(write=False) as connection:
        found = OrgRepository(connection).client_with_secret("org7-client")
    assert found is not None and verify_secret(secret, found[1])


def test_org_create_refuses_an_unknown_time_zone(database: Database) -> None:
    code, output = _run(
        database, "org", "create", "--org-id", "8", "--name", "X", "--timezone", "Mars/Olympus"
    )
    assert code == 2
    assert "not an IANA time zone" in output


def test_org_create_twice_is_refused_unless_if_missing(database: Database) -> None:
    assert (
        _run(database, "org", "create", "--org-id", "9", "--name", "N", "--timezone", "UTC")[0] == 0
    )
    code, output = _run(
        database, "org", "create", "--org-id", "9", "--name", "N", "--timezone", "UTC"
    )
    assert code == 2 and "exists already" in output
    args = ("org", "create", "--org-id", "9", "--name", "N", "--timezone", "UTC", "--if-missing")
    assert _run(database, *args)[0] == 0


def test_org_connect_works_both_ways(database: Database) -> None:
    for org_id in ("1", "2"):
        _run(database, "org", "create", "--org-id", org_id, "--name", org_id, "--timezone", "UTC")
    code, output = _run(database, "org", "connect", "1", "2")
    assert code == 0, output
    with database.transaction(write=False) as connection:
        repository = OrgRepository(connection)
        assert repository.connected_org_ids(1) == {2}
        assert repository.connected_org_ids(2) == {1}


def test_org_connect_refuses_an_unknown_org(database: Database) -> None:
    _run(database, "org", "create", "--org-id", "1", "--name", "1", "--timezone", "UTC")
    code, output = _run(database, "org", "connect", "1", "99")
    assert code == 2 and "no org 99" in output


def test_org_set_changes_the_settings(database: Database) -> None:
    _run(database, "org", "create", "--org-id", "3", "--name", "3", "--timezone", "UTC")
    code, output = _run(
        database,
        "org",
        "set",
        "3",
        "--retro-buffer-days",
        "2",
        "--revoke-on-return",
        "--leaderboards",
    )
    assert code == 0, output
    with database.transaction(write=False) as connection:
        org = OrgRepository(connection).get_org(3)
    assert org is not None
    assert (org.retro_buffer_days, org.revoke_on_return, org.leaderboards_enabled) == (
        2,
        True,
        True,
    )


def test_org_set_refuses_a_negative_retro_buffer(database: Database) -> None:
    _run(database, "org", "create", "--org-id", "3", "--name", "3", "--timezone", "UTC")
    code, output = _run(database, "org", "set", "3", "--retro-buffer-days", "-1")
    assert code == 2 and "retro buffer" in output
