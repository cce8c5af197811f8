"""A bulk call still running when a stopping server's deadline passes is not applied.

SIGTERM gives requests in flight ``--shutdown-seconds``; here 0, so the call in flight is
given up on at once. Its handler's thread may still be working; its transaction must not
commit. The caller gets a 503 in the envelope (300505, "nothing of it was applied"), or no
answer at all; either way, sent again to the restarted server, every event is APPLIED
(none was stored), and the totals are exact.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import START
from tests.integration.served import Served, api
from tests.integration.test_concurrency import (
    create_group,
    fresh_postgres_database,
    post_json,
    prepare_database,
    purchase,
    read_json,
)
from tests.receiver import HANG, Receiver

# Each event reaches every group's target: a call that takes a while. At 40 groups a fast
# machine could commit the call within the 0.3 s before SIGTERM (the answer then lost in
# the stop), which is not the case under test; 100 keep it well past the signal.
GROUPS = 100
EVENTS = 1000
CUSTOMERS = range(5001, 5051)


def _events() -> list[dict[str, Any]]:
    return [
        purchase(
            f"d-{n}",
            CUSTOMERS[n % len(CUSTOMERS)],
            Decimal(n % 997 + 1),
            START - timedelta(hours=1, seconds=n),
        )
        for n in range(EVENTS)
    ]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_bulk_call_cut_off_by_the_shutdown_deadline_is_answered_503_and_not_applied(
    engine: str, tmp_path: Path
) -> None:
    if engine == "sqlite":
        url = f"sqlite:///{tmp_path / 'deadline.db'}"
        _run(url, tmp_path)
    else:
        with fresh_postgres_database("milestones_deadline") as url:
            _run(url, tmp_path)


def _run(url: str, tmp_path: Path) -> None:
    with Receiver() as receiver:
        _run_with(url, tmp_path, receiver)


def _run_with(url: str, tmp_path: Path, receiver: Receiver) -> None:
    prepare_database(url)
    first = Served(url, tmp_path, name="first", shutdown_seconds=0)
    second = Served(url, tmp_path, name="second", env={"MILESTONES_DELIVERY_WORKER": "false"})
    events = _events()
    try:
        first.start()
        with api(first) as client:
            spend = {"name": "spend", "targetEntity": "TRANSACTION", "targetType": "SALES"}
            for n in range(GROUPS):
                create_group(client, f"Spend {n}", [{**spend, "defaultValue": 10**9}])
            # A delivery hanging on a dead endpoint keeps the stopping process alive a
            # few seconds after the deadline: time enough for a handler to commit, were
            # it allowed to.
            receiver.plan("/dead", [HANG])
            hook = post_json(client, "/v3/webhooks", {"url": receiver.url("/dead")})
            assert hook.status_code == 201, hook.text
            create_group(client, "Spend one", [{**spend, "defaultValue": 1}])
            first_bill = purchase("d-first", 4999, Decimal(5), START - timedelta(hours=2))
            assert post_json(client, "/v3/events", first_bill).status_code == 200
            receiver.wait_for("/dead", 1)
        answer: dict[str, Any] = {}

        def call() -> None:
            with api(first) as client:
                try:
                    response = post_json(client, "/v3/events/bulk", {"events": events})
                    answer["status"] = response.status_code
                    answer["body"] = response.text
                except httpx.HTTPError as error:
                    answer["error"] = repr(error)

        sender = threading.Thread(target=call)
        sender.start()
        time.sleep(0.3)
        assert sender.is_alive(), "the call ended before SIGTERM: too fast to test"
        code = first.terminate(timeout=60)
        sender.join(timeout=60)
        assert code in (0, -signal.SIGTERM), code
        if "status" in answer:
            assert answer["status"] == 503, answer
            body = json.loads(answer["body"])
            assert body["data"] is None
            assert [e["code"] for e in body["errors"]] == [300505], body

        second.start()
        with api(second) as client:
            again = post_json(client, "/v3/events/bulk", {"events": events})
            assert again.status_code == 200, again.text
            statuses = {r["status"] for r in read_json(again)["data"]["results"]}
            assert statuses == {"APPLIED"}, "some events of the cut-off call had been stored"
            view = client.get(f"/v3.1/users/{CUSTOMERS[0]}/targetGroups")
            assert view.status_code == 200, view.text
            groups = json.loads(view.text, parse_float=Decimal)["data"]["targetGroups"]
            expected = sum(
                (e["transaction"]["billAmount"] for e in events if e["userId"] == CUSTOMERS[0]),
                Decimal(0),
            )
            values = {
                t["targetAchievedValue"]
                for g in groups
                for t in g["targets"]
                if g["name"] != "Spend one"
            }
            assert values == {expected}, (values, expected)
    finally:
        first.close()
        second.close()
