"""A request's plumbing as typed dependencies: the database, the clock, settings, caches.

:func:`milestones.api.app.create_app` builds these once and keeps them on ``app.state``;
the functions here are the only readers of it (the authenticator's is in
:mod:`milestones.api.auth`, next to its class). A router names what it needs by type::

    def get_customer(userId: UserId, database: AppDatabase, clock: AppClock) -> ...

They take nothing but the request, so they add nothing to the OpenAPI document, and
they are ``async`` so that FastAPI calls them in the event loop, not in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from milestones.api.user_view.prepared import ViewCache
from milestones.clock import Clock
from milestones.engine.catalogue import CatalogueCache
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.reads import Reads


async def database(request: Request) -> Database:
    """The app's database (its connection pool); a handler opens one transaction on it."""
    found: Database = request.app.state.database
    return found


async def clock(request: Request) -> Clock:
    """The app's clock: the system's, or one pinned by tests and ``MILESTONES_NOW``."""
    found: Clock = request.app.state.clock
    return found


async def settings(request: Request) -> Settings:
    """The app's one settings object (``MILESTONES_*``), as it was built or set by tests."""
    found: Settings = request.app.state.settings
    return found


async def catalogue_cache(request: Request) -> CatalogueCache:
    """One catalogue of target groups per org, shared by event ingestion and the user view."""
    found: CatalogueCache = request.app.state.catalogue_cache
    return found


async def user_view_cache(request: Request) -> ViewCache:
    """The user view's prepared catalogues and the API clients it has read."""
    found: ViewCache = request.app.state.user_view_cache
    return found


async def reads(request: Request) -> Reads:
    """Where the user view and leaderboards read: the replica when fit, else the primary."""
    found: Reads = request.app.state.reads
    return found


@dataclass(frozen=True, slots=True)
class EngineContext:
    """What an event route hands the engine: the database, the clock, the catalogues.

    One dependency rather than three: a one-event call is short, and FastAPI's solving
    of each dependency is a share of it."""

    database: Database
    clock: Clock
    catalogues: CatalogueCache


async def engine_context(request: Request) -> EngineContext:
    """The app's database, clock and catalogue cache, for the event routes."""
    found: EngineContext = request.app.state.engine_context
    return found


@dataclass(frozen=True, slots=True)
class ViewContext:
    """What the user view reads with: the primary (for the data scope), the reads (the
    replica when fit), the clock, the catalogues and the view's own cache. One dependency
    for the same reason as :class:`EngineContext`."""

    database: Database
    reads: Reads
    clock: Clock
    catalogues: CatalogueCache
    views: ViewCache


async def view_context(request: Request) -> ViewContext:
    """The app's database, reads, clock and caches, for the user view."""
    found: ViewContext = request.app.state.view_context
    return found


AppDatabase = Annotated[Database, Depends(database)]
AppEngine = Annotated[EngineContext, Depends(engine_context)]
AppView = Annotated[ViewContext, Depends(view_context)]
AppReads = Annotated[Reads, Depends(reads)]
AppClock = Annotated[Clock, Depends(clock)]
AppSettings = Annotated[Settings, Depends(settings)]
AppCatalogueCache = Annotated[CatalogueCache, Depends(catalogue_cache)]
AppViewCache = Annotated[ViewCache, Depends(user_view_cache)]
