"""Auth hardening (SPEC §2) and exact enrolment values (SPEC §8), through the public API.

Which client ids exist must not show in what a refusal costs; failed credentials lock a
(client id, address) pair out; DATA-SCOPE-ORG is bounded; no redirect names the request's
Host; enrolment values are exact decimals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from milestones.store.database import Database
from milestones.store.orgs import OrgRepository
from tests.conftest import OrgCredentials

INVALID_INPUT = 300004
UNAUTHENTICATED = 300010
TOO_MANY_ATTEMPTS = 300429
GROUPS = "/v3/targetGroups"
TOKEN = "/v3/oauth/token"
OTHER_ADDRESS = ("203.0.113.7", 50000)


def assert_error(response: Response, status: int, code: int, field: str | None = None) -> str:
    """The envelope of an error answer; its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None and body["warnings"] == []
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["code"] == code
    assert error.get("field") == field
    return str(error["message"])


def basic_read(client: TestClient, client_id: str, secret: str) -> Response:
    return client.get(GROUPS, auth=(client_id, secret))


def token_request(client: TestClient, client_id: str, secret: str) -> Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return client.post(TOKEN, data=form)


Attempt = Callable[[TestClient, str, str], Response]
ATTEMPTS = [
    pytest.param(basic_read, id="Basic auth"),
    pytest.param(token_request, id="POST /v3/oauth/token"),
]


# --- an unknown client id costs what a wrong secret costs ------------------------------


@pytest.fixture
def pbkdf2_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every PBKDF2 run as (hash name, iterations); the real function still runs."""
    calls: list[tuple[str, int]] = []
    real = hashlib.pbkdf2_hmac

    def spy(name: str, password: bytes, salt: bytes, iterations: int, *args: Any) -> bytes:
        calls.append((name, iterations))
        return real(name, password, salt, iterations, *args)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", spy)
    yield calls


def stored_iterations(database: Database, client_id: str) -> int:
    with database.transaction(write=False) as connection:
        found = OrgRepository(connection).client_with_secret(client_id)
    assert found is not None
    return int(found[1].split("$")[1])


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_an_unknown_client_id_runs_the_same_pbkdf2_as_a_wrong_secret(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    pbkdf2_calls: list[tuple[str, int]],
    attempt: Attempt,
) -> None:
    iterations = stored_iterations(database, org.client_id)
    answers: dict[str, list[Any]] = {}
    for case, client_id, secret in [
        ("wrong secret", org.client_id, "wrong"),
        ("unknown client", "client-nobody", "wrong"),
        ("unknown client over the column's 100 characters", "x" * 500, "wrong"),
    ]:
        # Twice: a refusal is never remembered, so the second costs what the first did.
        for _ in range(2):
            pbkdf2_calls.clear()
            response = attempt(client, client_id, secret)
            assert_error(response, 401, UNAUTHENTICATED)
            assert pbkdf2_calls == [("sha256", iterations)], case
            answers.setdefault(case, []).append(response.json())
    assert answers["wrong secret"] == answers["unknown client"]


def test_a_verified_secret_is_remembered_but_a_failure_never_is(
    client: TestClient, org: OrgCredentials, pbkdf2_calls: list[tuple[str, int]]
) -> None:
    assert basic_read(client, org.client_id, org.client_secret).status_code == 200
    assert basic_read(client, org.client_id, org.client_secret).status_code == 200
    assert len(pbkdf2_calls) == 1
    for _ in range(3):
        assert basic_read(client, "client-nobody", org.client_secret).status_code == 401
    assert len(pbkdf2_calls) == 4
