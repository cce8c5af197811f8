"""Webhook subscriptions through the API (SPEC §15, §2): create, read, change, delete,
their deliveries and the manual retry, what each refuses, and their OpenAPI.

No endpoint answers here. Where a test needs deliveries, a delivery worker sends to a
port of 127.0.0.1 where nothing listens, so every attempt fails at once and each
delivery ends FAILED after its eight attempts (the retry base shortened by its setting).
"""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks
from fastapi.testclient import TestClient
from httpx import Response

from milestones.clock import Clock
from milestones.delivery import DeliveryWorker, WorkerThread
from milestones.settings import Settings
from milestones.store.database import Database
from tests.api.groups import monthly_spend
from tests.api.test_bad_input import assert_refused
from tests.conftest import OrgCredentials, make_org

Json = dict[str, Any]
HOOKS = "/v3/webhooks"
JSON_TYPE = {"Content-Type": "application/json"}
USER = 347286146
NOW = "2024-08-27T10:00:00.000Z"  # the pinned clock
INVALID_INPUT = 300004
NOT_FOUND = 300012
UNSUPPORTED_TYPE = 300015
DELIVERY_PENDING = 310150
ALL_TYPES = sorted(
    [
        "target.achieved",
        "target.revoked",
        "milestone.achieved",
        "milestone.revoked",
        "streak.achieved",
        "streak.revoked",
        "streak.broken",
        "streak.frozen",
        "streak.at_risk",
        "group.achieved",
        "group.revoked",
    ]
)
FIELDS = {
    "id",
    "url",
    "types",
    "description",
    "active",
    "includeReplayed",
    "createdOn",
    "lastUpdatedOn",
}


# --- calls --------------------------------------------------------------------------


def create(client: TestClient, org: OrgCredentials, **body: Any) -> Json:
    response = client.post(
        HOOKS, json={"url": "https://hooks.example.com/in", **body}, auth=org.auth
    )
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["errors"] == [] and answer["warnings"] == [], answer
    data: Json = answer["data"]
    return data


def get(client: TestClient, org: OrgCredentials, path: str, **params: Any) -> Json:
    response = client.get(path, params=params, auth=org.auth)
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


def listed(client: TestClient, org: OrgCredentials) -> Json:
    return get(client, org, HOOKS, limit=100)


def total(client: TestClient, org: OrgCredentials) -> int:
    count: int = listed(client, org)["pagination"]["total"]
    return count


def put(client: TestClient, org: OrgCredentials, webhook_id: int, body: Json) -> Response:
    return client.put(f"{HOOKS}/{webhook_id}", json=body, auth=org.auth)


def raw_post(
    client: TestClient, org: OrgCredentials, body: str, headers: dict[str, str]
) -> Response:
    content = body.encode("utf-8", "surrogatepass")
    return client.post(HOOKS, content=content, headers=headers, auth=org.auth)


def without_secret(webhook: Json) -> Json:
    return {key: value for key, value in webhook.items() if key != "secret"}


@contextmanager
def case(name: str) -> Iterator[None]:
    """One case of a table checked in one test: a failure says which."""
    try:
        yield
    except AssertionError as failure:
        failure.add_note(f"case: {name}")
        raise


# --- create, read, change, delete ---------------------------------------------------


def test_a_subscription_is_created_with_every_type_and_its_secret_is_shown_once(
    client: TestClient, org: OrgCredentials
) -> None:
    response = client.post(HOOKS, json={"url": "https://hooks.example.com/in"}, auth=org.auth)

    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert set(created) == FIELDS | {"secret"}
    assert without_secret(created) == {
        "id": created["id"],
        "url": "https://hooks.example.com/in",
        "types": ALL_TYPES,
        "description": "",
        "active": True,
        "includeReplayed": False,
        "createdOn": NOW,
        "lastUpdatedOn": NOW,
    }
    secret = created["secret"]
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert len(key) >= 24  # Standard Webhooks: 24 to 64 bytes
    standardwebhooks.Webhook(secret)  # the package a receiver verifies with takes it

    fetched = get(client, org, f"{HOOKS}/{created['id']}")["data"]
    assert fetched == without_secret(created)
    assert listed(client, org)["data"] == [without_secret(created)]
    changed = put(client, org, created["id"], {"description": "renamed"})
    assert changed.status_code == 200, changed.text
    assert "secret" not in changed.json()["data"]
    for answer in (response, changed, client.get(HOOKS, auth=org.auth)):
        assert answer.text.count("whsec_") == (1 if answer is response else 0)


