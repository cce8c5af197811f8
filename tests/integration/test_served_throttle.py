"""The served app keys the failed-credentials throttle on the connection's peer (SPEC §2).

A forged ``X-Forwarded-For`` must not give each attempt a new address: ``milestones
serve`` trusts no proxy unless told to (``--trusted-proxies``).
"""

from __future__ import annotations

from pathlib import Path

import httpx
from benchmarks.ingest import running_server

from milestones import admin
from milestones.clock import Clock
from milestones.store.database import Database
from tests.conftest import START


def test_a_forged_forwarded_for_header_does_not_dodge_the_throttle(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    database = Database(url)
    database.migrate()
    admin.create_org(
        database,
        Clock(START),
        org_id=1,
        name="Served",
        time_zone="UTC",
        client_id="served",
        client_secret="right-secret",
    )
    database.dispose()
    with running_server(url, 1, tmp_path / "server.log") as server:
        statuses = [
            httpx.get(
                f"{server.base}/v3/targetGroups",
                auth=("served", "wrong-secret"),
                headers={"X-Forwarded-For": f"203.0.113.{attempt}"},
            ).status_code
            for attempt in range(11)
        ]
    assert statuses == [401] * 10 + [429]
