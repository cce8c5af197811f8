"""A customer's own periods of a ``periodZone: CUSTOMER`` group (SPEC §17), no database.

Groups are cut in UTC, so a period's local dates are its UTC dates; customers live them
in Europe/Berlin, America/New_York and the zones at the two ends of the date line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from milestones.domain.care_settings import PeriodZone, StreakCare
from milestones.domain.customer_periods import (
    CustomerLayout,
    CustomerPeriods,
    ZoneHistory,
    customer_layout,
    single_zone,
    zone_in_force,
)
from milestones.domain.periods import FrequencyType
from milestones.domain.placement import customer_windows, cut_per_customer, place
from milestones.domain.target_groups import TargetGroup
from milestones.engine.ingest import LoadScope
from milestones.engine.working_set import CustomerState
from tests.unit.builders import USER, GroupRules, bill, fixed_group, send, visits
from tests.unit.fake_store import FakeEngineStore

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def per_customer(frequency: FrequencyType, start_day: str, total: int) -> TargetGroup:
    group = fixed_group(frequency, start_day, total, visits(1), rules=GroupRules(zone="UTC"))
    return replace(group, care=StreakCare(period_zone=PeriodZone.CUSTOMER))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def bounds(group: TargetGroup, history: ZoneHistory) -> list[tuple[str, str]]:
    layout = customer_layout(group, history)
    return [(w.starts_at.isoformat()[:16], w.ends_at.isoformat()[:16]) for w in layout.windows]


def test_a_customer_without_a_zone_lives_exactly_the_groups_periods() -> None:
    group = per_customer(FrequencyType.DAILY, "2024-03-30", 3)
    layout = customer_layout(group, [])
    assert list(layout.windows) == [period.window for period in group.periods]


@pytest.mark.parametrize(
    ("zone", "day", "starts", "ends", "hours"),
    [
        (BERLIN, "2024-03-31", "2024-03-30T23:00", "2024-03-31T22:00", 23),
        (BERLIN, "2024-10-27", "2024-10-26T22:00", "2024-10-27T23:00", 25),
        (NEW_YORK, "2024-03-10", "2024-03-10T05:00", "2024-03-11T04:00", 23),
        (NEW_YORK, "2024-11-03", "2024-11-03T04:00", "2024-11-04T05:00", 25),
    ],
)
def test_a_daily_period_is_the_customers_local_day_on_dst_days(
    zone: str, day: str, starts: str, ends: str, hours: int
) -> None:
    group = per_customer(FrequencyType.DAILY, day, 1)
    [window] = customer_layout(group, [(LONG_AGO, zone)]).windows
    assert (window.starts_at, window.ends_at) == (utc(starts), utc(ends))
    assert window.ends_at - window.starts_at == timedelta(hours=hours)


def test_the_same_instant_lands_in_different_days_for_berlin_and_new_york() -> None:
    group = per_customer(FrequencyType.DAILY, "2024-03-09", 3)
    instant = utc("2024-03-10T02:00")  # 03:00 on the 10th in Berlin, 21:00 on the 9th in NY
    berlin = place(group, group.periods, (), None, instant, layout=_layout(group, BERLIN))
    new_york = place(group, group.periods, (), None, instant, layout=_layout(group, NEW_YORK))
    assert berlin is not None and new_york is not None
    assert (berlin.period.position, str(berlin.zone)) == (2, BERLIN)
    assert (new_york.period.position, str(new_york.zone)) == (1, NEW_YORK)


def _layout(group: TargetGroup, zone: str) -> CustomerLayout:
    return CustomerPeriods(group).layout([(LONG_AGO, zone)])


def test_a_zone_change_mid_week_keeps_the_running_week_and_cuts_the_next_from_its_end() -> None:
    group = per_customer(FrequencyType.WEEKLY, "2024-08-05", 3)  # Mondays 5, 12, 19 August
    history = [(LONG_AGO, BERLIN), (utc("2024-08-14T12:00"), NEW_YORK)]
    assert bounds(group, history) == [
        ("2024-08-04T22:00", "2024-08-11T22:00"),  # Berlin
        ("2024-08-11T22:00", "2024-08-18T22:00"),  # the running week keeps its Berlin bounds
        ("2024-08-18T22:00", "2024-08-26T04:00"),  # from where it ended, to NY's midnight
    ]


def test_a_change_in_the_last_instant_of_a_period_applies_from_the_next_one() -> None:
    group = per_customer(FrequencyType.DAILY, "2024-08-05", 3)
    just_before = [(utc("2024-08-05T23:59:59"), BERLIN)]
    at_the_end = [(utc("2024-08-06T00:00"), BERLIN)]
    assert bounds(group, just_before)[1] == ("2024-08-06T00:00", "2024-08-06T22:00")
    assert bounds(group, at_the_end)[1] == ("2024-08-06T00:00", "2024-08-06T22:00")
    assert bounds(group, [(utc("2024-08-06T00:00:01"), BERLIN)])[1] == (
        "2024-08-06T00:00",
        "2024-08-07T00:00",
    )


def test_a_cleared_zone_means_the_groups_zone_again_from_the_next_period() -> None:
    group = per_customer(FrequencyType.DAILY, "2024-08-05", 3)
    history = [(LONG_AGO, BERLIN), (utc("2024-08-05T12:00"), None)]
    assert bounds(group, history) == [
        ("2024-08-04T22:00", "2024-08-05T22:00"),
        ("2024-08-05T22:00", "2024-08-07T00:00"),  # contiguous, then UTC days
        ("2024-08-07T00:00", "2024-08-08T00:00"),
    ]


def test_a_jump_across_the_date_line_leaves_an_empty_day_and_windows_never_overlap() -> None:
    group = per_customer(FrequencyType.DAILY, "2024-08-05", 4)
    # Pago Pago is UTC-11, Kiritimati UTC+14: a day of Pago Pago ends after the next day
    # of Kiritimati has ended.
    history = [(LONG_AGO, "Pacific/Pago_Pago"), (utc("2024-08-05T12:00"), "Pacific/Kiritimati")]
    layout = customer_layout(group, history)
    windows = layout.windows
    assert windows[0].ends_at == utc("2024-08-06T11:00")
    assert windows[1].starts_at == windows[1].ends_at == utc("2024-08-06T11:00")  # empty
    assert not windows[1].contains(utc("2024-08-06T11:00"))
    assert (windows[2].starts_at, windows[2].ends_at) == (
        utc("2024-08-06T11:00"),
        utc("2024-08-07T10:00"),
    )
    for before, after in pairwise(windows):
        assert before.ends_at == after.starts_at
    assert layout.index_at(utc("2024-08-06T11:00")) == 2


def test_one_zone_all_along_is_laid_out_once_and_kept_for_every_such_customer() -> None:
    group = per_customer(FrequencyType.DAILY, "2024-08-05", 5)
    periods = CustomerPeriods(group)
    first = periods.layout([(LONG_AGO, BERLIN)])
    assert periods.layout([(LONG_AGO, NEW_YORK), (LONG_AGO + timedelta(1), BERLIN)]) is first
    assert periods.layout([]) is periods.layout([(LONG_AGO, "UTC")])
    changed = periods.layout([(LONG_AGO, BERLIN), (utc("2024-08-06T12:00"), NEW_YORK)])
    assert changed is not first
    assert changed.windows[:2] == first.windows[:2]


def test_the_zone_in_force_and_the_single_zone_read_the_history_in_order() -> None:
    group_zone = per_customer(FrequencyType.DAILY, "2024-08-05", 1).zone
    history = [(utc("2024-08-01T00:00"), BERLIN), (utc("2024-08-10T00:00"), NEW_YORK)]
    assert str(zone_in_force(history, utc("2024-07-31T23:59"), group_zone)) == "UTC"
    assert str(zone_in_force(history, utc("2024-08-09T00:00"), group_zone)) == BERLIN
    assert single_zone(history, utc("2024-08-05T00:00"), group_zone) is None
    assert str(single_zone(history, utc("2024-08-10T00:00"), group_zone)) == NEW_YORK


def test_the_user_views_windows_are_the_engines() -> None:
    group = per_customer(FrequencyType.WEEKLY, "2024-08-05", 3)
    history = [(LONG_AGO, BERLIN), (utc("2024-08-14T12:00"), NEW_YORK)]
    engine = CustomerPeriods(group).layout(history)
    assert cut_per_customer(group)
    assert customer_windows(group, None, history) == engine.pairs()
    plain = replace(group, care=StreakCare())
    assert not cut_per_customer(plain)
    assert customer_windows(plain, None, history) == [(p, p.window) for p in group.periods]


# --- The engine: zone histories loaded only when a group needs them -------------------------


class ZonedStore(FakeEngineStore):
    """The fake store, with customers' zone histories, noting what each batch asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.zones: dict[int, list[tuple[datetime, str | None]]] = {}
        self.scopes: list[LoadScope] = []

    def load_customers(
        self, org_id: int, user_ids: Sequence[int], scope: LoadScope
    ) -> CustomerState:
        self.scopes.append(scope)
        state = super().load_customers(org_id, user_ids, scope)
        if scope.zone_histories:
            state.zones = {user: list(self.zones[user]) for user in user_ids if user in self.zones}
        return state