def test_each_subscription_has_a_secret_of_its_own(client: TestClient, org: OrgCredentials) -> None:
    secrets = {create(client, org)["secret"] for _ in range(3)}
    assert len(secrets) == 3


def test_a_subscription_keeps_every_field_it_was_given(
    client: TestClient, org: OrgCredentials
) -> None:
    created = create(
        client,
        org,
        url="http://127.0.0.1:8080/hooks?org=1",
        types=["target.revoked", "group.achieved", "target.revoked"],
        description="CRM: congratulate the customer",
        active=False,
        includeReplayed=True,
    )
    expected = {
        "url": "http://127.0.0.1:8080/hooks?org=1",
        "types": ["group.achieved", "target.revoked"],  # sorted, once each
        "description": "CRM: congratulate the customer",
        "active": False,
        "includeReplayed": True,
    }
    assert {key: created[key] for key in expected} == expected
    fetched = get(client, org, f"{HOOKS}/{created['id']}")["data"]
    assert {key: fetched[key] for key in expected} == expected


def test_the_list_is_paged_oldest_first(client: TestClient, org: OrgCredentials) -> None:
    ids = [create(client, org, description=f"hook {n}")["id"] for n in range(12)]

    pages = [get(client, org, HOOKS, limit=5, offset=offset) for offset in (0, 5, 10, 15)]

    assert [[w["id"] for w in page["data"]] for page in pages] == [ids[:5], ids[5:10], ids[10:], []]
    assert [page["pagination"] for page in pages] == [
        {"limit": 5, "offset": offset, "total": 12} for offset in (0, 5, 10, 15)
    ]
    default = get(client, org, HOOKS)
    assert default["pagination"] == {"limit": 10, "offset": 0, "total": 12}
    assert [w["id"] for w in default["data"]] == ids[:10]


def test_a_bad_page_is_refused(client: TestClient, org: OrgCredentials) -> None:
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
    ):
        with case(str(params)):
            response = client.get(HOOKS, params=params, auth=org.auth)
            assert_refused(response, 400, field, code=INVALID_INPUT)


def test_a_change_touches_only_the_fields_given(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    created = create(client, org, types=["target.achieved"], description="first", active=True)
    clock.set(datetime(2024, 8, 28, 12, 30, 0, 250000, tzinfo=UTC))

    response = put(client, org, created["id"], {"url": "https://hooks.example.com/v2"})

    assert response.status_code == 200, response.text
    changed = response.json()["data"]
    assert changed == without_secret(created) | {
        "url": "https://hooks.example.com/v2",
        "lastUpdatedOn": "2024-08-28T12:30:00.250Z",
    }
    assert changed["createdOn"] == NOW
    assert get(client, org, f"{HOOKS}/{created['id']}")["data"] == changed

    paused = put(client, org, created["id"], {"active": False, "includeReplayed": True}).json()[
        "data"
    ]
    assert (paused["active"], paused["includeReplayed"], paused["url"], paused["types"]) == (
        False,
        True,
        "https://hooks.example.com/v2",
        ["target.achieved"],
    )
    described = put(client, org, created["id"], {"description": "second"}).json()["data"]
    assert (described["description"], described["active"]) == ("second", False)
    retyped = put(client, org, created["id"], {"types": ["group.revoked", "streak.broken"]})
    assert retyped.json()["data"]["types"] == ["group.revoked", "streak.broken"]
    unchanged = put(client, org, created["id"], {})
    assert unchanged.status_code == 200, unchanged.text
    assert without_secret(unchanged.json()["data"]) == retyped.json()["data"]


def test_a_change_of_types_to_null_subscribes_to_every_type(
    client: TestClient, org: OrgCredentials
) -> None:
    created = create(client, org, types=["group.achieved"], description="kept")
    response = put(client, org, created["id"], {"types": None})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["types"] == ALL_TYPES
    assert response.json()["data"]["description"] == "kept"
    assert get(client, org, f"{HOOKS}/{created['id']}")["data"]["types"] == ALL_TYPES


def test_a_deleted_subscription_is_gone(client: TestClient, org: OrgCredentials) -> None:
    kept = create(client, org, description="kept")
    gone = create(client, org, description="gone")

    response = client.delete(f"{HOOKS}/{gone['id']}", auth=org.auth)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {"id": gone["id"], "deleted": True},
        "errors": [],
        "warnings": [],
    }
    path = f"{HOOKS}/{gone['id']}"
    for answer in (
        client.get(path, auth=org.auth),
        client.put(path, json={"active": False}, auth=org.auth),
        client.delete(path, auth=org.auth),
        client.get(f"{path}/deliveries", auth=org.auth),
    ):
        assert_refused(answer, 404, "id", code=NOT_FOUND)
    assert [w["id"] for w in listed(client, org)["data"]] == [kept["id"]]


