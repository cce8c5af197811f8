"""The sweeper's shortcuts tell exactly what walking everyone over every period tells.

``Sweeper`` skips customers who cannot be told anything and walks only the periods a walk
needs (``_Plan`` in ``sweeper.py``); ``Sweeper(exhaustive=True)`` walks every customer
over every period. Two databases get the same random history (bills of 20 customers over
the ten days of the daily group of ``tests/api/test_streak_sweeper.py``, some freezes
granted and some periods repaired by support), live, with sweeps every few hours in
between, one database swept each way: the feeds must be the same, notification by
notification. SQLite only: the shortcuts are arithmetic, the same on both databases.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from milestones.api.app import create_app
from milestones.clock import Clock
from milestones.settings import Settings
from milestones.store.database import Database
from milestones.store.streak_care import StreakCareRepository
from milestones.sweeper import Sweeper
from tests.api.test_streak_sweeper import DAY, Shop
from tests.conftest import OrgCredentials, make_org

CUSTOMERS = range(9001, 9021)
SWEEP_EVERY = timedelta(hours=3)


class Twin:
    """A database, its app and its shop; all twins share one clock."""

    def __init__(self, path: Path, template: Path, clock: Clock) -> None:
        shutil.copy(template, path)
        self.database = Database(f"sqlite:///{path}")
        app = create_app(
            Settings(database_url=self.database.url), database=self.database, clock=clock
        )
        self.client = TestClient(app, raise_server_exceptions=False)
        self.client.__enter__()
        self.org: OrgCredentials = make_org(self.database, clock, 4000110, "UTC")
        self.shop = Shop(self.client, self.database, self.org, clock)

    def act(self, moment: Moment) -> None:
        if moment.what == "buy":
            self.shop.buy(moment.at.day, moment.at.hour, moment.user, moment.amount)
            return
        self.shop.clock.set(moment.at)
        group_id = self.shop.group["id"]
        with self.database.transaction() as connection:
            care = StreakCareRepository(connection)
            org_id = self.org.org_id
            if moment.what == "grant":
                care.grant(org_id, group_id, moment.user, 1, moment.at, "support")
            else:
                day = self.shop.period_ids[moment.at.day - 1]
                care.repair(org_id, group_id, moment.user, day, moment.at, "support")

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.database.dispose()


@pytest.fixture
def twins(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Twin, Twin]]:
    clock = Clock(DAY[1])
    pair = (
        Twin(tmp_path / "short.db", sqlite_template, clock),
        Twin(tmp_path / "whole.db", sqlite_template, clock),
    )
    yield pair
    for twin in pair:
        twin.close()


@dataclass(frozen=True)
class Moment:
    """Something that happens to a customer: a bill (``amount``), a freeze granted by
    support, or a repair of the day before."""

    at: datetime
    user: int
    what: str  # "buy", "grant", "repair"
    amount: int = 0


def history(rng: random.Random) -> list[Moment]:
    moments = []
    for day in range(1, 10):
        for user in CUSTOMERS:
            chance = rng.random()
            start = DAY[day]
            if chance < 0.55:
                hour = rng.choice([1, 9, 18, 22])
                moments.append(Moment(start + timedelta(hours=hour), user, "buy", 100))
            elif chance < 0.65:
                moments.append(Moment(start + timedelta(hours=12), user, "buy", 40))
            elif chance < 0.7:
                moments.append(Moment(start + timedelta(hours=15), user, "grant"))
            elif chance < 0.73 and day > 1:
                moments.append(Moment(start + timedelta(hours=16), user, "repair"))
    return sorted(moments, key=lambda moment: moment.at)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_shortcuts_tell_what_walking_everyone_over_every_period_tells(
    twins: tuple[Twin, Twin], seed: int
) -> None:
    short, whole = twins
    sweepers = {
        short: Sweeper(short.database, chunk=7),
        whole: Sweeper(whole.database, exhaustive=True),
    }
    sweep_at = DAY[1] + SWEEP_EVERY

    def sweep_until(instant: datetime) -> None:
        nonlocal sweep_at
        while sweep_at <= instant:
            told = {twin: sweepers[twin].sweep(sweep_at) for twin in twins}
            assert told[short] == told[whole], sweep_at
            sweep_at += SWEEP_EVERY

    for moment in history(random.Random(seed)):
        sweep_until(moment.at)
        for twin in twins:
            twin.act(moment)
    sweep_until(DAY[11] + timedelta(hours=1))
    feeds = [_without_ids(twin.shop.feed()) for twin in twins]
    assert feeds[0] == feeds[1]
    assert {n["type"] for n in feeds[0]} == {"streak.frozen", "streak.broken", "streak.at_risk"}


def _without_ids(feed: list[dict[str, object]]) -> list[dict[str, object]]:
    return [
        {key: value for key, value in item.items() if key not in ("id", "sequence", "createdAt")}
        for item in feed
    ]
