"""A simulation's range and figures (SPEC §16): pure rules, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from milestones.domain.errors import InvalidInput
from milestones.domain.periods import FrequencyType
from milestones.domain.progress import UserTarget
from milestones.domain.simulation import (
    figures_of,
    nearest_rank,
    simulation_range,
)
from milestones.domain.target_groups import MilestoneTrigger, TrackingType, TriggerValueType
from tests.unit.builders import GroupRules, fixed_group, sales

D = Decimal
KOLKATA, BERLIN = ZoneInfo("Asia/Kolkata"), ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([7], [7, 7, 7, 7]),
        ([1, 2], [1, 1, 2, 2]),
        ([1, 2, 3, 4], [1, 2, 3, 4]),
        ([5, 1, 4, 2, 3], [2, 3, 4, 5]),
        (list(range(1, 101)), [25, 50, 75, 90]),
    ],
)
def test_percentiles_are_the_nearest_rank_so_always_a_value_someone_holds(
    values: list[int], expected: list[int]
) -> None:
    ordered = sorted(D(v) for v in values)
    assert [nearest_rank(ordered, q) for q in (25, 50, 75, 90)] == [D(v) for v in expected]


@pytest.mark.parametrize(
    ("from_text", "to_text", "zone", "starts", "ends"),
    [
        # A date as ``to`` takes in its whole day, in the zone given.
        ("2024-08-01", "2024-08-31", KOLKATA, "2024-07-31T18:30:00", "2024-08-31T18:30:00"),
        # The day the clocks go forward has 23 hours: the range still ends at its midnight.
        ("2024-03-31", "2024-03-31", BERLIN, "2024-03-30T23:00:00", "2024-03-31T22:00:00"),
        # Instants are exact, and ``to`` is excluded; an offset overrules the zone.
        (
            "2024-08-01T10:00:00Z",
            "2024-08-02T10:00:00+05:30",
            KOLKATA,
            "2024-08-01T10:00:00",
            "2024-08-02T04:30:00",
        ),
        # ``from`` equal to ``to`` as instants: an empty range, not an error.
        (
            "2024-08-01T10:00:00Z",
            "2024-08-01T10:00:00Z",
            UTC,
            "2024-08-01T10:00:00",
            "2024-08-01T10:00:00",
        ),
    ],
)
def test_the_range_is_read_in_the_zone_and_a_date_as_to_takes_in_its_day(
    from_text: str, to_text: str, zone: ZoneInfo, starts: str, ends: str
) -> None:
    found = simulation_range(from_text, to_text, zone)
    assert found.starts_at == datetime.fromisoformat(starts).replace(tzinfo=UTC)
    assert found.ends_at == datetime.fromisoformat(ends).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("from_text", "to_text", "field"),
    [
        ("2024-08-02", "2024-08-01", "from"),
        ("2024-08-01T00:00:00.001Z", "2024-08-01T00:00:00Z", "from"),
        ("yesterday", "2024-08-01", "from"),
        ("2024-08-01", "2024-13-01", "to"),
    ],
)
def test_a_bad_range_names_its_field(from_text: str, to_text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        simulation_range(from_text, to_text, UTC)
    assert refused.value.field == field


def _user_target(
    id_: int,
    user: int,
    value: int,
    *,
    target: int,
    period: int,
    achieved: bool = False,
    milestones: dict[int, datetime] | None = None,
) -> UserTarget:
    at = datetime(2024, 8, 10, tzinfo=UTC)
    return UserTarget(
        id=id_,
        target_id=target,
        period_id=period,
        user_id=user,
        slot=1,
        starts_at=at,
        ends_at=at,
        target_value=D(1000),
        achieved_value=D(value),
        achieved_at=at if achieved else None,
        milestones=milestones or {},
    )


def test_figures_count_customers_per_target_and_period_and_only_the_triggers_set() -> None:
    group = fixed_group(
        FrequencyType.MONTHLY,
        "2024-08-01",
        2,
        sales(1000),
        rules=GroupRules(tracking=TrackingType.CAPPING),
    )
    target, (august, september) = group.targets[0], group.periods
    half = MilestoneTrigger(901, "half", "USER_TRIGGER", TriggerValueType.PERCENTAGE, D(50), True)
    idle = MilestoneTrigger(902, "idle", "USER_TRIGGER", TriggerValueType.PERCENTAGE, D(20), False)
    system = MilestoneTrigger(
        903, "targetAchieved", "SYSTEM_TRIGGER", TriggerValueType.PERCENTAGE, D(100), True
    )
    target.triggers[:] = [system, half, idle]
    at = datetime(2024, 8, 10, tzinfo=UTC)
    held = [
        _user_target(
            1,
            7,
            1000,
            target=target.id,
            period=august.id,
            achieved=True,
            milestones={903: at, 901: at},
        ),
        _user_target(2, 8, 600, target=target.id, period=august.id, milestones={901: at}),
        _user_target(3, 9, 0, target=target.id, period=august.id),
        _user_target(4, 7, 200, target=target.id, period=september.id),
    ]
    figures = figures_of(group, held, {1: D("350.5"), 4: D(0)})

    [(first, second)] = [tuple(t.periods) for t in figures.targets]
    assert (first.reached, first.achieved, second.reached, second.achieved) == (3, 1, 1, 0)
    assert [(t.trigger.name, t.achieved) for t in first.triggers] == [("half", 2)]
    assert first.quantiles == {25: D(0), 50: D(600), 75: D(1000), 90: D(1000)}
    assert (first.counted, first.excess) == (D(1600), D("350.5"))
    assert (second.counted, second.excess) == (D(200), D(0))
    assert figures.customers == 3
