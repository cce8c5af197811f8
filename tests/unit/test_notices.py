"""The notices the engine writes to the outbox (SPEC §15), on the fake store.

Each test sends events through :func:`ingest` and reads ``store.notices``, the outbox in
the order written. Groups are monthly from 2024-08-01 in Asia/Kolkata (August runs from
2024-07-31T18:30Z to 2024-08-31T18:30Z) unless a test says otherwise.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from milestones.domain.notifications import Notice, NotificationType
from milestones.domain.periods import FrequencyType
from milestones.domain.target_groups import TargetGroup, TrackingType
from tests.unit.builders import (
    ORG,
    USER,
    GroupRules,
    TargetSpec,
    at,
    bill,
    fixed_group,
    local,
    percentage,
    returned,
    sales,
    send,
    visits,
)
from tests.unit.fake_store import FakeEngineStore

T = NotificationType
NOW = at("2024-08-27T10:00:00Z")
AUGUST_10 = at("2024-08-10T09:00:00.125Z")
AUGUST_12 = at("2024-08-12T09:00:00Z")
AUGUST_14 = at("2024-08-14T09:00:00Z")
REVOKING = replace(ORG, revoke_on_return=True)
BASE_KEYS = {
    "eventId",
    "targetGroupId",
    "targetGroupName",
    "targetRuleId",
    "targetName",
    "userTargetId",
    "periodId",
    "periodRefCode",
    "periodStartDate",
    "periodEndDate",
    "periodStartDateWithTimeStamp",
    "periodEndDateWithTimeStamp",
    "targetEvaluationType",
    "trackingType",
    "contributionType",
    "definedTargetValue",
    "currentEventTargetValue",
    "targetAchievedValueBeforeEvent",
    "targetAchievedValueAfterEvent",
}
EXTRA_KEYS = {
    T.TARGET_ACHIEVED: {"targetAchievedDateTime"},
    T.MILESTONE_ACHIEVED: {"milestone"},
    T.MILESTONE_REVOKED: {"milestone"},
    T.STREAK_ACHIEVED: {"streak"},
    T.STREAK_REVOKED: {"streak"},
    T.GROUP_ACHIEVED: {"groupAchievedDateTime"},
}


def monthly(*targets: TargetSpec, tracking: TrackingType = TrackingType.DEFAULT) -> TargetGroup:
    return fixed_group(
        FrequencyType.MONTHLY, "2024-08-01", 3, *targets, rules=GroupRules(tracking=tracking)
    )


def told(notices: list[Notice]) -> list[tuple[NotificationType, object, int, datetime]]:
    """(type, eventId, customer, occurred at) of each notice, in the order written."""
    return [(n.type, n.data["eventId"], n.user_id, n.occurred_at) for n in notices]


def assert_keys(notices: list[Notice]) -> None:
    """Every notice holds the side effect's fields and what its type adds, nothing else."""
    for notice in notices:
        assert set(notice.data) == BASE_KEYS | EXTRA_KEYS.get(notice.type, set()), notice.type


def values(notice: Notice) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    data = notice.data
    found = (
        data["definedTargetValue"],
        data["currentEventTargetValue"],
        data["targetAchievedValueBeforeEvent"],
        data["targetAchievedValueAfterEvent"],
    )
    assert all(isinstance(value, Decimal) for value in found), found
    return found  # type: ignore[return-value]


def test_a_move_that_achieves_nothing_makes_no_notice() -> None:
    group = monthly(sales(1000, percentage(50)))
    store = FakeEngineStore.of(group)

    [outcome] = send(store, NOW, bill("B-1", AUGUST_10, 499))

    assert outcome.status == "APPLIED" and len(outcome.effects) == 1
    assert store.notices == []


def test_a_trigger_crossed_makes_one_milestone_notice_at_the_events_time() -> None:
    group = monthly(sales(1000, percentage(50)))
    store = FakeEngineStore.of(group)
    target = group.targets[0]
    half = next(trigger for trigger in target.triggers if trigger.name == "50%")

    send(store, NOW, bill("B-1", AUGUST_10, 600))

    assert told(store.notices) == [(T.MILESTONE_ACHIEVED, "B-1", USER, AUGUST_10)]
    [notice] = store.notices
    assert_keys(store.notices)
    [august] = store.user_targets(target.id, USER)
    data = notice.data
    assert (data["targetGroupId"], data["targetRuleId"], data["userTargetId"]) == (
        group.id,
        target.id,
        august.id,  # the id the store gave it, not a provisional one
    )
    assert (data["periodId"], data["periodRefCode"]) == (group.periods[0].id, "Cycle_1")
    assert (data["periodStartDate"], data["periodEndDate"]) == ("2024-08-01", "2024-08-31")
    assert data["periodStartDateWithTimeStamp"] == "2024-07-31T18:30:00.000Z"
    assert data["periodEndDateWithTimeStamp"] == "2024-08-31T18:29:59.999Z"
    assert (data["contributionType"], data["trackingType"]) == ("EVENT", "DEFAULT")
    assert values(notice) == (
        Decimal("1000.000"),
        Decimal("600.000"),
        Decimal("0.000"),
        Decimal("600.000"),
    )
    assert [str(value) for value in values(notice)] == ["1000.000", "600.000", "0.000", "600.000"]
    assert data["milestone"] == {
        "id": half.id,
        "triggerName": "50%",
        "triggerValueType": "PERCENTAGE",
        "triggerValue": Decimal("50.000"),
    }


