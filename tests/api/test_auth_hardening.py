"""Auth hardening (SPEC §2) and exact enrolment values (SPEC §8), through the public API.

Which client ids exist must not show in what a refusal costs; failed credentials lock a
(client id, address) pair out; DATA-SCOPE-ORG is bounded; no redirect names the request's
Host; enrolment values are exact decimals.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from milestones import admin
from milestones.api.throttle import MAX_PAIRS, LoginThrottle
from milestones.clock import Clock
from milestones.store.database import Database
from milestones.store.orgs import OrgRepository
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials, make_org

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


# --- failed credentials lock a (client id, address) pair out ----------------------------


def fail(attempt: Attempt, client: TestClient, client_id: str, times: int) -> None:
    for number in range(times):
        response = attempt(client, client_id, f"wrong-{number}")
        assert response.status_code == 401, f"attempt {number + 1}: {response.text}"


def assert_locked_out(response: Response, retry_after: int) -> None:
    message = assert_error(response, 429, TOO_MANY_ATTEMPTS)
    assert response.headers["Retry-After"] == str(retry_after)
    assert "Too many failed attempts" in message and f"{retry_after} seconds" in message


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_ten_failures_lock_the_pair_out_for_60_seconds_even_with_the_right_secret(
    client: TestClient, org: OrgCredentials, clock: Clock, attempt: Attempt
) -> None:
    fail(attempt, client, org.client_id, 10)
    assert_locked_out(attempt(client, org.client_id, org.client_secret), 60)
    clock.advance(timedelta(seconds=45))
    assert_locked_out(attempt(client, org.client_id, org.client_secret), 15)
    assert_locked_out(attempt(client, org.client_id, "wrong"), 15)
    clock.advance(timedelta(seconds=15))
    assert attempt(client, org.client_id, org.client_secret).status_code == 200


def test_nine_failures_do_not_lock_and_the_tenth_does(
    client: TestClient, org: OrgCredentials
) -> None:
    fail(basic_read, client, org.client_id, 9)
    assert basic_read(client, org.client_id, org.client_secret).status_code == 200
    fail(basic_read, client, org.client_id, 1)
    assert_locked_out(basic_read(client, org.client_id, org.client_secret), 60)


def test_a_lockout_leaves_other_addresses_and_other_client_ids_alone(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    other_org = make_org(database, clock, 2)
    fail(basic_read, client, org.client_id, 10)
    assert_locked_out(basic_read(client, org.client_id, org.client_secret), 60)
    elsewhere = TestClient(client.app, client=OTHER_ADDRESS, raise_server_exceptions=False)
    assert basic_read(elsewhere, org.client_id, org.client_secret).status_code == 200
    assert token_request(elsewhere, org.client_id, org.client_secret).status_code == 200
    assert basic_read(client, other_org.client_id, other_org.client_secret).status_code == 200


def test_successful_attempts_neither_count_nor_wipe_the_failures(
    client: TestClient, org: OrgCredentials
) -> None:
    fail(basic_read, client, org.client_id, 5)
    for _ in range(20):
        assert basic_read(client, org.client_id, org.client_secret).status_code == 200
    fail(basic_read, client, org.client_id, 4)
    assert basic_read(client, org.client_id, org.client_secret).status_code == 200
    fail(basic_read, client, org.client_id, 1)
    assert_locked_out(basic_read(client, org.client_id, org.client_secret), 60)


def test_failures_older_than_60_seconds_no_longer_count(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    fail(basic_read, client, org.client_id, 9)
    clock.advance(timedelta(seconds=61))
    fail(basic_read, client, org.client_id, 9)
    assert basic_read(client, org.client_id, org.client_secret).status_code == 200
    fail(basic_read, client, org.client_id, 1)
    assert_locked_out(basic_read(client, org.client_id, org.client_secret), 60)


def test_an_unknown_client_id_is_locked_out_like_a_known_one(
    client: TestClient, org: OrgCredentials
) -> None:
    fail(basic_read, client, "client-nobody", 10)
    assert_locked_out(basic_read(client, "client-nobody", "anything"), 60)
    assert_locked_out(token_request(client, "client-nobody", "anything"), 60)


def test_basic_auth_and_the_token_endpoint_share_one_count(
    client: TestClient, org: OrgCredentials
) -> None:
    fail(basic_read, client, org.client_id, 5)
    fail(token_request, client, org.client_id, 5)
    assert_locked_out(basic_read(client, org.client_id, org.client_secret), 60)
    assert_locked_out(token_request(client, org.client_id, org.client_secret), 60)


def test_a_bearer_token_issued_before_a_lockout_still_works(
    client: TestClient, org: OrgCredentials
) -> None:
    token = token_request(client, org.client_id, org.client_secret).json()["access_token"]
    fail(basic_read, client, org.client_id, 10)
    response = client.get(GROUPS, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_the_throttle_keeps_a_bounded_number_of_pairs(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    throttle = LoginThrottle(clock, max_pairs=5)
    client.app.state.authenticator.throttle = throttle  # type: ignore[attr-defined]
    for number in range(20):
        assert basic_read(client, f"client-{number:04d}-x", "wrong").status_code == 401
        assert len(throttle) <= 5
    # The pairs kept are the latest: the newest id still counts towards its lockout.
    fail(basic_read, client, "client-0019-x", 9)
    assert_locked_out(basic_read(client, "client-0019-x", "wrong"), 60)


def test_the_default_cap_holds_against_cycled_client_ids(clock: Clock) -> None:
    throttle = LoginThrottle(clock)
    for number in range(MAX_PAIRS + 5_000):
        throttle.failed(f"cycled-{number}", "198.51.100.1")
    assert len(throttle) == MAX_PAIRS


def test_the_openapi_document_lists_429_where_credentials_are_checked(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "429" in paths["/v3/targetGroups"]["get"]["responses"]
    assert "429" in paths["/v3/oauth/token"]["post"]["responses"]
    assert "429" not in paths["/health"]["get"]["responses"]


# --- DATA-SCOPE-ORG is bounded ----------------------------------------------------------


@pytest.fixture
def connected(database: Database, clock: Clock, org: OrgCredentials) -> OrgCredentials:
    """Org 2, connected to the caller's org."""
    other = make_org(database, clock, 2)
    admin.connect_orgs(database, org.org_id, other.org_id)
    return other


