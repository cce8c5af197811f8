"""Shared fixtures: a real database (SQLite and PostgreSQL), a pinned clock, the app, an org."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from milestones import admin
from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.tables import metadata

POSTGRES_URL = os.environ.get("MILESTONES_TEST_POSTGRES_URL")
ENGINES = ["sqlite", "postgresql"]
START = datetime(2024, 8, 27, 10, 0, tzinfo=UTC)


def pytest_report_header() -> str:
    return f"postgresql: {POSTGRES_URL or 'NOT SET (scripts/test.sh starts one)'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    if not POSTGRES_URL:
        pytest.fail(
            "MILESTONES_TEST_POSTGRES_URL is not set: run the tests with `make test`, "
            "which starts a throwaway PostgreSQL"
        )
    url = _worker_database(POSTGRES_URL)
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    database.migrate()
    database.dispose()
    return url


def _worker_database(url: str) -> str:
    """The server's database for this test process: under pytest-xdist (``-n``), each
    worker gets its own (made here, empty), since each test truncates every table."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin_url = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=ENGINES)
def database(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Database]:
    """A migrated, empty database: a fresh SQLite file, or the PostgreSQL one truncated."""
    if request.param == "sqlite":
        path = tmp_path / "milestones.db"
        shutil.copy(sqlite_template, path)
        db = Database(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("postgres_migrated")
        db = Database(url)
        tables = ", ".join(table.name for table in metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield db
    db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def client(database: Database, clock: Clock) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database.url), database=database, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class OrgCredentials:
    org_id: int
    client_id: str
    client_secret: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.client_id, self.client_secret)


def make_org(
    database: Database, clock: Clock, org_id: int, zone: str = "Asia/Kolkata"
) -> OrgCredentials:
    credentials = admin.create_org(
        database,
        clock,
        org_id=org_id,
        name=f"Org {org_id}",
        time_zone=zone,
        client_id=f"client-{org_id}",
        client_secret=f"secret-{org_id}",
    )
    return OrgCredentials(credentials.org_id, credentials.client_id, credentials.client_secret)


@pytest.fixture
def org(database: Database, clock: Clock) -> OrgCredentials:
    """Org 50363 in Asia/Kolkata, as in the seeds, with one API client."""
    return make_org(database, clock, 50363)


@pytest.fixture
def utc_org(database: Database, clock: Clock) -> OrgCredentials:
    """An org on UTC, for the seeds whose dates are written in UTC."""
    return make_org(database, clock, 4000110, "UTC")