def test_a_batch_loads_zone_histories_only_when_a_group_is_cut_per_customer() -> None:
    store = ZonedStore()
    plain = fixed_group(
        FrequencyType.DAILY, "2024-08-05", 3, visits(1), rules=GroupRules(zone="UTC")
    )
    store.put_group(plain)
    send(store, utc("2024-08-05T12:00"), bill("B-1", utc("2024-08-05T11:00"), 100))
    assert [scope.zone_histories for scope in store.scopes] == [False]
    zoned = per_customer(FrequencyType.DAILY, "2024-08-05", 3)
    store.put_group(zoned)
    store.zones[USER] = [(LONG_AGO, NEW_YORK)]
    # 02:00 UTC on the 6th is 22:00 on the 5th in New York.
    [outcome] = send(store, utc("2024-08-06T02:30"), bill("B-2", utc("2024-08-06T02:00"), 100))
    assert store.scopes[-1].zone_histories
    by_group = {effect.tracked.group.id: effect.user_target for effect in outcome.effects}
    assert by_group[plain.id].period_id == plain.periods[1].id  # the UTC day 08-06
    made = by_group[zoned.id]
    assert made.period_id == zoned.periods[0].id  # New York's 08-05
    assert (made.starts_at, made.ends_at) == (utc("2024-08-05T04:00"), utc("2024-08-06T04:00"))
