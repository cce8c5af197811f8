"""The FastAPI application: routers, error handlers, and the services they share."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from milestones import __version__
from milestones.api import system
from milestones.api.auth import Authenticator
from milestones.api.errors import install_error_handlers
from milestones.api.target_groups.router import router as target_groups_router
from milestones.clock import Clock
from milestones.settings import Settings
from milestones.store.database import Database


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the app; tests pass their own database and clock."""
    settings = settings or Settings()
    database = database or Database(settings.database_url)
    clock = clock or Clock(settings.now)
    logging.basicConfig(level=settings.log_level.upper())
    app = FastAPI(
        title="Milestones",
        version=__version__,
        description="Loyalty milestones and streaks, in the shape of Loyalty+ target groups.",
        max_body_size=settings.max_body_bytes,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock
    app.state.authenticator = Authenticator(database, clock)
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(target_groups_router)
    return app
