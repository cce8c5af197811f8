"""``milestones import events FILE``: NDJSON and ``.ndjson.gz`` as an operator imports them."""

from __future__ import annotations

import gzip
import threading
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from milestones.cli import app
from milestones.clock import Clock
from milestones.domain.jobs import JobType
from milestones.jobs import JobWorker, wall_clock
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.jobs import JobRepository
from tests.api.test_event_import import USER, achieved, bill, ndjson, spend_group
from tests.conftest import OrgCredentials

runner = CliRunner()


def _run(database: Database, file: Path, org_id: int, *extra: str) -> tuple[int, str]:
    args = ["import", "events", str(file), "--org-id", str(org_id), "--database", database.url]
    result = runner.invoke(app, [*args, *extra])
    return result.exit_code, result.output


def test_a_gzipped_file_is_imported_and_a_second_run_counts_nothing_twice(
    client: TestClient, org: OrgCredentials, database: Database, tmp_path: Path
) -> None:
    spend_group(client, org)
    file = tmp_path / "events.ndjson.gz"
    file.write_bytes(
        gzip.compress(ndjson(*(bill(f"g-{n}", 100, user=USER + n % 2) for n in range(9))))
    )
    code, output = _run(database, file, org.org_id)
    assert code == 0, output
    assert "applied:       9" in output and "lines done:    9 of 9" in output
    assert achieved(database, org.org_id) == {USER: Decimal(500), USER + 1: Decimal(400)}

    code, output = _run(database, file, org.org_id)
    assert code == 0, output
    assert "duplicate:     9" in output
    assert achieved(database, org.org_id) == {USER: Decimal(500), USER + 1: Decimal(400)}


def test_bad_lines_are_listed_by_number_and_exit_1(
    client: TestClient, org: OrgCredentials, database: Database, tmp_path: Path
) -> None:
    spend_group(client, org)
    file = tmp_path / "events.ndjson"
    file.write_bytes(ndjson(bill("b-1", 10), "nope", {"eventId": "b-3"}, bill("b-4", 20)))
    code, output = _run(database, file, org.org_id)
    assert code == 1, output
    assert "line 2: not valid JSON" in output and "line 3:" in output
    assert achieved(database, org.org_id) == {USER: Decimal(30)}


def test_an_interrupted_import_is_resumed_from_its_checkpoint(
    client: TestClient, org: OrgCredentials, database: Database, clock: Clock, tmp_path: Path
) -> None:
    spend_group(client, org)
    file = tmp_path / "events.ndjson"
    file.write_bytes(ndjson(*(bill(f"c-{n}", 1) for n in range(1200))))
    settings = Settings(database_url=database.url)
    worker = JobWorker(database, settings, clock)
    with database.transaction() as connection:
        repository = JobRepository(connection)
        job = repository.create(
            org.org_id,
            JobType.EVENT_IMPORT,
            wall_clock(),
            input_path=str(file),
            host="x",
            total=1200,
        )
        assert repository.claim(job.id, worker.name, wall_clock(), worker.lease)
        claimed = repository.by_id(job.id)
    assert claimed is not None
    stop = threading.Event()
    worker.run_claimed(claimed, stop, on_chunk=lambda *_: stop.set())  # one chunk, then "Ctrl-C"
    assert achieved(database, org.org_id) == {USER: Decimal(500)}

    code, output = _run(database, file, org.org_id, "--resume", str(job.id))
    assert code == 0, output
    assert "applied:       1,200" in output
    assert achieved(database, org.org_id) == {USER: Decimal(1200)}
    with database.transaction(write=False) as connection:
        assert JobRepository(connection).get(org.org_id, job.id).resumed == 1


def test_an_unknown_org_or_job_is_a_fatal_error(
    client: TestClient, org: OrgCredentials, database: Database, tmp_path: Path
) -> None:
    file = tmp_path / "events.ndjson"
    file.write_bytes(ndjson(bill("u-1", 1)))
    code, output = _run(database, file, 999)
    assert code == 2 and "no org 999" in output
    code, output = _run(database, file, org.org_id, "--resume", "42")
    assert code == 2 and "no import job 42" in output
