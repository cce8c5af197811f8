"""``POST /v3/events/import``: an NDJSON body spooled to disk, then a job applies it (§16)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable

from starlette.concurrency import run_in_threadpool

from milestones.api.events.ndjson import spool
from milestones.api.routing import media_type
from milestones.domain.errors import UnsupportedMediaType
from milestones.domain.jobs import JobType
from milestones.jobs import host_name, spool_folder, wall_clock
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.jobs import JobRepository, StoredJob

NDJSON_TYPES = (
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "text/plain",
    "application/octet-stream",
)


def check_content_type(header: str | None) -> None:
    """NDJSON as is (415 otherwise); a body without ``Content-Type`` is read as NDJSON."""
    if not header:
        return
    kind, charset = media_type(header)
    if kind not in NDJSON_TYPES:
        raise UnsupportedMediaType(
            f"the body must be NDJSON, one event per line (Content-Type: "
            f"application/x-ndjson), not {kind[:60]}",
            "Content-Type",
        )
    if charset is not None and charset not in ("utf-8", "utf8", "us-ascii"):
        raise UnsupportedMediaType(f"NDJSON must be UTF-8, not {charset[:40]}", "Content-Type")


async def start_import(
    database: Database, settings: Settings, org_id: int, body: AsyncIterable[bytes]
) -> StoredJob:
    """Spool the body under the data directory and queue its job."""
    folder = spool_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.ndjson"
    total = await spool(body, path)
    try:
        return await run_in_threadpool(_queue, database, org_id, str(path.resolve()), total)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _queue(database: Database, org_id: int, path: str, total: int) -> StoredJob:
    with database.transaction() as connection:
        return JobRepository(connection).create(
            org_id,
            JobType.EVENT_IMPORT,
            wall_clock(),
            input_path=path,
            host=host_name(),
            total=total,
        )
