"""Org administration used by the CLI: create orgs and clients, connect orgs, change settings,
and the console's users."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from milestones.clock import Clock
from milestones.credentials import hash_password, hash_secret, new_secret, unusable_secret_hash
from milestones.domain.console import (
    ConsoleUser,
    checked_email,
    checked_password,
    checked_role,
    normal_email,
)
from milestones.domain.errors import InvalidInput, NameTaken, NotFound
from milestones.domain.orgs import Org
from milestones.store.console_users import ConsoleUserRepository
from milestones.store.database import Database
from milestones.store.orgs import OrgRepository


@dataclass(frozen=True)
class Credentials:
    org_id: int
    client_id: str
    client_secret: str


def create_org(
    database: Database,
    clock: Clock,
    *,
    org_id: int,
    name: str,
    time_zone: str,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> Credentials:
    """Create an org and its first API client; returns the credentials (the secret only here)."""
    _check_zone(time_zone)
    if org_id < 1:
        raise InvalidInput("org ids are positive integers", "org_id")
    client_id = client_id or f"org{org_id}-client"
    client_secret = client_secret or new_secret()
    with database.transaction() as connection:
        repository = OrgRepository(connection)
        if repository.get_org(org_id) is not None:
            raise NameTaken(f"org {org_id} exists already", "org_id")
        if repository.client_exists(client_id):
            raise NameTaken(f"client id {client_id} exists already", "client_id")
        now = clock.now()
        repository.add_org(Org(id=org_id, name=name, time_zone=time_zone), now)
        repository.add_client(org_id, client_id, hash_secret(client_secret), client_id, now)
    return Credentials(org_id, client_id, client_secret)


def add_client(
    database: Database,
    clock: Clock,
    *,
    org_id: int,
    client_id: str,
    client_secret: str | None = None,
) -> Credentials:
    """Add another API client to an org."""
    client_secret = client_secret or new_secret()
    with database.transaction() as connection:
        repository = OrgRepository(connection)
        if repository.get_org(org_id) is None:
            raise NotFound(f"no org {org_id}")
        if repository.client_exists(client_id):
            raise NameTaken(f"client id {client_id} exists already", "client_id")
        repository.add_client(org_id, client_id, hash_secret(client_secret), client_id, clock.now())
    return Credentials(org_id, client_id, client_secret)


def connect_orgs(database: Database, parent: int, child: int) -> None:
    """Connect two orgs for data-scope reads."""
    if parent == child:
        raise InvalidInput("an org cannot be connected to itself")
    with database.transaction() as connection:
        repository = OrgRepository(connection)
        for org_id in (parent, child):
            if repository.get_org(org_id) is None:
                raise NotFound(f"no org {org_id}")
        repository.connect(parent, child)


def set_org(
    database: Database,
    org_id: int,
    *,
    retro_buffer_days: int | None = None,
    revoke_on_return: bool | None = None,
    leaderboards_enabled: bool | None = None,
    time_zone: str | None = None,
) -> Org:
    """Change an org's settings; returns the org as it now is."""
    if retro_buffer_days is not None and not 0 <= retro_buffer_days <= 365:
        raise InvalidInput("retro buffer days must be 0 to 365", "retro_buffer_days")
    if time_zone is not None:
        _check_zone(time_zone)
    with database.transaction() as connection:
        repository = OrgRepository(connection)
        if repository.get_org(org_id) is None:
            raise NotFound(f"no org {org_id}")
        repository.update_settings(
            org_id,
            retro_buffer_days=retro_buffer_days,
            revoke_on_return=revoke_on_return,
            leaderboards_enabled=leaderboards_enabled,
            time_zone=time_zone,
        )
        org = repository.get_org(org_id)
    assert org is not None
    return org


def _check_zone(time_zone: str) -> None:
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"'{time_zone}' is not an IANA time zone", "timezone") from exc


def create_console_user(
    database: Database, clock: Clock, *, org_id: int, email: str, role: str, password: str
) -> ConsoleUser:
    """A console user of an org (SPEC §18), with an API client of their own that no secret
    opens: what they change is attributed to it, named by their email."""
    email = checked_email(email)
    checked = checked_role(role)
    password_hash = hash_password(checked_password(password))
    with database.transaction() as connection:
        orgs = OrgRepository(connection)
        users = ConsoleUserRepository(connection)
        if orgs.get_org(org_id) is None:
            raise NotFound(f"no org {org_id}", "org_id")
        if users.email_taken(email):
            raise NameTaken(f"a console user {email} exists already", "email")
        now = clock.now()
        client_id = f"console-{secrets.token_hex(8)}"
        api_client = orgs.add_client(org_id, client_id, unusable_secret_hash(), email[:200], now)
        user_id = users.add(org_id, email, checked, password_hash, api_client, now)
    return ConsoleUser(user_id, org_id, email, checked, api_client, disabled=False)


def console_users_of(database: Database, org_id: int) -> list[ConsoleUser]:
    """An org's console users, by email."""
    with database.transaction(write=False) as connection:
        if OrgRepository(connection).get_org(org_id) is None:
            raise NotFound(f"no org {org_id}", "org_id")
        return ConsoleUserRepository(connection).of_org(org_id)


def disable_console_user(database: Database, clock: Clock, email: str) -> ConsoleUser:
    """Disable a console user: no sign-in any more, and their sessions end at once."""
    with database.transaction() as connection:
        user = ConsoleUserRepository(connection).disable(normal_email(email), clock.now())
    if user is None:
        raise NotFound(f"no console user {normal_email(email)[:254]}", "email")
    return user