# --- another org, unknown ids -------------------------------------------------------


def test_another_orgs_subscription_is_unknown_to_every_call(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock
) -> None:
    other = make_org(database, clock, 77)
    theirs = create(client, other, description="theirs")
    mine = create(client, org, description="mine")
    path = f"{HOOKS}/{theirs['id']}"

    for answer in (
        client.get(path, auth=org.auth),
        client.put(path, json={"url": "https://evil.example.com"}, auth=org.auth),
        client.delete(path, auth=org.auth),
        client.get(f"{path}/deliveries", auth=org.auth),
        client.post(f"{path}/deliveries/1/retry", auth=org.auth),
    ):
        assert_refused(answer, 404, "id", code=NOT_FOUND)
        assert str(other.org_id) not in answer.text and "theirs" not in answer.text

    assert get(client, other, path)["data"] == without_secret(theirs)  # untouched
    assert [w["id"] for w in listed(client, org)["data"]] == [mine["id"]]
    assert [w["id"] for w in listed(client, other)["data"]] == [theirs["id"]]


def test_an_unknown_subscription_is_404(client: TestClient, org: OrgCredentials) -> None:
    for method in ("GET", "PUT", "DELETE"):
        with case(method):
            body = {"active": False} if method == "PUT" else None
            response = client.request(method, f"{HOOKS}/424242", json=body, auth=org.auth)
            assert_refused(response, 404, "id", code=NOT_FOUND)


def test_the_deliveries_of_an_unknown_subscription_and_an_unknown_delivery_are_404(
    client: TestClient, org: OrgCredentials
) -> None:
    assert_refused(
        client.get(f"{HOOKS}/424242/deliveries", auth=org.auth), 404, "id", code=NOT_FOUND
    )
    known = create(client, org)
    assert get(client, org, f"{HOOKS}/{known['id']}/deliveries") == {
        "pagination": {"limit": 10, "offset": 0, "total": 0},
        "data": [],
        "errors": [],
        "warnings": [],
    }
    response = client.post(f"{HOOKS}/{known['id']}/deliveries/424242/retry", auth=org.auth)
    assert_refused(response, 404, "deliveryId", code=NOT_FOUND)
    unknown_hook = client.post(f"{HOOKS}/424242/deliveries/1/retry", auth=org.auth)
    assert_refused(unknown_hook, 404, "id", code=NOT_FOUND)


def test_a_bad_path_or_query_is_400(client: TestClient, org: OrgCredentials) -> None:
    create(client, org)
    for path, field in (
        (f"{HOOKS}/0", "webhookId"),
        (f"{HOOKS}/abc", "webhookId"),
        (f"{HOOKS}/{2**62 + 1}", "webhookId"),
        (f"{HOOKS}/1/deliveries?status=LOST", "status"),
        (f"{HOOKS}/1/deliveries?limit=101", "limit"),
        (f"{HOOKS}/1/deliveries?offset=-1", "offset"),
        (f"{HOOKS}/1/deliveries/0/retry", "deliveryId"),
    ):
        with case(path):
            method = "POST" if path.endswith("/retry") else "GET"
            response = client.request(method, path, auth=org.auth)
            assert_refused(response, 400, field, code=INVALID_INPUT)


