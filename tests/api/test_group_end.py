"""Where a CYCLIC or AGNOSTIC group's dates end (SPEC §5, docs/decisions.md "The end of a
group's dates").

``targetCycleEndDate`` written as a date, or in the last minute of a local day
(``23:59``, ``23:59:59``, ``23:59:59.999``), covers that whole local day, so an event in
its last second counts; any other instant, a local midnight among them, ends the group
exactly there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from milestones.clock import Clock
from tests.api.test_events_flow import bill, moved, send, spend_group, target
from tests.conftest import OrgCredentials

Json = dict[str, Any]

# Asia/Kolkata (the test org's zone) is UTC+05:30: local 2024-08-26 ends at 18:30Z.
LAST_MS_OF_THE_26TH = "2024-08-26T18:29:59.999Z"
HALF_A_SECOND_BEFORE_MIDNIGHT = "2024-08-26T18:29:59.500Z"
LOCAL_MIDNIGHT = "2024-08-26T18:30:00.000Z"


def group_ending(
    client: TestClient, org: OrgCredentials, end: str, evaluation: str, name: str = "Ends"
) -> Json:
    return spend_group(
        client,
        org,
        target("spend"),
        name=name,
        targetEvaluationType=evaluation,
        frequencyType="DAILY",
        totalPeriods=3,
        targetCycleStartDate="2024-08-20T00:00:00.000",
        targetCycleEndDate=end,
    )


def at(clock: Clock, instant: str) -> None:
    clock.set(datetime.fromisoformat(instant.replace("Z", "+00:00")))


def test_an_agnostic_group_ending_at_235959_counts_an_event_in_that_last_second(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    group_ending(client, org, "2024-08-26T23:59:59.000", "PERIOD_AGNOSTIC_WINDOW")
    at(clock, HALF_A_SECOND_BEFORE_MIDNIGHT)

    data = send(client, org, bill("B-1", 400, at=HALF_A_SECOND_BEFORE_MIDNIGHT))

    assert data["status"] == "APPLIED", data
    [slot] = data["sideEffects"]
    assert moved(slot) == (0, 400, 400)
    assert slot["periodEndDate"] == "2024-08-26"
    assert slot["periodEndDateWithTimeStamp"] == LAST_MS_OF_THE_26TH


def test_an_agnostic_group_ending_at_235959_shows_its_slots_to_the_last_millisecond(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    group = group_ending(client, org, "2024-08-26T23:59:59.000", "PERIOD_AGNOSTIC_WINDOW")
    at(clock, "2024-08-26T10:00:00.000Z")

    response = client.get(f"/v3.1/users/{347286146}/targetGroups", auth=org.auth)

    assert response.status_code == 200, response.text
    [shown] = [g for g in response.json()["data"]["targetGroups"] if g["id"] == group["id"]]
    ends = {t["periodEndDateWithTimeStamp"] for t in shown["targets"]}
    assert ends == {LAST_MS_OF_THE_26TH}


def test_a_date_without_a_time_ends_an_agnostic_group_after_that_whole_local_day(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    group = group_ending(client, org, "2024-08-26", "PERIOD_AGNOSTIC_WINDOW")
    at(clock, HALF_A_SECOND_BEFORE_MIDNIGHT)

    data = send(client, org, bill("B-1", 400, at=HALF_A_SECOND_BEFORE_MIDNIGHT))

    assert data["status"] == "APPLIED", data
    assert group["targetCycleEndDate"] == LAST_MS_OF_THE_26TH


def test_an_agnostic_group_ending_at_a_local_midnight_ends_exactly_there(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    group_ending(client, org, "2024-08-27T00:00:00.000", "PERIOD_AGNOSTIC_WINDOW")
    at(clock, HALF_A_SECOND_BEFORE_MIDNIGHT)

    before = send(client, org, bill("B-1", 400, at=HALF_A_SECOND_BEFORE_MIDNIGHT))
    on_the_end = send(client, org, bill("B-2", 400, at=LOCAL_MIDNIGHT))

    assert before["status"] == "APPLIED", before
    assert before["sideEffects"][0]["periodEndDateWithTimeStamp"] == LAST_MS_OF_THE_26TH
    assert on_the_end["status"] == "NO_MATCH", on_the_end


def test_an_agnostic_group_ending_mid_day_ends_at_that_instant(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    group_ending(client, org, "2024-08-26T15:00:00.000", "PERIOD_AGNOSTIC_WINDOW")
    at(clock, "2024-08-26T09:29:59.999Z")

    before = send(client, org, bill("B-1", 400, at="2024-08-26T09:29:59.999Z"))
    on_the_end = send(client, org, bill("B-2", 400, at="2024-08-26T09:30:00.000Z"))

    assert before["status"] == "APPLIED", before
    assert before["sideEffects"][0]["periodEndDateWithTimeStamp"] == "2024-08-26T09:29:59.999Z"
    assert on_the_end["status"] == "NO_MATCH", on_the_end


def test_a_cyclic_groups_last_cycle_runs_to_the_end_of_a_235959_end_day(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    group_ending(client, org, "2024-08-26T23:59:59.000", "CYCLIC_WINDOW")
    at(clock, HALF_A_SECOND_BEFORE_MIDNIGHT)
    # Cycle 1 starts at 2024-08-26 10:00 local: clipped at the end of that day, not at 23:59:59.
    first = send(client, org, bill("B-1", 100, at="2024-08-26T04:30:00.000Z"))
    last_second = send(client, org, bill("B-2", 100, at=HALF_A_SECOND_BEFORE_MIDNIGHT))

    [cycle] = first["sideEffects"]
    assert cycle["periodStartDateWithTimeStamp"] == "2024-08-26T04:30:00.000Z"
    assert cycle["periodEndDateWithTimeStamp"] == LOCAL_MIDNIGHT
    assert last_second["status"] == "APPLIED", last_second
    assert moved(last_second["sideEffects"][0]) == (100, 100, 200)


def test_the_end_day_is_the_groups_own_zones_day(
    client: TestClient, org: OrgCredentials, clock: Clock
) -> None:
    # 23:59:59 UTC is 05:29:59 the next morning in Kolkata: an instant, not a day's end.
    group_ending(client, org, "2024-08-26T23:59:59.000Z", "PERIOD_AGNOSTIC_WINDOW")
    at(clock, "2024-08-27T00:00:00.000Z")

    last_second = send(client, org, bill("B-1", 400, at="2024-08-26T23:59:59.500Z"))

    assert last_second["status"] == "NO_MATCH", last_second
