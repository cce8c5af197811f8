"""Console users (SPEC §18): roles and what each may do, email and password rules, lockout.

Pure rules, no storage. Who may change groups is answered here and nowhere else; the
console's pages ask it to show a button and its handlers ask it again before acting.

>>> Role.SUPPORT.may_change_groups, Role.SUPPORT.may_care_for_streaks
(False, True)
>>> normal_email("  Alice@Example.COM ")
'alice@example.com'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from milestones.domain.errors import InvalidInput

MAX_EMAIL = 254
MIN_PASSWORD = 10
MAX_PASSWORD = 256
# Sign-in failures: this many within the window lock the email for the lockout.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
# And from one address, whichever emails it tries: this many failures within the window
# lock the address out of signing in for as long (a few guesses at many emails each).
ADDRESS_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=15)
# A session lasts while used (idle at most IDLE), and never longer than LIFETIME.
SESSION_IDLE = timedelta(hours=2)
SESSION_LIFETIME = timedelta(hours=12)
# How stale a session's last use may get before a request writes it again.
SESSION_TOUCH = timedelta(minutes=5)

# Something@something.something, no spaces or angle brackets: enough to catch a typo; the
# address is only ever a sign-in name, never written to.
_EMAIL = re.compile(r"[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+")


class Role(StrEnum):
    """A console user's role."""

    ADMIN = "ADMIN"
    MARKETER = "MARKETER"
    SUPPORT = "SUPPORT"

    @property
    def may_change_groups(self) -> bool:
        """Create target groups and change them (the edits PUT allows)."""
        return self in (Role.ADMIN, Role.MARKETER)

    @property
    def may_care_for_streaks(self) -> bool:
        """Grant streak freezes and repair missed periods: every role, support's job."""
        return True

    @property
    def may_retry_deliveries(self) -> bool:
        """Send a webhook delivery again."""
        return True


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A person who signs in to the console of one org."""

    id: int
    org_id: int
    email: str
    role: Role
    api_client_id: int  # the "who" of what they change (attribution), an unusable client
    disabled: bool


def normal_email(email: str) -> str:
    """The sign-in name: trimmed and lower-cased."""
    return email.strip().lower()


def checked_email(email: str) -> str:
    """``email`` as stored, or :class:`InvalidInput`."""
    normal = normal_email(email)
    if len(normal) > MAX_EMAIL:
        raise InvalidInput(f"an email has at most {MAX_EMAIL} characters", "email")
    if not _EMAIL.fullmatch(normal):
        raise InvalidInput("not an email address (name@example.com)", "email")
    return normal


def checked_password(password: str) -> str:
    """A password long enough to be worth hashing slowly, or :class:`InvalidInput`."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD} characters", "password")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD} characters", "password")
    if "\x00" in password:
        raise InvalidInput("a password may not contain NUL characters", "password")
    return password


def checked_role(role: str) -> Role:
    try:
        return Role(role.strip().upper())
    except ValueError:
        raise InvalidInput(
            f"role must be one of {', '.join(r.value for r in Role)}", "role"
        ) from None


@dataclass(frozen=True, slots=True)
class Failures:
    """Recent failed sign-ins of one email: how many since ``since``, locked until when."""

    count: int
    since: datetime
    locked_until: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: datetime) -> Failures:
        """The record once another failure at ``now`` is counted.

        >>> t = datetime(2024, 1, 1, tzinfo=UTC)
        >>> f = NO_FAILURES
        >>> for _ in range(MAX_FAILURES):
        ...     f = f.after_failure(t)
        >>> f.locked(t), f.locked(t + LOCKOUT)
        (True, False)
        """
        if self.count == 0 or now - self.since > FAILURE_WINDOW:
            count, since = 1, now
        else:
            count, since = self.count + 1, self.since
        locked_until = now + LOCKOUT if count >= MAX_FAILURES else self.locked_until
        if locked_until is not None and count >= MAX_FAILURES:
            count, since = 0, now  # the lockout starts a fresh count once it ends
        return Failures(count, since, locked_until)


NO_FAILURES = Failures(0, datetime.min.replace(tzinfo=UTC), None)


def session_expiry(created_at: datetime, now: datetime) -> datetime:
    """When a session used at ``now`` ends: idle time, capped by its whole lifetime."""
    return min(now + SESSION_IDLE, created_at + SESSION_LIFETIME)
