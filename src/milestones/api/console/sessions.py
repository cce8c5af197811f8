"""Console sign-in: sessions in a cookie, a CSRF token on every form, the lockout.

A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure over https); the
database keeps only its SHA-256 (``console_sessions``). Every form carries a CSRF token,
an HMAC of the session token, so it is checked without being stored; the sign-in form,
before any session, carries a random one that must equal its own cookie's (double submit).
Failed sign-ins are counted per email, known or not, and answered in the same words.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from milestones.api.dependencies import AppClock, AppDatabase
from milestones.credentials import token_digest, verify_password
from milestones.domain.console import (
    FAILURE_WINDOW,
    LOCKOUT,
    SESSION_TOUCH,
    ConsoleUser,
    normal_email,
    session_expiry,
)
from milestones.domain.orgs import ApiClient, Caller
from milestones.store.console_users import ConsoleUserRepository
from milestones.store.database import Database
from milestones.store.orgs import OrgRepository

SESSION_COOKIE = "milestones_console"
SIGN_IN_COOKIE = "milestones_console_sign_in"
PATH = "/console"
REFUSED = "Wrong email or password, or too many attempts: wait 15 minutes and try again."


class SignInNeeded(Exception):
    """The request has no live session: answered by a redirect to the sign-in page."""


class CsrfRefused(Exception):
    """A form came without its CSRF token, or with a wrong one: answered 403."""


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in request: who, for which org, as which API client, and its CSRF token."""

    user: ConsoleUser
    caller: Caller
    csrf: str
    token_hash: str

    @property
    def org_id(self) -> int:
        return self.user.org_id


def csrf_of(token: str) -> str:
    """The CSRF token of a session token (an HMAC of it, so nothing more is stored)."""
    return hmac.new(token.encode(), b"milestones console csrf", hashlib.sha256).hexdigest()


def session(request: Request, database: AppDatabase, clock: AppClock) -> ConsoleSession:
    """The request's session, or :class:`SignInNeeded`; a session used after a while is
    kept alive (its idle expiry moved), at most once in :data:`SESSION_TOUCH`."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or len(token) > 100:
        raise SignInNeeded
    token_hash = token_digest(token)
    now = clock.now()
    with database.transaction(write=False) as connection:
        found = ConsoleUserRepository(connection).session(token_hash, now)
        org = None if found is None else OrgRepository(connection).get_org(found.user.org_id)
    if found is None or org is None:
        raise SignInNeeded
    if now - found.last_seen_at > SESSION_TOUCH:
        with database.transaction() as connection:
            ConsoleUserRepository(connection).touch_session(
                token_hash, now, session_expiry(found.created_at, now)
            )
    user = found.user
    client = ApiClient(user.api_client_id, user.org_id, f"console:{user.email}", user.email)
    return ConsoleSession(user, Caller(client=client, org=org), csrf_of(token), token_hash)


Session = Annotated[ConsoleSession, Depends(session)]


def notice_query(session: ConsoleSession, name: str, text: str) -> str:
    """``name=text&sig=...`` for a redirect after an action: the page shows ``text`` as the
    server's own notice only if it was signed for this session (:func:`notice_of`), so a
    link someone else crafted cannot put words in the console's mouth."""
    return f"{name}={quote(text)}&sig={_notice_sig(session, text)}"


def notice_of(request: Request, session: ConsoleSession, name: str) -> str:
    """The notice :func:`notice_query` signed, or "" (missing, or not signed for us)."""
    text = request.query_params.get(name, "")[:200]
    given = request.query_params.get("sig", "")
    if not text or not hmac.compare_digest(given.encode(), _notice_sig(session, text).encode()):
        return ""
    return text


def _notice_sig(session: ConsoleSession, text: str) -> str:
    message = b"milestones console notice\x00" + text.encode("utf-8", "surrogatepass")
    return hmac.new(session.csrf.encode(), message, hashlib.sha256).hexdigest()[:32]


async def check_csrf(request: Request, expected: str) -> dict[str, str]:
    """The form's fields, once its ``csrf`` field matches ``expected``; else refused."""
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    given = fields.get("csrf", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused
    return fields


def sign_in_csrf(request: Request) -> str:
    """The sign-in form's token: the one its cookie holds, or a new one to set."""
    existing = request.cookies.get(SIGN_IN_COOKIE, "")
    return existing if 20 <= len(existing) <= 100 else secrets.token_urlsafe(24)


class SignInBusy(Exception):
    """More sign-ins are being checked than the server lets run at once."""


# Each password check takes 64 MiB for a moment (argon2id, docs/console.md): at most this
# many at once, so a flood of sign-ins cannot take a worker's memory; the others wait
# up to _HASH_WAIT seconds, then are told to try again.
_HASHES = threading.BoundedSemaphore(2)
_HASH_WAIT = 10.0


def sign_in(database: Database, now: datetime, email: str, password: str) -> str | None:
    """A new session token for the right email and password, or None (say :data:`REFUSED`).

    The attempt is counted as a failure before the password is checked (and the count
    cleared once it is right), so attempts sent at once cannot all be checked against one
    count. The argon2 check runs for an unknown email too, and a locked email is refused
    after it, so neither the time taken nor the words tell which emails exist.
    """
    if "\x00" in email or "\x00" in password:
        return None  # no email holds one; no database is asked about it
    address = normal_email(email)[:254]
    email_hash = hashlib.sha256(address.encode()).hexdigest()
    with database.transaction() as connection:
        users = ConsoleUserRepository(connection)
        before = users.count_attempt(email_hash, now, now - FAILURE_WINDOW - LOCKOUT)
        found = users.with_password(address)
    if not _HASHES.acquire(timeout=_HASH_WAIT):
        raise SignInBusy
    try:
        verified = verify_password(password[:256], found[1] if found else None)
    finally:
        _HASHES.release()
    user = found[0] if found else None
    if before.locked(now) or not verified or user is None or user.disabled:
        return None
    token = secrets.token_urlsafe(32)
    with database.transaction() as connection:
        users = ConsoleUserRepository(connection)
        users.clear_failures(email_hash)
        users.open_session(token_digest(token), user.id, now, session_expiry(now, now))
    return token


def sign_out(database: Database, token_hash: str) -> None:
    with database.transaction() as connection:
        ConsoleUserRepository(connection).close_session(token_hash)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """A console cookie: HttpOnly, SameSite=Lax, Secure when the request came over https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
