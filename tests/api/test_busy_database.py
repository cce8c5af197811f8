"""A database that stays locked past the busy timeout is answered 503 in the envelope, not 500."""

from __future__ import annotations

import sqlite3

from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from milestones.api.app import create_app
from milestones.settings import Settings
from milestones.store.database import Database


def _app_raising(database: Database, error: Exception) -> TestClient:
    app = create_app(Settings(database_url=database.url), database=database)

    @app.get("/raise")
    def _raise() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


def test_a_locked_sqlite_database_answers_503_with_retry_after(database: Database) -> None:
    locked = OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
    response = _app_raising(database, locked).get("/raise")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {
        "data": None,
        "errors": [{"code": 300503, "message": "The database is busy; retry the call shortly"}],
        "warnings": [],
    }


def test_another_database_fault_stays_an_unexpected_500_without_details(database: Database) -> None:
    broken = OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error"))
    response = _app_raising(database, broken).get("/raise")
    assert response.status_code == 500
    assert response.json()["errors"] == [
        {"code": 300500, "message": "Unexpected server fault; it has been logged"}
    ]