def scoped_read(client: TestClient, org: OrgCredentials, ids: str) -> Response:
    headers = {"DATA-SCOPE": "OTHER", "DATA-SCOPE-ORG": ids}
    return client.get(GROUPS, auth=org.auth, headers=headers)


def test_data_scope_org_takes_100_ids(
    client: TestClient, org: OrgCredentials, connected: OrgCredentials
) -> None:
    ids = ",".join([str(connected.org_id)] * 99 + [str(org.org_id)])
    assert scoped_read(client, org, ids).status_code == 200


@pytest.mark.parametrize(
    "count",
    [pytest.param(101, id="101 ids"), pytest.param(80_000, id="80,000 ids")],
)
def test_data_scope_org_over_100_ids_is_refused_naming_the_header_and_the_limit(
    client: TestClient, org: OrgCredentials, connected: OrgCredentials, count: int
) -> None:
    ids = ",".join(str(number) for number in range(1, count + 1))
    message = assert_error(scoped_read(client, org, ids), 400, INVALID_INPUT, "DATA-SCOPE-ORG")
    assert "at most 100" in message


@pytest.mark.parametrize(
    ("value", "mention"),
    [
        pytest.param("9" * 1_000_000, "not an org id", id="a million digits"),
        pytest.param("," * 1_000_000, "comma-separated", id="a million commas"),
        pytest.param(" " * 1_000_000, "comma-separated", id="a million spaces"),
        pytest.param("2," * 500_000, "at most 100", id="half a million ids"),
    ],
)
def test_a_huge_data_scope_org_value_is_refused_naming_the_header(
    client: TestClient, org: OrgCredentials, connected: OrgCredentials, value: str, mention: str
) -> None:
    message = assert_error(scoped_read(client, org, value), 400, INVALID_INPUT, "DATA-SCOPE-ORG")
    assert mention in message


def test_one_id_among_half_a_million_empty_entries_is_read(
    client: TestClient, org: OrgCredentials, connected: OrgCredentials
) -> None:
    response = scoped_read(client, org, "2," + " ," * 500_000)
    assert response.status_code == 200, response.text
    assert response.json()["errors"] == []


