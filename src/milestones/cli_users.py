"""``milestones user``: the console's users (SPEC §18): create, list, disable."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from milestones import admin
from milestones.cli_common import DatabaseOption, fail, migrated_database
from milestones.clock import Clock
from milestones.domain.console import Role
from milestones.domain.errors import MilestonesError
from milestones.settings import Settings

users_app = typer.Typer(help="The console's users and their roles.", no_args_is_help=True)

_ROLES = "|".join(role.value for role in Role)


def _password(from_stdin: bool) -> str:
    """The password from standard input's first line, or asked twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("create")
def user_create(
    org_id: Annotated[int, typer.Option("--org-id", help="The org whose console they use")],
    email: Annotated[str, typer.Option("--email", help="Their sign-in name")],
    role: Annotated[str, typer.Option("--role", help=_ROLES)],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Create a console user; the password is asked for (or read from standard input)."""
    password = _password(password_stdin)
    with migrated_database(database) as db:
        try:
            user = admin.create_console_user(
                db, Clock(Settings().now), org_id=org_id, email=email, role=role, password=password
            )
        except MilestonesError as error:
            fail(error.message)
    typer.echo(f"created console user {user.email} ({user.role.value}) of org {user.org_id}")


@users_app.command("list")
def user_list(
    org_id: Annotated[int, typer.Option("--org-id")], database: DatabaseOption = None
) -> None:
    """An org's console users: email, role, and whether they are disabled."""
    with migrated_database(database) as db:
        try:
            users = admin.console_users_of(db, org_id)
        except MilestonesError as error:
            fail(error.message)
    if not users:
        typer.echo(f"org {org_id} has no console users: milestones user create --org-id {org_id}")
    for user in users:
        state = "disabled" if user.disabled else "active"
        typer.echo(f"{user.email}\t{user.role.value}\t{state}")


@users_app.command("disable")
def user_disable(
    email: Annotated[str, typer.Option("--email")], database: DatabaseOption = None
) -> None:
    """Disable a console user: their sessions end at once and they cannot sign in."""
    with migrated_database(database) as db:
        try:
            user = admin.disable_console_user(db, Clock(Settings().now), email)
        except MilestonesError as error:
            fail(error.message)
    typer.echo(f"disabled console user {user.email}")
