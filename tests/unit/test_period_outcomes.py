"""``period_outcomes`` skips the periods where nothing is achieved: it must answer what
asking :func:`period_state` of every period answers, whatever the group's rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from milestones.domain.group_progress import period_outcome, period_outcomes, period_state
from milestones.domain.periods import FrequencyType
from milestones.domain.progress import UserTarget
from milestones.domain.streaks import NO_RECORD, CareRecord
from milestones.domain.target_groups import Aggregation, CombinationType, TrackingType
from tests.unit.builders import USER, GroupRules, fixed_group, local, sales

PERIODS = 8
NOW = local("2024-08-05T12:00")
RULES = [
    GroupRules(TrackingType.STREAKS, streaks=(2,)),
    GroupRules(TrackingType.NON_CONTINUOUS_STREAKS, streaks=(3,)),
    GroupRules(TrackingType.UNIFIED, combination=CombinationType.ANY),
    GroupRules(TrackingType.UNIFIED, combination=CombinationType.ALL),
    GroupRules(TrackingType.UNIFIED, aggregation=Aggregation.SUM, threshold=Decimal(150)),
    GroupRules(TrackingType.UNIFIED, aggregation=Aggregation.COUNT, threshold=Decimal(1)),
]


class Lookup:
    def __init__(self, held: dict[tuple[int, int], UserTarget], wholes: dict[int, datetime]):
        self.held = held
        self.wholes = wholes

    def find(self, target_id: int, period_id: int, user_id: int) -> UserTarget | None:
        return self.held.get((target_id, period_id)) if user_id == USER else None

    def group_achieved_at(self, group_id: int, period_id: int, user_id: int) -> datetime | None:
        return self.wholes.get(period_id)

    def care_of(self, group_id: int, user_id: int) -> CareRecord:
        return NO_RECORD


# Per period and target: no user target, one short of its value, or one achieved (hours in).
cells = st.lists(st.sampled_from([None, "short", 1, 5, 30]), min_size=2 * PERIODS, max_size=16)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(RULES), cells, st.sets(st.integers(0, PERIODS - 1)))
def test_outcomes_are_those_of_every_period_asked(
    rules: GroupRules, cell_list: list[object], recorded: set[int]
) -> None:
    group = fixed_group(
        FrequencyType.DAILY, "2024-08-01", PERIODS, sales(100), sales(80), rules=rules
    )
    held: dict[tuple[int, int], UserTarget] = {}
    for index, cell in enumerate(cell_list):
        if cell is None:
            continue
        period = group.periods[index % PERIODS]
        target = group.targets[index // PERIODS]
        window = period.window
        achieved = None if cell == "short" else window.starts_at + timedelta(hours=int(cell))  # type: ignore[call-overload]
        held[(target.id, period.id)] = UserTarget(
            index + 1,
            target.id,
            period.id,
            USER,
            period.position,
            window.starts_at,
            window.ends_at,
            Decimal(100),
            Decimal(120 if achieved else 40),
            achieved,
        )
    wholes = {group.periods[i].id: group.periods[i].window.starts_at for i in recorded}
    lookup = Lookup(held, wholes)
    expected = [
        period_outcome(
            group, lookup, USER, NOW, period, period_state(group, lookup, USER, period.id)
        )
        for period in group.periods
    ]
    assert period_outcomes(group, lookup, USER, NOW) == expected
