"""Signing in to the console through the real app, for the console's tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database

PASSWORD = "a long enough password"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def make_user(database: Database, clock: Clock, org_id: int, email: str, role: str) -> str:
    admin.create_console_user(
        database, clock, org_id=org_id, email=email, role=role, password=PASSWORD
    )
    return email


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in; returns the CSRF token of the signed-in pages."""
    form = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(form.text), "email": email, "password": password},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/console/groups").text)


def errors_on(page: str) -> list[str]:
    """The error messages a page shows."""
    return [
        re.sub(r"\s+", " ", text).strip()
        for text in re.findall(r'class="error"[^>]*>(.*?)</p>', page, re.S)
    ]