def test_webhooks_need_credentials(client: TestClient, org: OrgCredentials) -> None:
    created = create(client, org)
    for answer in (
        client.get(HOOKS),
        client.post(HOOKS, json={"url": "https://hooks.example.com"}),
        client.get(f"{HOOKS}/{created['id']}"),
        client.delete(f"{HOOKS}/{created['id']}"),
    ):
        assert_refused(answer, 401, None)
    assert total(client, org) == 1


# --- bad input ----------------------------------------------------------------------


BAD_BODIES: list[tuple[str, Json, str]] = [
    ("ftp url", {"url": "ftp://x"}, "url"),
    ("javascript url", {"url": "javascript:alert(1)"}, "url"),
    ("relative url", {"url": "/hook"}, "url"),
    ("url with no host", {"url": "http://"}, "url"),
    ("url with a space", {"url": "http://hooks.example.com/a b"}, "url"),
    ("url with a tab", {"url": "http://hooks.example.com/a\tb"}, "url"),
    ("url over 2000", {"url": "https://h.example.com/" + "a" * 2000}, "url"),
    ("port out of range", {"url": "http://h:99999"}, "url"),
    ("port not a number", {"url": "http://h:port/"}, "url"),
    ("empty url", {"url": ""}, "url"),
    ("url with NUL", {"url": "http://h/\x00"}, "url"),
    ("url a number", {"url": 5}, "url"),
    ("no url", {"description": "x"}, "url"),
    ("unknown type", {"url": "http://h", "types": ["target.achieved", "nope"]}, "types[1]"),
    ("no types", {"url": "http://h", "types": []}, "types"),
    ("types a string", {"url": "http://h", "types": "target.achieved"}, "types"),
    ("a type a number", {"url": "http://h", "types": [5]}, "types[0]"),
    ("description over 500", {"url": "http://h", "description": "x" * 501}, "description"),
    ("description a number", {"url": "http://h", "description": 1}, "description"),
    ("active a string", {"url": "http://h", "active": "yes"}, "active"),
    ("active a number", {"url": "http://h", "active": 1}, "active"),
    ("includeReplayed a string", {"url": "http://h", "includeReplayed": "true"}, "includeReplayed"),
]


def test_a_bad_subscription_is_refused_naming_the_field_and_nothing_is_stored(
    client: TestClient, org: OrgCredentials
) -> None:
    create(client, org)
    for name, body, field in BAD_BODIES:
        with case(name):
            response = client.post(HOOKS, json=body, auth=org.auth)
            assert_refused(response, 400, field, code=INVALID_INPUT)
    assert total(client, org) == 1


def test_the_longest_url_and_description_are_accepted(
    client: TestClient, org: OrgCredentials
) -> None:
    url = "https://h.example.com/" + "a" * (2000 - len("https://h.example.com/"))
    created = create(client, org, url=url, description="d" * 500)
    assert (len(created["url"]), len(created["description"])) == (2000, 500)


RAW_BODIES: list[tuple[str, str, dict[str, str], int, str | None]] = [
    ("text/plain", '{"url": "http://h"}', {"Content-Type": "text/plain"}, 415, "Content-Type"),
    ("no content type", '{"url": "http://h"}', {}, 415, "Content-Type"),
    ("duplicate key", '{"url": "http://h", "url": "http://g"}', JSON_TYPE, 400, "url"),
    ("lone surrogate, escaped", '{"url": "http://h/\\ud800"}', JSON_TYPE, 400, "url"),
    (
        "lone low surrogate",
        '{"url": "http://h", "description": "\\udc00"}',
        JSON_TYPE,
        400,
        "description",
    ),
    ("lone surrogate, raw bytes", '{"url": "http://h/\ud800"}', JSON_TYPE, 400, None),
    ("not JSON", '{"url": ', JSON_TYPE, 400, None),
    ("an array", '["http://h"]', JSON_TYPE, 400, None),
]


