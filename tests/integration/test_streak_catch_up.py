"""The sweeper of a real ``milestones serve`` catches up after downtime (SPEC §17).

The daily group of ``tests/api/test_streak_sweeper.py``: a customer achieves 09-01..09-03
(a freeze granted). A server runs on 09-03 (nothing to tell), is stopped across three
period ends (09-04, 09-05 and 09-06 at midnight), and restarted with ``MILESTONES_NOW`` on
09-06: exactly one notification per transition (09-04 froze, 09-05 broke the run), however
many sweeps it makes; ``milestones sweep`` run afterwards at the same instant tells nothing.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from milestones.clock import Clock
from milestones.store.database import Database
from tests.api.test_streak_sweeper import DAY, USER, Shop
from tests.conftest import OrgCredentials
from tests.integration.served import serving

SWEEP_EVERY = "0.2"  # seconds: many sweeps in the test's few seconds
WAIT_SECONDS = 30.0


def test_a_server_stopped_across_three_period_ends_tells_each_transition_once_on_restart(
    client: TestClient,
    database: Database,
    utc_org: OrgCredentials,
    clock: Clock,
    tmp_path: Path,
) -> None:
    shop = Shop(client, database, utc_org, clock)
    for day in (1, 2, 3):
        shop.buy(day)

    before = {"MILESTONES_NOW": (DAY[3] + timedelta(hours=13)).isoformat()}
    with serving(database.url, tmp_path, name="before", env=before | _sweeping()) as server:
        time.sleep(1.0)  # several sweeps: 09-03 is achieved, nothing is due
        assert shop.feed() == [], server.tail()

    after = {"MILESTONES_NOW": (DAY[6] + timedelta(hours=12)).isoformat()}
    with serving(database.url, tmp_path, name="after", env=after | _sweeping()) as server:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(shop.feed()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # more sweeps at the same instant: none tells again
        told = shop.told()
        assert told == [("streak.frozen", USER, 4), ("streak.broken", USER, 5)], server.tail()

    assert shop.sweep(DAY[6] + timedelta(hours=12)) == {}
    assert len(shop.feed()) == 2


def _sweeping() -> dict[str, str]:
    return {"MILESTONES_SWEEP_SECONDS": SWEEP_EVERY}
