"""What every ``milestones`` command shares: its ``--database`` option, the migrated database
it opens, and how it fails (a message on standard error, exit code 2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer

from milestones.settings import Settings
from milestones.store.database import Database

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="Database URL (default: MILESTONES_DATABASE_URL or SQLite)"),
]


def command_settings(database: str | None) -> Settings:
    """The settings (``MILESTONES_*``), with the ``--database`` URL when one is given."""
    settings = Settings()
    if database:
        settings.database_url = database
    return settings


@contextmanager
def migrated_database(database: str | None) -> Iterator[Database]:
    """The command's database (``--database``, else the settings'), brought to the newest
    schema, and closed when the command ends."""
    db = Database(command_settings(database).database_url)
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