def test_an_unreadable_body_is_refused_in_the_envelope_and_nothing_is_stored(
    client: TestClient, org: OrgCredentials
) -> None:
    for name, body, headers, status, field in RAW_BODIES:
        with case(name):
            response = raw_post(client, org, body, headers)
            code = UNSUPPORTED_TYPE if status == 415 else INVALID_INPUT
            assert_refused(response, status, field, code=code)
    assert total(client, org) == 0


def test_a_bad_change_is_refused_and_the_subscription_stays_as_it_was(
    client: TestClient, org: OrgCredentials
) -> None:
    created = create(client, org, types=["target.achieved"], description="as it was")
    for body, field in (
        ({"url": "ftp://x"}, "url"),
        ({"url": "http://"}, "url"),
        ({"url": "http://h:99999"}, "url"),
        ({"types": []}, "types"),
        ({"types": ["nope"]}, "types[0]"),
        ({"description": "x" * 501}, "description"),
        ({"active": "yes"}, "active"),
        ({"includeReplayed": 0}, "includeReplayed"),
    ):
        with case(str(body)[:60]):
            assert_refused(put(client, org, created["id"], body), 400, field, code=INVALID_INPUT)
    assert get(client, org, f"{HOOKS}/{created['id']}")["data"] == without_secret(created)


def test_a_change_that_is_not_json_or_repeats_a_key_is_refused(
    client: TestClient, org: OrgCredentials
) -> None:
    created = create(client, org)
    path = f"{HOOKS}/{created['id']}"
    as_text = client.put(
        path, content=b'{"active": false}', headers={"Content-Type": "text/plain"}, auth=org.auth
    )
    assert_refused(as_text, 415, "Content-Type", code=UNSUPPORTED_TYPE)
    twice = client.put(
        path, content=b'{"active": false, "active": true}', headers=JSON_TYPE, auth=org.auth
    )
    assert_refused(twice, 400, "active", code=INVALID_INPUT)
    assert get(client, org, path)["data"] == without_secret(created)


# --- deliveries and the manual retry ------------------------------------------------


@pytest.fixture
def dead_url() -> Iterator[str]:
    """An http URL of 127.0.0.1 where nothing listens: a connection is refused at once.

    The port stays bound (never listening) for the test, so nothing else can take it.
    """
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}/hook"


class RunningWorker:
    """A delivery worker in its thread, stopped once, by the test or when it ends."""

    def __init__(self, thread: WorkerThread) -> None:
        self.thread = thread
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.thread.stop()


@pytest.fixture
def worker(database: Database, clock: Clock) -> Iterator[RunningWorker]:
    """A delivery worker retrying within milliseconds."""
    settings = Settings(
        database_url=database.url,
        webhook_retry_seconds=0.005,
        webhook_timeout_seconds=2,
        delivery_poll_seconds=0.02,
    )
    thread = WorkerThread(DeliveryWorker(database, settings, clock))
    thread.start()
    running = RunningWorker(thread)
    yield running
    running.stop()


