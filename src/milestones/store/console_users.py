"""Console users, their sessions and failed sign-ins: all the console's SQL about people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, delete, insert, select, update
from sqlalchemy.dialects import postgresql

from milestones.domain.console import NO_FAILURES, ConsoleUser, Failures, Role
from milestones.store.tables import (
    console_sessions,
    console_sign_in_failures,
    console_users,
)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session and whose it is."""

    user: ConsoleUser
    created_at: datetime
    last_seen_at: datetime


class ConsoleUserRepository:
    """Users, sessions and the lockout's counts."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(
        self,
        org_id: int,
        email: str,
        role: Role,
        password_hash: str,
        api_client_id: int,
        now: datetime,
    ) -> int:
        result = self._db.execute(
            insert(console_users).values(
                org_id=org_id,
                email=email,
                role=role.value,
                password_hash=password_hash,
                api_client_id=api_client_id,
                created_at=now,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def email_taken(self, email: str) -> bool:
        found = self._db.execute(
            select(console_users.c.id).where(console_users.c.email == email)
        ).first()
        return found is not None

    def with_password(self, email: str) -> tuple[ConsoleUser, str] | None:
        """The user signing in as ``email`` (disabled ones too) and their password hash."""
        row = (
            self._db.execute(select(console_users).where(console_users.c.email == email))
            .mappings()
            .first()
        )
        return None if row is None else (_user(row), row["password_hash"])

    def of_org(self, org_id: int) -> list[ConsoleUser]:
        rows = self._db.execute(
            select(console_users)
            .where(console_users.c.org_id == org_id)
            .order_by(console_users.c.email)
        ).mappings()
        return [_user(row) for row in rows]

    def disable(self, email: str, now: datetime) -> ConsoleUser | None:
        """Disable the user and end every session of theirs; None for an unknown email."""
        found = self.with_password(email)
        if found is None:
            return None
        user = found[0]
        self._db.execute(
            update(console_users)
            .where(console_users.c.id == user.id, console_users.c.disabled_at.is_(None))
            .values(disabled_at=now)
        )
        self._db.execute(delete(console_sessions).where(console_sessions.c.user_id == user.id))
        return ConsoleUser(user.id, user.org_id, user.email, user.role, user.api_client_id, True)

    # --- sessions -------------------------------------------------------------------

    def open_session(self, token_hash: str, user_id: int, now: datetime, expires: datetime) -> None:
        self._db.execute(
            delete(console_sessions).where(
                console_sessions.c.user_id == user_id, console_sessions.c.expires_at <= now
            )
        )
        self._db.execute(
            insert(console_sessions).values(
                token_hash=token_hash,
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
            )
        )

    def session(self, token_hash: str, now: datetime) -> SignedIn | None:
        """The session of ``token_hash`` while it runs and its user is enabled."""
        row = (
            self._db.execute(
                select(
                    console_users,
                    console_sessions.c.created_at.label("session_created_at"),
                    console_sessions.c.last_seen_at,
                )
                .join(console_users, console_users.c.id == console_sessions.c.user_id)
                .where(
                    console_sessions.c.token_hash == token_hash,
                    console_sessions.c.expires_at > now,
                    console_users.c.disabled_at.is_(None),
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return SignedIn(_user(row), row["session_created_at"], row["last_seen_at"])

    def touch_session(self, token_hash: str, now: datetime, expires: datetime) -> None:
        self._db.execute(
            update(console_sessions)
            .where(console_sessions.c.token_hash == token_hash)
            .values(last_seen_at=now, expires_at=expires)
        )

    def close_session(self, token_hash: str) -> None:
        self._db.execute(
            delete(console_sessions).where(console_sessions.c.token_hash == token_hash)
        )

    # --- failed sign-ins ------------------------------------------------------------

    def failures(self, email_hash: str) -> Failures | None:
        row = (
            self._db.execute(
                select(console_sign_in_failures).where(
                    console_sign_in_failures.c.email_hash == email_hash
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return Failures(row["failures"], row["since"], row["locked_until"])

    def count_attempt(self, email_hash: str, now: datetime, stale_before: datetime) -> Failures:
        """Count a sign-in attempt as failed before its password is checked; the record as it
        was before it. A locked email's attempt is not counted (the lockout runs its course).

        The row is locked while it is read and written (SQLite: the write transaction's lock;
        PostgreSQL: ``FOR UPDATE``, after an insert that makes sure there is a row to lock),
        so attempts sent at once are counted one after the other, each seeing the last.
        """
        table = console_sign_in_failures
        if self._db.dialect.name == "postgresql":
            self._db.execute(
                postgresql.insert(table)
                .values(email_hash=email_hash, failures=0, since=now, locked_until=None)
                .on_conflict_do_nothing(index_elements=["email_hash"])
            )
        query = select(table).where(table.c.email_hash == email_hash)
        if self._db.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._db.execute(query).mappings().first()
        before = (
            NO_FAILURES
            if row is None or (row["failures"] == 0 and row["locked_until"] is None)
            else Failures(row["failures"], row["since"], row["locked_until"])
        )
        if not before.locked(now):
            self.save_failures(email_hash, before.after_failure(now), stale_before)
        return before

    def save_failures(self, email_hash: str, failures: Failures, stale_before: datetime) -> None:
        """Keep ``failures`` for the email; drop other emails' records that are over."""
        table = console_sign_in_failures
        self._db.execute(
            delete(table).where(
                table.c.email_hash != email_hash,
                table.c.since < stale_before,
                (table.c.locked_until.is_(None)) | (table.c.locked_until < stale_before),
            )
        )
        values = {
            "failures": failures.count,
            "since": failures.since,
            "locked_until": failures.locked_until,
        }
        changed = self._db.execute(
            update(table).where(table.c.email_hash == email_hash).values(**values)
        )
        if changed.rowcount == 0:
            self._db.execute(insert(table).values(email_hash=email_hash, **values))

    def clear_failures(self, email_hash: str) -> None:
        self._db.execute(
            delete(console_sign_in_failures).where(
                console_sign_in_failures.c.email_hash == email_hash
            )
        )


def _user(row: RowMapping) -> ConsoleUser:
    return ConsoleUser(
        id=row["id"],
        org_id=row["org_id"],
        email=row["email"],
        role=Role(row["role"]),
        api_client_id=row["api_client_id"],
        disabled=row["disabled_at"] is not None,
    )
