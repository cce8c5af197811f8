"""The console's sign-in, sessions, CSRF, lockout, roles and org scope, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from milestones import admin
from milestones.api.console.sessions import sign_in as console_sign_in
from milestones.clock import Clock
from milestones.store.database import Database
from milestones.store.tables import console_sessions
from tests.api.console_helpers import PASSWORD, csrf_of, errors_on, make_user, sign_in
from tests.api.groups import monthly_spend
from tests.conftest import OrgCredentials, make_org

REFUSED = "Wrong email or password, or too many attempts"


@pytest.fixture
def admin_user(database: Database, clock: Clock, org: OrgCredentials) -> str:
    return make_user(database, clock, org.org_id, "ada@example.com", "ADMIN")


def _attempt(client: TestClient, email: str, password: str) -> int:
    form = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(form.text), "email": email, "password": password},
        follow_redirects=False,
    )
    return answer.status_code


def test_pages_need_a_session_and_send_the_sign_in_page(client: TestClient) -> None:
    answer = client.get("/console/customers", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=/console/customers"


def test_a_wrong_password_is_refused_then_the_right_one_signs_in(
    client: TestClient, admin_user: str
) -> None:
    assert _attempt(client, admin_user, "not the password") == 400
    assert client.get("/console/groups", follow_redirects=False).status_code == 303
    sign_in(client, admin_user)
    assert "ada@example.com" in client.get("/console/groups").text


def test_the_session_cookie_is_http_only_and_same_site_and_only_its_hash_is_stored(
    client: TestClient, admin_user: str, database: Database
) -> None:
    form = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(form.text), "email": admin_user, "password": PASSWORD},
        follow_redirects=False,
    )
    cookie = next(
        value
        for value in answer.headers.get_list("set-cookie")
        if value.startswith("milestones_console=")
    )
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/console" in attributes
    assert "secure" not in attributes  # plain http here; https requests get Secure
    token = cookie.split(";")[0].split("=", 1)[1]
    with database.transaction(write=False) as connection:
        stored = [row[0] for row in connection.execute(select(console_sessions.c.token_hash))]
    assert stored and token not in stored


def test_a_form_without_its_csrf_token_or_with_a_wrong_one_is_refused(
    client: TestClient, admin_user: str
) -> None:
    csrf = sign_in(client, admin_user)
    body = {"name": "No token", **{"action": "create"}}
    refused = client.post("/console/groups/new", data=body)
    assert refused.status_code == 403
    assert "did not come from the console" in refused.text
    assert client.post("/console/groups/new", data={**body, "csrf": "x" * 64}).status_code == 403
    assert client.post("/console/sign-out", data={}).status_code == 403
    # The sign-in form has its own token, tied to its cookie.
    assert client.post("/console/sign-in", data={"email": admin_user}).status_code == 403
    assert "Target groups" in client.get("/console/groups").text  # still signed in
    assert csrf


def test_a_cookie_of_one_org_never_reads_another(
    client: TestClient, database: Database, clock: Clock, org: OrgCredentials
) -> None:
    other = make_org(database, clock, 777, "UTC")
    theirs = client.post(
        "/v3/targetGroups", json=monthly_spend("Their secret group"), auth=other.auth
    )
    assert theirs.status_code == 201
    their_id = theirs.json()["data"]["id"]
    client.post("/v3/events", json=_purchase(9001), auth=other.auth)
    make_user(database, clock, org.org_id, "ours@example.com", "ADMIN")
    csrf = sign_in(client, "ours@example.com")
    assert "Their secret group" not in client.get("/console/groups").text
    assert client.get(f"/console/groups/{their_id}").status_code == 404
    edit = client.post(f"/console/groups/{their_id}", data={"csrf": csrf, "name": "Mine now"})
    assert edit.status_code == 404
    customer = client.get("/console/customers", params={"userId": 9001}).text
    assert "Their secret group" not in customer and "No events stored" in customer


def test_five_failures_lock_the_email_for_15_minutes_whether_it_exists_or_not(
    client: TestClient, admin_user: str, clock: Clock
) -> None:
    for _ in range(5):
        assert _attempt(client, admin_user, "wrong password!") == 400
        assert _attempt(client, "nobody@example.com", "wrong password!") == 400
    locked = client.post(
        "/console/sign-in",
        data={
            "csrf": csrf_of(client.get("/console/sign-in").text),
            "email": admin_user,
            "password": PASSWORD,
        },
    )
    assert locked.status_code == 400
    assert errors_on(locked.text)[0].startswith(REFUSED)
    clock.advance(timedelta(minutes=14))
    assert _attempt(client, admin_user, PASSWORD) == 400
    clock.advance(timedelta(minutes=2))
    assert _attempt(client, admin_user, PASSWORD) == 303


def test_a_disabled_users_session_stops_working_at_once(
    client: TestClient, admin_user: str, database: Database, clock: Clock
) -> None:
    sign_in(client, admin_user)
    admin.disable_console_user(database, clock, admin_user)
    assert client.get("/console/groups", follow_redirects=False).status_code == 303
    assert _attempt(client, admin_user, PASSWORD) == 400


def test_a_session_ends_after_two_idle_hours(
    client: TestClient, admin_user: str, clock: Clock
) -> None:
    sign_in(client, admin_user)
    clock.advance(timedelta(hours=1, minutes=50))
    assert client.get("/console/groups").status_code == 200  # used: kept alive
    clock.advance(timedelta(hours=1, minutes=50))
    assert client.get("/console/groups").status_code == 200
    clock.advance(timedelta(hours=2, minutes=1))
    assert client.get("/console/groups", follow_redirects=False).status_code == 303


def test_support_reads_groups_but_cannot_create_or_change_them(
    client: TestClient, database: Database, clock: Clock, org: OrgCredentials
) -> None:
    group = client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth).json()["data"]
    make_user(database, clock, org.org_id, "sam@example.com", "SUPPORT")
    csrf = sign_in(client, "sam@example.com")
    listing = client.get("/console/groups").text
    assert "Spend 1000 a month" in listing and 'href="/console/groups/new"' not in listing
    assert client.get("/console/groups/new").status_code == 403
    created = client.post(
        "/console/groups/new", data={"csrf": csrf, "name": "x", "action": "create"}
    )
    assert created.status_code == 403 and "may not create or change" in created.text
    changed = client.post(f"/console/groups/{group['id']}", data={"csrf": csrf, "name": "Renamed"})
    assert changed.status_code == 403
    read = client.get(f"/console/groups/{group['id']}")
    assert read.status_code == 200 and "Spend 1000 a month" in read.text


def test_hostile_input_is_answered_with_a_visible_error_never_a_fault(
    client: TestClient, admin_user: str
) -> None:
    csrf = sign_in(client, admin_user)
    hostile = {
        "csrf": csrf,
        "action": "create",
        "name": "x" * 5000,
        "trackingType": "NOT_A_TYPE",
        "targetEvaluationType": "FIXED_CALENDAR_WINDOW",
        "frequencyType": "MONTHLY",
        "frequency": "one",
        "totalPeriods": "99999999999999999999999",
        "recurringCycles": "-1",
        "targets[0].name": "spend",
        "targets[0].targetEntity": "TRANSACTION",
        "targets[0].targetType": "SALES",
        "targets[0].defaultValue": "1e999999",
    }
    answer = client.post("/console/groups/new", data=hostile)
    assert answer.status_code == 400
    for field in ("trackingType", "frequency", "totalPeriods", "targets-0-defaultValue"):
        assert f'id="{field}-error"' in answer.text, field  # beside its field
    shown = " ".join(errors_on(answer.text))
    assert "must be a number" in shown or "must be below 10^15" in shown
    assert 'value="one"' in answer.text  # what was typed is kept
    for path in (
        "/console/groups/" + "9" * 40,
        "/console/groups/-1",
        "/console/groups/%00",
        "/console/customers?userId=" + "1" * 50,
        "/console/customers?userId=abc",
    ):
        assert client.get(path).status_code in (400, 404), path
    freeze = client.post("/console/customers/7001/freezes", data={"csrf": csrf, "count": "lots"})
    assert freeze.status_code == 400 and "must be a positive whole number" in freeze.text
    retry = client.post("/console/webhooks/1/deliveries/2/retry", data={"csrf": csrf})
    assert retry.status_code == 404
    too_long = _attempt(client, "a" * 10_000 + "@example.com", "p" * 10_000)
    assert too_long == 400


def _purchase(user_id: int) -> dict[str, object]:
    return {
        "eventName": "TransactionAdd",
        "eventId": f"buy-{user_id}",
        "userId": user_id,
        "eventTime": "2024-08-20T10:00:00.000",
        "transaction": {"billAmount": 600},
    }


def test_attempts_sent_at_once_are_each_counted_and_the_lockout_holds(
    database: Database, clock: Clock, admin_user: str
) -> None:
    """Ten wrong passwords at once are ten failures: the email is locked after them, so the
    right password is refused (each attempt is counted before its password is checked)."""
    now = clock.now()
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(
            pool.map(lambda _: console_sign_in(database, now, admin_user, "wrong!"), range(10))
        )
    assert answers == [None] * 10
    assert console_sign_in(database, now, admin_user, PASSWORD) is None
    assert console_sign_in(database, now + timedelta(minutes=16), admin_user, PASSWORD)


def test_a_nul_in_the_email_or_password_is_refused_like_a_wrong_one(
    client: TestClient, admin_user: str
) -> None:
    for email, password in (("ada\x00@example.com", PASSWORD), (admin_user, "pass\x00word!!")):
        form = client.get("/console/sign-in")
        answer = client.post(
            "/console/sign-in",
            data={"csrf": csrf_of(form.text), "email": email, "password": password},
        )
        assert answer.status_code == 400, answer.text
        assert errors_on(answer.text)[0].startswith(REFUSED)
    sign_in(client, admin_user)


def test_twenty_failures_from_one_address_lock_it_out_whichever_emails_they_tried(
    client: TestClient, admin_user: str, clock: Clock
) -> None:
    for number in range(20):
        assert _attempt(client, f"someone{number}@example.com", "a guess!!!") == 400
    form = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(form.text), "email": admin_user, "password": PASSWORD},
    )
    assert answer.status_code == 429
    assert errors_on(answer.text)[0].startswith(REFUSED)
    clock.advance(timedelta(minutes=16))
    assert _attempt(client, admin_user, PASSWORD) == 303


def test_a_crafted_link_cannot_show_words_as_the_consoles_own_notice(
    client: TestClient, admin_user: str
) -> None:
    sign_in(client, admin_user)
    for path in (
        "/console/customers?userId=7001&done=Your+account+is+suspended&sig=0",
        "/console/customers?userId=7001&done=Your+account+is+suspended",
        "/console/webhooks?retried=42&sig=deadbeef",
    ):
        page = client.get(path)
        assert page.status_code == 200, page.text
        assert 'role="status"' not in page.text, path


def test_a_targets_expression_and_value_are_tuned_from_the_group_page_through_the_put(
    client: TestClient, org: OrgCredentials, admin_user: str
) -> None:
    group = client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth).json()["data"]
    target = group["targets"][0]
    csrf = sign_in(client, admin_user)
    page = client.get(f"/console/groups/{group['id']}").text
    assert 'name="targets[0].expression"' in page and 'name="targets[0].defaultValue"' in page
    assert 'value="1000"' in page  # the value the running period asks, as typed
    form = {
        "csrf": csrf,
        "name": group["name"],
        "active": "on",
        "targets[0].name": target["name"],
        "targets[0].active": "on",
        "targets[0].expression": "currentTxn.value > 500",
        "targets[0].defaultValue": "1500",
    }
    saved = client.post(f"/console/groups/{group['id']}", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    stored = client.get(f"/v3/targetGroups/{group['id']}", auth=org.auth).json()["data"]
    (changed,) = stored["targets"]
    assert changed["expression"] == "currentTxn.value > 500"
    values = {v["periodId"]: v["defaultValue"] for v in changed["defaultValues"]}
    running = [p["id"] for p in stored["periods"] if p["periodStatus"] != "ENDED"]
    assert running and all(values[p] == 1500 for p in running)

    refused = client.post(
        f"/console/groups/{group['id']}",
        data={**form, "targets[0].expression": "currentTxn.value >"},
    )
    assert refused.status_code == 400
    assert 'id="targets-0-expression-error"' in refused.text
    assert 'value="currentTxn.value &gt;"' in refused.text  # what was typed is kept
    again = client.get(f"/v3/targetGroups/{group['id']}", auth=org.auth).json()["data"]
    assert again["targets"][0]["expression"] == "currentTxn.value > 500"


def test_an_edit_that_leaves_the_shown_value_alone_keeps_each_periods_own_value(
    client: TestClient, org: OrgCredentials, admin_user: str
) -> None:
    group = client.post("/v3/targetGroups", json=monthly_spend(), auth=org.auth).json()["data"]
    target, last = group["targets"][0], group["periods"][-1]["id"]
    later = {"id": target["id"], "defaultValues": [{"periodId": last, "defaultValue": 3000}]}
    put = client.put(f"/v3/targetGroups/{group['id']}", json={"targets": [later]}, auth=org.auth)
    assert put.status_code == 200, put.text
    csrf = sign_in(client, admin_user)
    assert 'value="1000"' in client.get(f"/console/groups/{group['id']}").text
    form = {
        "csrf": csrf,
        "name": "Renamed",
        "active": "on",
        "targets[0].name": target["name"],
        "targets[0].active": "on",
        "targets[0].expression": target["expression"],
        "targets[0].defaultValue": "1000",  # as the page shows it, untouched
    }
    saved = client.post(f"/console/groups/{group['id']}", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    stored = client.get(f"/v3/targetGroups/{group['id']}", auth=org.auth).json()["data"]
    assert stored["name"] == "Renamed"
    values = {v["periodId"]: v["defaultValue"] for v in stored["targets"][0]["defaultValues"]}
    assert values[last] == 3000