def deliveries_until(
    client: TestClient, org: OrgCredentials, webhook_id: int, count: int, status: str
) -> list[Json]:
    """The subscription's deliveries, once ``count`` of them have ``status`` (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        page = get(client, org, f"{HOOKS}/{webhook_id}/deliveries", limit=100, status=status)
        if page["pagination"]["total"] >= count or time.monotonic() > deadline:
            assert page["pagination"]["total"] == count, page
            data: list[Json] = page["data"]
            return data
        time.sleep(0.02)


def achieve(client: TestClient, org: OrgCredentials, user: int, event_id: str) -> None:
    event = {
        "eventId": event_id,
        "eventName": "TransactionAdd",
        "userId": user,
        "eventTime": "2024-08-20T09:00:00.000Z",
        "transaction": {"billNumber": event_id, "billAmount": 1000},
    }
    response = client.post("/v3/events", json=event, auth=org.auth)
    assert response.status_code == 200, response.text


def test_deliveries_to_a_dead_endpoint_fail_after_eight_attempts_and_a_retry_starts_again(
    client: TestClient,
    org: OrgCredentials,
    database: Database,
    clock: Clock,
    worker: RunningWorker,
    dead_url: str,
) -> None:
    other = make_org(database, clock, 77)
    webhook = create(client, org, url=dead_url, types=["target.achieved"])
    theirs = create(client, other, url=dead_url + "/theirs")
    client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth).raise_for_status()
    achieve(client, org, USER, "B-1")
    achieve(client, org, USER + 1, "B-2")
    feed = get(client, org, "/v3/notifications")["data"]
    wanted = [n for n in feed if n["type"] == "target.achieved"]
    assert len(wanted) == 2 and len(feed) == 4  # each target's own trigger too

    failed = deliveries_until(client, org, webhook["id"], 2, "FAILED")
    worker.stop()

    assert [(d["notificationId"], d["sequence"], d["userId"]) for d in failed] == [
        (n["id"], n["sequence"], n["userId"])
        for n in reversed(wanted)  # newest first
    ]
    for delivery in failed:
        assert delivery["webhookId"] == webhook["id"]
        assert delivery["type"] == "target.achieved"
        assert delivery["attempts"] == 8
        assert delivery["lastHttpStatus"] is None  # no answer at all
        assert delivery["lastError"].startswith("ConnectError"), delivery
        assert delivery["nextAttemptAt"] is None
        assert delivery["deliveredAt"] is None
        assert delivery["lastAttemptAt"].endswith("Z")
    everything = get(client, org, f"{HOOKS}/{webhook['id']}/deliveries")
    assert everything["pagination"]["total"] == 2
    assert get(client, org, f"{HOOKS}/{webhook['id']}/deliveries", status="PENDING")["data"] == []
    paged = get(client, org, f"{HOOKS}/{webhook['id']}/deliveries", limit=1, offset=1)
    assert paged["data"] == failed[1:] and paged["pagination"]["total"] == 2
    assert get(client, other, f"{HOOKS}/{theirs['id']}/deliveries")["data"] == []  # not theirs

    delivery = failed[0]
    retry_path = f"{HOOKS}/{webhook['id']}/deliveries/{delivery['id']}/retry"
    # Another org can neither retry it by its subscription, nor by one of its own.
    assert_refused(client.post(retry_path, auth=other.auth), 404, "id", code=NOT_FOUND)
    by_own = client.post(
        f"{HOOKS}/{theirs['id']}/deliveries/{delivery['id']}/retry", auth=other.auth
    )
    assert_refused(by_own, 404, "deliveryId", code=NOT_FOUND)

    response = client.post(retry_path, auth=org.auth)

    assert response.status_code == 200, response.text
    again = response.json()["data"]
    assert again == delivery | {
        "status": "PENDING",
        "attempts": 0,
        "nextAttemptAt": again["nextAttemptAt"],
    }
    assert again["nextAttemptAt"] is not None
    assert_refused(client.post(retry_path, auth=org.auth), 409, "deliveryId", code=DELIVERY_PENDING)
    statuses = {
        d["id"]: d["status"]
        for d in get(client, org, f"{HOOKS}/{webhook['id']}/deliveries")["data"]
    }
    assert statuses == {delivery["id"]: "PENDING", failed[1]["id"]: "FAILED"}

    # Deleting the subscription takes its deliveries with it.
    assert client.delete(f"{HOOKS}/{webhook['id']}", auth=org.auth).status_code == 200
    assert_refused(client.get(f"{HOOKS}/{webhook['id']}/deliveries", auth=org.auth), 404, "id")
    assert_refused(client.post(retry_path, auth=org.auth), 404, "id", code=NOT_FOUND)


def test_a_new_subscription_receives_only_what_is_notified_after_it(
    client: TestClient, org: OrgCredentials, worker: RunningWorker, dead_url: str
) -> None:
    client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth).raise_for_status()
    achieve(client, org, USER, "B-1")  # before the subscription: not for it
    webhook = create(client, org, url=dead_url, types=["target.achieved"])
    achieve(client, org, USER + 1, "B-2")

    [failed] = deliveries_until(client, org, webhook["id"], 1, "FAILED")

    assert failed["userId"] == USER + 1
    assert get(client, org, f"{HOOKS}/{webhook['id']}/deliveries")["pagination"]["total"] == 1


# --- OpenAPI ------------------------------------------------------------------------


OPERATIONS = {
    ("/v3/webhooks", "post"): ("WebhookAnswer", "201"),
    ("/v3/webhooks", "get"): ("WebhookPage", "200"),
    ("/v3/webhooks/{webhookId}", "get"): ("WebhookAnswer", "200"),
    ("/v3/webhooks/{webhookId}", "put"): ("WebhookAnswer", "200"),
    ("/v3/webhooks/{webhookId}", "delete"): ("DeletedAnswer", "200"),
    ("/v3/webhooks/{webhookId}/deliveries", "get"): ("DeliveryPage", "200"),
    ("/v3/webhooks/{webhookId}/deliveries/{deliveryId}/retry", "post"): ("DeliveryAnswer", "200"),
    ("/v3/notifications", "get"): ("FeedPage", "200"),
}


def schema_ref(answer: Json) -> str:
    ref: str = answer["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def test_openapi_documents_every_webhook_and_notification_path_and_method(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    schemas = document["components"]["schemas"]

    documented = {
        (path, method)
        for path, item in paths.items()
        for method in item
        if path.startswith(("/v3/webhooks", "/v3/notifications"))
    }
    assert documented == set(OPERATIONS)
    for (path, method), (model, success) in OPERATIONS.items():
        operation = paths[path][method]
        assert operation["summary"], (path, method)
        assert schema_ref(operation["responses"][success]) == model, (path, method)
        assert model in schemas
        for status in ("400", "401", "500"):
            assert schema_ref(operation["responses"][status]) == "ErrorEnvelope", (
                path,
                method,
                status,
            )
        if "{webhookId}" in path:
            assert schema_ref(operation["responses"]["404"]) == "ErrorEnvelope", (path, method)
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        for name in ("webhookId", "deliveryId"):
            if f"{{{name}}}" in path:
                assert parameters[name]["in"] == "path" and parameters[name]["required"], (
                    path,
                    name,
                )
        has_body = (path, method) in {("/v3/webhooks", "post"), ("/v3/webhooks/{webhookId}", "put")}
        assert ("requestBody" in operation) == has_body, (path, method)
        if has_body:
            assert "415" in operation["responses"], (path, method)
    retry = paths["/v3/webhooks/{webhookId}/deliveries/{deliveryId}/retry"]["post"]
    assert "409" in retry["responses"]

    feed = {p["name"]: p["schema"] for p in paths["/v3/notifications"]["get"]["parameters"]}
    assert set(feed) == {"after", "limit", "type"}
    assert (feed["limit"]["minimum"], feed["limit"]["maximum"]) == (1, 1000)
    assert feed["after"]["minimum"] == 0
    create_body = paths["/v3/webhooks"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    create_schema = schemas[create_body["$ref"].rsplit("/", 1)[-1]]
    assert set(create_schema["properties"]) == {
        "url",
        "types",
        "description",
        "active",
        "includeReplayed",
    }
    assert create_schema["required"] == ["url"]


def test_the_answers_have_the_fields_openapi_documents(
    client: TestClient, org: OrgCredentials
) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    webhook = schemas["WebhookOut"]
    created = create(client, org)
    assert set(created) == set(webhook["properties"])
    assert set(get(client, org, f"{HOOKS}/{created['id']}")["data"]) == set(webhook["required"])
    assert set(schemas["DeliveryOut"]["properties"]) == {
        "id",
        "webhookId",
        "notificationId",
        "sequence",
        "userId",
        "type",
        "status",
        "attempts",
        "lastHttpStatus",
        "lastError",
        "nextAttemptAt",
        "lastAttemptAt",
        "deliveredAt",
        "createdAt",
    }
    client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth).raise_for_status()
    achieve(client, org, USER, "B-1")
    notification = get(client, org, "/v3/notifications")["data"][0]
    assert set(notification) == set(schemas["NotificationOut"]["properties"])
    assert set(schemas["NotificationOut"]["required"]) == set(notification)
    assert "next" in schemas["FeedPagination"]["properties"]
