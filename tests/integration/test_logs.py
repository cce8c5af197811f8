"""The log of a real ``milestones serve`` with ``MILESTONES_LOG_FORMAT=json`` (SPEC §19).

One server on SQLite answers a known set of calls: Basic credentials, a token from
``POST /v3/oauth/token`` used as a bearer, wrong secrets, a given ``X-Request-ID``,
hostile ones, and clients that put their credentials where they do not belong (the query
string). Then it is stopped, and its whole output is read: one JSON object a line, one
access line per request carrying its id, route, status, duration and caller, and not a
trace of any secret or token anywhere.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.conftest import START
from tests.integration.served import Served, serving

ORG_ID = 70001
CLIENT_ID = "logs-client"
GENERATED = re.compile(r"[0-9a-f]{32}")
Json = dict[str, Any]


@dataclass(frozen=True)
class Sent:
    """One call and what its access line must say."""

    response: httpx.Response
    route: str
    caller: bool  # authenticated: the line names the org and the API client
    given_id: str | bytes | None = None

    @property
    def request_id(self) -> str:
        return self.response.headers["x-request-id"]


def read_log(server: Served) -> tuple[str, list[Json]]:
    """The whole output (both streams), and every line of it as a JSON object."""
    text = server.stderr.read_text() + server.stdout.read_text()
    lines: list[Json] = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            parsed = json.loads(line)
        except ValueError:
            pytest.fail(f"line {number} of the log is not JSON: {line!r}")
        assert isinstance(parsed, dict), f"line {number} is not one JSON object: {line!r}"
        lines.append(parsed)
    return text, lines


def test_the_json_log_has_one_line_per_request_with_its_id_and_never_a_secret(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'logs.db'}"
    secret = f"logs-secret-{secrets.token_hex(12)}"
    wrong = f"wrong-secret-{secrets.token_hex(12)}"
    database = Database(url)
    database.migrate()
    admin.create_org(
        database,
        Clock(START),
        org_id=ORG_ID,
        name="Logs",
        time_zone="UTC",
        client_id=CLIENT_ID,
        client_secret=secret,
    )
    database.dispose()
    basic = base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()
    sent: list[Sent] = []
    given = "trace-4f2a.b:c_d-E9"
    longest = "L" * 128
    hostile: list[str | bytes] = [
        "h" * 129,
        "hostile id with spaces",
        "hostile\ttab",
        'hostile"quote',
        'hostile","level":"CRITICAL',
        "hostile\\u000a",
        "hostile/slash",
        "hostile-é".encode("latin-1"),
        "",
    ]
    with serving(url, tmp_path, env={"MILESTONES_LOG_FORMAT": "json"}) as server:
        with httpx.Client(base_url=server.base, timeout=30) as http:

            def call(
                status: int, route: str, method: str, path: str, caller: bool = False, **kw: Any
            ) -> httpx.Response:
                response = http.request(method, path, **kw)
                assert response.status_code == status, (method, path, response.text)
                given_id = kw.get("headers", {}).get("X-Request-ID")
                sent.append(Sent(response, route, caller, given_id))
                return response

            groups = "/v3/targetGroups"
            basic_auth = {"Authorization": f"Basic {basic}"}
            first = call(
                200, groups, "GET", groups, True, headers={**basic_auth, "X-Request-ID": given}
            )
            assert first.headers["x-request-id"] == given
            call(201, groups, "POST", groups, True, json=monthly_spend(), headers=basic_auth)
            form = {"grant_type": "client_credentials", "client_id": CLIENT_ID}
            token_route = "/v3/oauth/token"
            granted = call(
                200, token_route, "POST", token_route, True, data={**form, "client_secret": secret}
            )
            token = granted.json()["access_token"]
            grant_form = {"grant_type": "client_credentials"}
            by_basic = call(
                200, token_route, "POST", token_route, True, data=grant_form, headers=basic_auth
            )
            other_token = by_basic.json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            call(200, groups, "GET", groups, True, headers=bearer)
            event = {
                "eventId": "log-1",
                "eventName": "TransactionAdd",
                "userId": 5,
                "eventTime": "2024-08-20T10:00:00.000Z",
                "transaction": {"billNumber": "log-1", "billAmount": 120},
            }
            call(200, "/v3/events", "POST", "/v3/events", True, json=event, headers=bearer)
            view = "/v3.1/users/{userId}/targetGroups"
            call(200, view, "GET", "/v3.1/users/5/targetGroups", True, headers=bearer)

            # Failed attempts: a wrong secret (three times, under the throttle), a made-up token.
            call(401, groups, "GET", groups, auth=(CLIENT_ID, wrong))
            call(401, token_route, "POST", token_route, data={**form, "client_secret": wrong})
            call(401, "/v3/events", "POST", "/v3/events", json=event, auth=(CLIENT_ID, wrong))
            call(401, groups, "GET", groups, headers={"Authorization": f"Bearer {wrong}"})
            # Clients that put credentials in the query string are refused, and not logged.
            call(401, groups, "GET", f"{groups}?access_token={other_token}")
            call(
                400,
                token_route,
                "POST",
                f"{token_route}?client_id={CLIENT_ID}&client_secret={secret}",
            )
            call(404, "unmatched", "GET", f"/v3/nowhere?token={token}&secret={secret}")

            call(200, "/health", "GET", "/health")
            kept = call(200, "/health", "GET", "/health", headers={"X-Request-ID": longest})
            assert kept.headers["x-request-id"] == longest
            for value in hostile:
                replaced = call(200, "/health", "GET", "/health", headers={"X-Request-ID": value})
                assert GENERATED.fullmatch(replaced.headers["x-request-id"]), value
        assert server.terminate(timeout=30) in (0, -15)

    text, lines = read_log(server)
    assert len(lines) >= len(sent)
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line), line

    # One access line per request, found by the id its answer carried.
    access = [line for line in lines if line["logger"].endswith(".access")]
    per_id = Counter(line["request_id"] for line in access)
    for entry in sent:
        assert per_id[entry.request_id] == 1, (
            f"{entry.response.request.url}: {per_id[entry.request_id]} access lines, not one"
        )
    assert len(access) == len(sent) + server.health_answers
    by_id = {line["request_id"]: line for line in access}
    for entry in sent:
        line = by_id[entry.request_id]
        assert line["logger"] == "milestones.access"
        assert line["method"] == entry.response.request.method
        assert line["route"] == entry.route
        assert line["status"] == entry.response.status_code
        assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
        if entry.caller:
            assert (line["org_id"], line["client_id"]) == (ORG_ID, CLIENT_ID), line
        else:
            assert (line["org_id"], line["client_id"]) == (None, None), line

    # Ids: the given one kept, every other one made new, never twice.
    assert by_id[given]["route"] == "/v3/targetGroups"
    made = [entry.request_id for entry in sent if entry.given_id not in (given, longest)]
    assert all(GENERATED.fullmatch(request_id) for request_id in made), made
    assert len(set(made)) == len(made)

    # No secret, token or credential anywhere in the output, in any form.
    for needle in (secret, wrong, token, other_token, basic, f"{CLIENT_ID}:{secret}"):
        assert needle not in text, f"the log shows {needle[:12]}..."
    for value in hostile[:-1]:
        shown = value.decode("latin-1") if isinstance(value, bytes) else value
        assert shown not in text and json.dumps(shown)[1:-1] not in text, shown