def test_a_target_achieved_makes_its_notice_then_its_own_triggers() -> None:
    group = monthly(sales(1000, percentage(50)))
    store = FakeEngineStore.of(group)

    send(store, NOW, bill("B-1", AUGUST_10, "1000.5"))

    assert [n.type for n in store.notices] == [
        T.TARGET_ACHIEVED,
        T.MILESTONE_ACHIEVED,
        T.MILESTONE_ACHIEVED,
    ]
    assert {n.occurred_at for n in store.notices} == {AUGUST_10}
    assert_keys(store.notices)
    achieved, *triggers = store.notices
    assert achieved.data["targetAchievedDateTime"] == "2024-08-10T09:00:00.125Z"
    assert sorted(n.data["milestone"]["triggerName"] for n in triggers) == [  # type: ignore[index]
        "50%",
        "targetAchieved",
    ]
    assert values(achieved) == (Decimal(1000), Decimal("1000.5"), Decimal(0), Decimal("1000.5"))
    assert str(values(achieved)[1]) == "1000.500"


def test_a_later_event_on_an_achieved_target_makes_no_notice() -> None:
    group = monthly(sales(1000))
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST_10, 1000))
    written = list(store.notices)

    send(store, NOW, bill("B-2", AUGUST_12, 500))

    assert store.notices == written


def test_a_batch_notifies_in_the_order_of_its_events_and_not_for_duplicates_or_rejections() -> None:
    group = monthly(sales(1000))
    store = FakeEngineStore.of(group)
    other = USER + 1

    outcomes = send(
        store,
        NOW,
        bill("B-1", AUGUST_10, 400),
        bill("B-2", AUGUST_12, 1000, user=other),
        bill("B-2", AUGUST_12, 1000, user=other),  # DUPLICATE
        bill("B-3", AUGUST_14, 600),
        bill("B-4", NOW + timedelta(hours=1), 5000),  # REJECTED: in the future
        returned("R-9", AUGUST_14, "B-404", 10),  # REJECTED: no such bill
    )

    assert [o.status for o in outcomes] == [
        "APPLIED",
        "APPLIED",
        "DUPLICATE",
        "APPLIED",
        "REJECTED",
        "REJECTED",
    ]
    assert [(kind, event_id, user) for kind, event_id, user, _ in told(store.notices)] == [
        (T.TARGET_ACHIEVED, "B-2", other),
        (T.MILESTONE_ACHIEVED, "B-2", other),
        (T.TARGET_ACHIEVED, "B-3", USER),
        (T.MILESTONE_ACHIEVED, "B-3", USER),
    ]


def test_a_return_with_revoke_on_return_notifies_the_target_and_its_triggers_taken_back() -> None:
    group = monthly(sales(1000, percentage(50)))
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST_10, 1200), org=REVOKING)
    achieved = len(store.notices)
    assert achieved == 3

    send(store, NOW, returned("R-1", AUGUST_14, "B-1", 700), org=REVOKING)

    revoked = store.notices[achieved:]
    assert [n.type for n in revoked] == [T.TARGET_REVOKED, T.MILESTONE_REVOKED]
    assert {(n.data["eventId"], n.user_id, n.occurred_at) for n in revoked} == {
        ("R-1", USER, AUGUST_14)
    }
    assert_keys(revoked)
    assert revoked[1].data["milestone"]["triggerName"] == "targetAchieved"  # type: ignore[index]
    assert revoked[0].data["contributionType"] == "RETURN"
    assert values(revoked[0]) == (Decimal(1000), Decimal(-700), Decimal(1200), Decimal(500))


def test_without_revoke_on_return_a_return_makes_no_notice() -> None:
    group = monthly(sales(1000, percentage(50)))
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST_10, 1200))
    written = list(store.notices)

    [outcome] = send(store, NOW, returned("R-1", AUGUST_14, "B-1", 1100))

    assert outcome.status == "APPLIED" and outcome.effects
    assert store.notices == written


# Streaks: weekly from Monday 2024-08-05, 4 weeks, a SALES target of 100 a week.


def in_week(week: int) -> datetime:
    """Wednesday noon of week ``week``, local time."""
    return local(f"2024-08-{7 + 7 * (week - 1):02d}T12:00")


