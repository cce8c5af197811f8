"""The one settings object, read from ``MILESTONES_*`` environment variables at the edges."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE = Path("var") / "milestones.db"


class Settings(BaseSettings):
    """Configuration of one running service; nothing needs a config file."""

    model_config = SettingsConfigDict(env_prefix="MILESTONES_", extra="ignore")

    database_url: str = f"sqlite:///{DEFAULT_DATABASE}"
    now: datetime | None = None
    token_ttl_seconds: int = 3600
    max_body_bytes: int = 2 * 1024 * 1024
    max_bulk_body_bytes: int = 16 * 1024 * 1024
    max_import_body_bytes: int = 512 * 1024 * 1024
    # A bulk call is applied in chunks of at most this many events, sized so a chunk
    # makes about this many side effects (the memory a call holds at once).
    bulk_chunk_events: int = 250
    bulk_chunk_side_effects: int = 5_000
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"
    # A streaming replica for the user view and leaderboards (SPEC §19), used while it is
    # no further behind the primary than this; else, and when it is down, the primary.
    read_database_url: str | None = None
    read_max_lag_seconds: float = Field(default=5.0, ge=0)
    metrics_token: str | None = None  # when set, /metrics needs Authorization: Bearer <it>
    # Notifications and webhooks (SPEC §15). ``milestones serve`` runs a delivery worker
    # (``delivery_worker``); ``milestones deliver`` runs one alone.
    delivery_worker: bool = False
    webhook_retry_seconds: float = Field(default=5.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_concurrency: int = Field(default=8, ge=1)  # attempts in flight per subscription
    delivery_poll_seconds: float = Field(default=0.2, gt=0)
    notification_retention_days: int = Field(default=30, ge=1)
    # Jobs (SPEC §16). ``milestones serve`` runs a job worker (``job_worker``). An event
    # import's body is spooled under ``data_dir``; its job applies ``import_chunk_lines``
    # lines per transaction and checkpoint, under a lease renewed at each one.
    data_dir: Path = Path("var")
    job_worker: bool = False
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_poll_seconds: float = Field(default=1.0, gt=0)
    import_chunk_lines: int = Field(default=500, ge=1, le=10_000)
    # A simulation (SPEC §16) over at most this many stored events is answered at once;
    # over more, it runs as a SIMULATION job.
    simulation_sync_events: int = Field(default=20_000, ge=0)
    max_event_import_body_bytes: int = 4 * 1024 * 1024 * 1024
    # The streak sweeper (SPEC §17): ``milestones serve`` runs one (``sweeper``) that sweeps
    # every ``sweep_seconds``; ``milestones sweep`` sweeps once.
    sweeper: bool = False
    sweep_seconds: float = Field(default=60.0, gt=0)
