"""The FastAPI application: routers, error handlers, and the services they share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from milestones import __version__
from milestones.api import operations, system
from milestones.api.audiences.router import router as audiences_router
from milestones.api.auth import Authenticator
from milestones.api.body_limit import BodyLimit
from milestones.api.console.router import install_console
from milestones.api.customers.router import router as customers_router
from milestones.api.dependencies import EngineContext, ViewContext
from milestones.api.enrolments.router import router as enrolments_router
from milestones.api.errors import install_error_handlers
from milestones.api.events.router import router as events_router
from milestones.api.events.schemas import EventIn
from milestones.api.jobs.backfill import router as backfill_router
from milestones.api.jobs.rebuild import router as rebuild_router
from milestones.api.jobs.router import router as jobs_router
from milestones.api.leaderboards.router import router as leaderboards_router
from milestones.api.notifications.router import router as notifications_router
from milestones.api.observe import Observe
from milestones.api.simulation.router import router as simulation_router
from milestones.api.slashes import TrailingSlash
from milestones.api.streak_care.router import router as streak_care_router
from milestones.api.target_groups.router import router as target_groups_router
from milestones.api.user_view.prepared import ViewCache
from milestones.api.user_view.router import router as user_view_router
from milestones.api.webhooks.router import router as webhooks_router
from milestones.clock import Clock
from milestones.delivery import DeliveryWorker, WorkerThread
from milestones.engine.catalogue import CatalogueCache
from milestones.jobs import JobThread, JobWorker
from milestones.observability import logs
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.reads import Reads
from milestones.sweeper import Sweeper, SweeperThread


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
    catalogues = CatalogueCache()
    logs.configure(settings.log_level, settings.log_format)
    app = FastAPI(
        title="Milestones",
        version=__version__,
        description="Loyalty milestones and streaks, in the shape of Loyalty+ target groups.",
        # A redirect would name the request's Host; TrailingSlash serves such paths instead.
        redirect_slashes=False,
        lifespan=_workers(database, settings, clock, catalogues),
    )
    app.state.settings = settings
    app.state.database = database
    replica = Database(settings.read_database_url) if settings.read_database_url else None
    app.state.reads = Reads(database, replica, max_lag_seconds=settings.read_max_lag_seconds)
    app.state.clock = clock
    app.state.authenticator = Authenticator(database, clock)
    app.state.catalogue_cache = catalogues
    app.state.engine_context = EngineContext(database, clock, catalogues)
    app.state.user_view_cache = ViewCache()
    app.state.view_context = ViewContext(
        database, app.state.reads, clock, catalogues, app.state.user_view_cache
    )
    install_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        by_path={
            "/v3/events/bulk": settings.max_bulk_body_bytes,
            "/enrolments/import": settings.max_import_body_bytes,
            "/v3/events/import": settings.max_event_import_body_bytes,
        },
    )
    app.add_middleware(TrailingSlash)
    app.add_middleware(Observe, database=database)  # outermost: sees every answer
    app.include_router(system.router)
    app.include_router(operations.router)
    app.include_router(target_groups_router)
    app.include_router(events_router)
    app.include_router(enrolments_router)
    app.include_router(audiences_router)
    app.include_router(customers_router)
    app.include_router(user_view_router)
    app.include_router(leaderboards_router)
    app.include_router(notifications_router)
    app.include_router(webhooks_router)
    app.include_router(streak_care_router)
    app.include_router(jobs_router)
    app.include_router(backfill_router)
    app.include_router(rebuild_router)
    app.include_router(simulation_router)
    install_console(app)
    _without_unused_422(app)
    return app


def _workers(
    database: Database, settings: Settings, clock: Clock, catalogues: CatalogueCache
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]] | None:
    """Run a webhook delivery worker, a job worker and a streak sweeper beside the server
    (each when its setting asks for it), for as long as it serves."""
    if not (settings.delivery_worker or settings.job_worker or settings.sweeper):
        return None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        threads: list[WorkerThread | JobThread | SweeperThread] = []
        if settings.delivery_worker:
            threads.append(WorkerThread(DeliveryWorker(database, settings, clock)))
        if settings.job_worker:
            threads.append(JobThread(JobWorker(database, settings, clock, catalogues)))
        if settings.sweeper:
            threads.append(SweeperThread(Sweeper(database), clock, settings.sweep_seconds))
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            for thread in reversed(threads):
                thread.stop()

    return lifespan


def _without_unused_422(app: FastAPI) -> None:
    """Invalid input is answered 400 (SPEC §2), so drop FastAPI's generic 422 from the document."""
    build = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.get("responses", {})
                    responses.pop("422", None)
                    if "requestBody" in operation and "400" in responses:
                        # Every body is checked for its type first (SPEC §2).
                        responses.setdefault("415", _unsupported_type(responses["400"]))
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            # Event bodies are checked one by one in code, so document their model here.
            event_schema = EventIn.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(event_schema.pop("$defs", {}))
            components["EventIn"] = event_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _unsupported_type(invalid: dict[str, Any]) -> dict[str, Any]:
    return {**invalid, "description": "The body is not of the type the operation reads (300015)"}