# --- a redirect never names the request's Host ------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/v3/targetGroups/", 200, id="GET the group list"),
        pytest.param("GET", "/v3/targetGroups//", 200, id="two slashes"),
        pytest.param("POST", "/v3/targetGroups/", 201, id="POST a group"),
        pytest.param("GET", "/health/", 200, id="health"),
        pytest.param("GET", "/v3/noSuchThing/", 404, id="an unknown path"),
    ],
)
def test_a_trailing_slash_is_served_without_naming_a_forged_host(
    client: TestClient, org: OrgCredentials, method: str, path: str, status: int
) -> None:
    body = monthly_spend() if method == "POST" else None
    response = client.request(
        method,
        path,
        json=body,
        auth=org.auth,
        headers={"Host": "evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == status, response.text
    assert "location" not in response.headers
    assert "evil.example" not in response.text
    assert all("evil.example" not in value for value in response.headers.values())


def test_a_trailing_slash_answers_what_the_path_without_it_answers(
    client: TestClient, org: OrgCredentials
) -> None:
    created = client.post(GROUPS, json=monthly_spend(), auth=org.auth).json()["data"]
    with_slash = client.get(f"{GROUPS}/{created['id']}/", auth=org.auth)
    without = client.get(f"{GROUPS}/{created['id']}", auth=org.auth)
    assert with_slash.status_code == 200
    assert with_slash.json() == without.json()


# --- enrolment values are exact decimals -----------------------------------------------


@pytest.fixture
def import_group(client: TestClient, org: OrgCredentials) -> tuple[int, int]:
    """A group with one IMPORT target: (group id, target id)."""
    target = {
        "name": "imported",
        "targetEntity": "TRANSACTION",
        "targetType": "SALES",
        "defaultValue": 1000,
        "enrolmentMethod": "IMPORT",
    }
    response = client.post(GROUPS, json=monthly_spend("Imported", targets=[target]), auth=org.auth)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return data["id"], data["targets"][0]["id"]


def exact(response: Response) -> Any:
    """The body with every non-integer number as the Decimal its digits spell."""
    return json.loads(response.text, parse_float=Decimal)


@pytest.mark.parametrize(
    ("initial", "target", "shown_initial", "shown_target"),
    [
        pytest.param("0.1", "0.3", "0.100", "0.300", id="0.1 and 0.3"),
        pytest.param("0.001", "1e-1", "0.001", "0.100", id="the smallest step, an exponent"),
        pytest.param("0", "999999999999.999", "0.000", "999999999999.999", id="the extremes"),
    ],
)
def test_an_enrolments_values_are_echoed_exactly_with_3_places(
    client: TestClient,
    org: OrgCredentials,
    import_group: tuple[int, int],
    initial: str,
    target: str,
    shown_initial: str,
    shown_target: str,
) -> None:
    group_id, target_id = import_group
    raw = f'{{"userId": 7, "initialValue": {initial}, "targetValue": {target}}}'
    response = client.post(
        f"/v3.1/targetGroups/{group_id}/targets/{target_id}/enroll",
        content=raw,
        headers={"Content-Type": "application/json"},
        auth=org.auth,
    )
    assert response.status_code == 200, response.text
    assert f'"initialValue":{shown_initial},' in response.text
    assert f'"targetValue":{shown_target},' in response.text
    data = exact(response)["data"]
    assert data["initialValue"] == Decimal(shown_initial)
    assert data["targetValue"] == Decimal(shown_target)
    assert exact(response)["errors"] == []


def test_an_imported_target_value_is_shown_exactly_in_the_user_view(
    client: TestClient, org: OrgCredentials, import_group: tuple[int, int]
) -> None:
    group_id, _ = import_group
    response = client.post(
        f"{GROUPS}/{group_id}/enrolments/import",
        content="userId,targetValue,periodRefCode\n7,0.1,Cycle_1\n8,0.2,\n",
        headers={"Content-Type": "text/csv"},
        auth=org.auth,
    )
    assert response.status_code == 200, response.text
    assert exact(response)["data"] == {
        "rowsRead": 2,
        "rowsApplied": 2,
        "rowsRejected": 0,
        "errors": [],
        "errorsTruncated": False,
    }
    for user, shown in ((7, "0.100"), (8, "0.200")):
        view = client.get(f"/v3.1/users/{user}/targetGroups", auth=org.auth)
        assert view.status_code == 200, view.text
        assert f'"targetValue":{shown},' in view.text
        targets = exact(view)["data"]["targetGroups"][0]["targets"]
        assert targets[0]["targetValue"] == Decimal(shown)


# --- the token endpoint refuses credentials that are not Unicode ------------------------


@pytest.mark.parametrize("field", ["client_id", "client_secret"])
def test_a_lone_surrogate_in_token_credentials_is_refused_naming_the_field(
    client: TestClient, org: OrgCredentials, field: str
) -> None:
    fields = {"client_id": org.client_id, "client_secret": org.client_secret, field: "@@"}
    raw = json.dumps({"grant_type": "client_credentials", **fields}).replace("@@", "\\ud800")
    response = client.post(TOKEN, content=raw, headers={"Content-Type": "application/json"})
    assert "Unicode" in assert_error(response, 400, INVALID_INPUT, field)
