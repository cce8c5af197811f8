"""``milestones serve --no-jobs`` runs no job worker: an import waits for a server that does."""

from __future__ import annotations

import time
from pathlib import Path

from tests.integration.test_concurrency import Server, api, prepare_database, read_json
from tests.integration.test_import_crash import JOB_ENV, job_of, wait_for

BODY = b"".join(
    b'{"eventId": "f-%d", "eventName": "TransactionAdd", "userId": 7, '
    b'"eventTime": "2024-08-20T10:00:00.000Z", '
    b'"transaction": {"billNumber": "f", "billAmount": 10}}\n' % n
    for n in range(5)
)


def test_an_import_waits_queued_under_no_jobs_and_runs_once_a_server_with_jobs_starts(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'milestones.db'}"
    prepare_database(url)
    env = {**JOB_ENV, "MILESTONES_DATA_DIR": str(tmp_path / "data")}
    server = Server(url, tmp_path / "server.log", workers=1, options=["--no-jobs"], env=env)
    try:
        server.start()
        with api(server) as client:
            response = client.post(
                "/v3/events/import", content=BODY, headers={"content-type": "application/x-ndjson"}
            )
            assert response.status_code == 202, response.text
            job_id = read_json(response)["data"]["id"]
            time.sleep(1.5)  # several of a worker's polls (0.2 s here)
            assert job_of(client, job_id)["status"] == "QUEUED"
        server.stop()
        server.options = []
        server.start()
        with api(server) as client:
            job = wait_for(client, job_id, lambda job: job["status"] == "DONE", 30)
        assert job["counts"] == {"NO_MATCH": 5}  # the org has no group
        assert job["resumed"] == 0
    finally:
        server.stop()