def test_a_streak_level_reached_notifies_the_week_the_level_and_the_groups_period() -> None:
    rules = GroupRules(tracking=TrackingType.STREAKS, streaks=(2,))
    group = fixed_group(FrequencyType.WEEKLY, "2024-08-05", 4, sales(100), rules=rules)
    store = FakeEngineStore.of(group)
    [level] = group.streaks
    send(store, in_week(1) + timedelta(minutes=1), bill("B-1", in_week(1), 100))
    first_week = len(store.notices)

    send(store, in_week(2) + timedelta(minutes=1), bill("B-2", in_week(2), 100))

    written = store.notices[first_week:]
    assert told(written) == [
        (T.TARGET_ACHIEVED, "B-2", USER, in_week(2)),
        (T.MILESTONE_ACHIEVED, "B-2", USER, in_week(2)),
        (T.STREAK_ACHIEVED, "B-2", USER, in_week(2)),
        (T.GROUP_ACHIEVED, "B-2", USER, in_week(2)),
    ]
    assert_keys(written)
    week_two = store.user_targets(group.targets[0].id, USER)[1]
    assert written[2].data["streak"] == {
        "streakId": level.id,
        "streakName": level.name,
        "targetCountOfSequence": 2,
        "status": "ACHIEVED",
        "currentCount": 2,
        "streakAchievedDateTime": "2024-08-14T06:30:00.000Z",  # Wednesday noon in Kolkata
        "streakAchievedUserTargetId": week_two.id,
    }
    assert written[3].data["groupAchievedDateTime"] == "2024-08-14T06:30:00.000Z"
    assert all(n.data["userTargetId"] == week_two.id for n in written)


def test_a_return_that_unachieves_a_week_with_revoke_on_return_takes_back_the_level() -> None:
    rules = GroupRules(tracking=TrackingType.STREAKS, streaks=(2,))
    group = fixed_group(FrequencyType.WEEKLY, "2024-08-05", 4, sales(100), rules=rules)
    store = FakeEngineStore.of(group)
    for week in (1, 2):
        send(
            store,
            in_week(week) + timedelta(minutes=1),
            bill(f"B-{week}", in_week(week), 100),
            org=REVOKING,
        )
    before = len(store.notices)
    back_at = in_week(2) + timedelta(hours=1)

    send(store, back_at + timedelta(minutes=1), returned("R-1", back_at, "B-2", 50), org=REVOKING)

    written = store.notices[before:]
    assert told(written) == [
        (T.TARGET_REVOKED, "R-1", USER, back_at),
        (T.MILESTONE_REVOKED, "R-1", USER, back_at),
        (T.STREAK_REVOKED, "R-1", USER, back_at),
        (T.GROUP_REVOKED, "R-1", USER, back_at),
    ]
    assert_keys(written)
    streak = written[2].data["streak"]
    assert isinstance(streak, dict)
    assert (streak["streakName"], streak["streakAchievedUserTargetId"]) == (
        group.streaks[0].name,
        None,
    )
    assert streak["status"] != "ACHIEVED"


# Unified: a SALES target of 1,000 and a VISIT target of 2 days, both needed.


def test_a_unified_group_achieved_is_notified_on_the_last_effect_of_the_group() -> None:
    group = monthly(sales(1000), visits(2), tracking=TrackingType.UNIFIED)
    store = FakeEngineStore.of(group)
    spend, days = group.targets
    send(store, NOW, bill("B-1", AUGUST_10, 1000))
    assert [n.data["targetRuleId"] for n in store.notices] == [spend.id, spend.id]
    before = len(store.notices)

    [outcome] = send(store, NOW, bill("B-2", AUGUST_12, 10))

    written = store.notices[before:]
    assert told(written) == [
        (T.TARGET_ACHIEVED, "B-2", USER, AUGUST_12),
        (T.MILESTONE_ACHIEVED, "B-2", USER, AUGUST_12),
        (T.GROUP_ACHIEVED, "B-2", USER, AUGUST_12),
    ]
    assert_keys(written)
    assert [n.data["targetRuleId"] for n in written] == [days.id] * 3
    assert outcome.effects[-1].tracked.target.id == days.id  # the group's last effect
    assert written[2].data["groupAchievedDateTime"] == "2024-08-12T09:00:00.000Z"
    assert written[2].data["trackingType"] == "UNIFIED"


def test_a_unified_group_revoked_by_a_return_is_notified_with_the_target_taken_back() -> None:
    group = monthly(sales(1000), visits(2), tracking=TrackingType.UNIFIED)
    store = FakeEngineStore.of(group)
    send(store, NOW, bill("B-1", AUGUST_10, 1000), bill("B-2", AUGUST_12, 10), org=REVOKING)
    before = len(store.notices)
    assert [n.type for n in store.notices].count(T.GROUP_ACHIEVED) == 1

    send(store, NOW, returned("R-1", AUGUST_14, "B-1", 11), org=REVOKING)  # 1,010 -> 999

    written = store.notices[before:]
    assert told(written) == [
        (T.TARGET_REVOKED, "R-1", USER, AUGUST_14),
        (T.MILESTONE_REVOKED, "R-1", USER, AUGUST_14),
        (T.GROUP_REVOKED, "R-1", USER, AUGUST_14),
    ]
    assert_keys(written)
    assert {n.data["targetRuleId"] for n in written} == {group.targets[0].id}
