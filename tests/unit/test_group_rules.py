"""Target-group rules (SPEC §4, §5) on plain inputs: no database, no HTTP."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from milestones.domain.errors import (
    HistoryRewrite,
    InvalidInput,
    LeaderboardNeedsFixedWindow,
    LeaderboardsOff,
    NameTooLong,
)
from milestones.domain.group_input import (
    DefaultValueInput,
    GroupEdit,
    GroupInput,
    PeriodInput,
    StreakInput,
    TargetEdit,
    TargetInput,
    TriggerInput,
)
from milestones.domain.group_rules import draft_group
from milestones.domain.group_updates import (
    group_changes,
    new_name,
    new_period_values,
    new_periods,
    refuse_schedule_changes,
    target_changes,
)
from milestones.domain.orgs import Org
from milestones.domain.periods import EvaluationType, FrequencyType, PeriodWindow
from milestones.domain.target_groups import (
    GROUP_ID_PLACEHOLDER,
    SYSTEM_TRIGGER_NAME,
    Audit,
    CombinationType,
    DefaultValue,
    EnrolmentMethod,
    Period,
    Target,
    TargetEntity,
    TargetGroup,
    TrackingType,
    TriggerValueType,
)

ORG = Org(id=7, name="Demo", time_zone="UTC")
SPEND = TargetInput("Spend", TargetEntity.TRANSACTION, "SALES", default_value=Decimal(100))
MONTHLY = GroupInput(
    name="Summer",
    tracking_type=TrackingType.DEFAULT,
    evaluation_type=EvaluationType.FIXED_CALENDAR_WINDOW,
    frequency_type=FrequencyType.MONTHLY,
    frequency=1,
    total_periods=3,
    recurring_cycles=0,
    cycle_start="2024-01-01",
    targets=(SPEND,),
)
FIXED = EvaluationType.FIXED_CALENDAR_WINDOW
AGNOSTIC = EvaluationType.PERIOD_AGNOSTIC_WINDOW


def refused(group: GroupInput, org: Org = ORG) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        draft_group(group, org)
    return caught.value


# Creation


def test_a_group_name_is_trimmed_and_at_most_200_characters() -> None:
    assert draft_group(replace(MONTHLY, name="  Summer  "), ORG)[0].name == "Summer"
    error = refused(replace(MONTHLY, name="x" * 201))
    assert isinstance(error, NameTooLong)
    assert (error.code, error.field) == (310008, "name")


def test_a_group_without_a_zone_takes_the_orgs_zone() -> None:
    org = replace(ORG, time_zone="Asia/Kolkata")
    assert draft_group(MONTHLY, org)[0].time_zone == "Asia/Kolkata"
    error = refused(replace(MONTHLY, time_zone_name="Mars/Olympus"))
    assert error.field == "timeZoneName"


def test_generated_periods_are_cycle_1_to_n_and_set_the_groups_dates() -> None:
    draft, warnings = draft_group(MONTHLY, ORG)
    assert [p.window.ref_code for p in draft.periods] == ["Cycle_1", "Cycle_2", "Cycle_3"]
    assert draft.cycle_start == datetime(2024, 1, 1, tzinfo=UTC)
    assert draft.cycle_end == datetime(2024, 3, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert (draft.total_periods, warnings) == (3, [])


def test_generated_periods_must_end_by_the_groups_end_date() -> None:
    error = refused(replace(MONTHLY, cycle_end="2024-02-29"))
    assert error.field == "targetCycleEndDate"
    assert "the 3 generated periods end on 2024-03-31" in error.message


def test_periods_given_overrule_total_periods_with_a_warning() -> None:
    periods = (
        PeriodInput("Q2", "2024-04-01", "2024-06-30", description="spring"),
        PeriodInput("Q1", "2024-01-01", "2024-03-31"),
    )
    draft, warnings = draft_group(replace(MONTHLY, periods=periods), ORG)
    assert [(p.window.ref_code, p.description) for p in draft.periods] == [
        ("Q1", None),
        ("Q2", "spring"),
    ]
    assert [(w.code, w.message) for w in warnings] == [
        (300100, "totalPeriods 3 differs from the 2 periods given; kept 2")
    ]


def test_periods_may_not_share_a_day() -> None:
    periods = (
        PeriodInput("A", "2024-01-01", "2024-01-31"),
        PeriodInput("B", "2024-01-31", "2024-02-29"),
    )
    assert refused(replace(MONTHLY, periods=periods)).field == "periods[1].startDate"


def test_a_unified_group_needs_at_least_2_targets_and_combines_all_by_default() -> None:
    unified = replace(MONTHLY, tracking_type=TrackingType.UNIFIED)
    error = refused(unified)
    assert (error.message, error.field) == ("a UNIFIED group needs at least 2 targets", "targets")
    draft, _ = draft_group(replace(unified, targets=(SPEND, SPEND)), ORG)
    assert draft.combination_type is CombinationType.ALL


def test_only_unified_groups_keep_a_combination_type() -> None:
    draft, _ = draft_group(replace(MONTHLY, combination_type=CombinationType.ANY), ORG)
    assert draft.combination_type is None


@pytest.mark.parametrize("tracking", [TrackingType.STREAKS, TrackingType.NON_CONTINUOUS_STREAKS])
def test_streak_groups_must_be_fixed_calendar_window(tracking: TrackingType) -> None:
    group = replace(
        MONTHLY,
        tracking_type=tracking,
        evaluation_type=EvaluationType.CYCLIC_WINDOW,
        cycle_end="2024-12-31",
        streaks=(StreakInput("Two", 2),),
    )
    assert refused(group).field == "targetEvaluationType"


@pytest.mark.parametrize(
    ("counts", "field"),
    [
        ((), "streaks"),
        ((0,), "streaks[0].targetCountOfSequence"),
        ((2, 2), "streaks[1].targetCountOfSequence"),
        ((1, 4), "streaks[1].targetCountOfSequence"),
    ],
)
def test_streak_levels_ascend_from_1_up_to_the_period_count(
    counts: tuple[int, ...], field: str
) -> None:
    levels = tuple(StreakInput(f"L{count}", count) for count in counts)
    group = replace(MONTHLY, tracking_type=TrackingType.STREAKS, streaks=levels)
    assert refused(group).field == field


def test_leaderboards_need_the_org_switch_and_a_fixed_window() -> None:
    off = refused(replace(MONTHLY, leaderboard_enabled=True))
    assert isinstance(off, LeaderboardsOff) and off.code == 310133
    cyclic = replace(
        MONTHLY,
        evaluation_type=EvaluationType.CYCLIC_WINDOW,
        cycle_end="2024-12-31",
        leaderboard_enabled=True,
    )
    not_fixed = refused(cyclic, replace(ORG, leaderboards_enabled=True))
    assert isinstance(not_fixed, LeaderboardNeedsFixedWindow) and not_fixed.code == 310132


def test_per_customer_groups_get_one_slot_per_period_named_after_the_group() -> None:
    group = replace(MONTHLY, evaluation_type=AGNOSTIC, cycle_end="2024-06-30")
    draft, _ = draft_group(group, ORG)
    assert [p.window.ref_code for p in draft.periods] == [
        f"PERIOD_G_{GROUP_ID_PLACEHOLDER}_{n}" for n in (1, 2, 3)
    ]
    missing = refused(replace(MONTHLY, evaluation_type=AGNOSTIC))
    assert missing.field == "targetCycleEndDate"


@pytest.mark.parametrize("missing", ["alternate_currency_identifier", "program_id"])
def test_alternate_currency_targets_need_their_identifier_and_program(missing: str) -> None:
    currency = TargetInput(
        "Miles",
        TargetEntity.ALTERNATE_CURRENCIES,
        "ALL",
        default_value=Decimal(5),
        alternate_currency_identifier="MILES",
        program_id=3,
    )
    currency = replace(currency, **{missing: None})
    field = {"alternate_currency_identifier": "alternateCurrencyIdentifier"}.get(
        missing, "programId"
    )
    assert refused(replace(MONTHLY, targets=(currency,))).field == f"targets[0].{field}"


@pytest.mark.parametrize("method", [EnrolmentMethod.IMPORT, EnrolmentMethod.AUDIENCE_FILTER])
def test_import_and_audience_enrolment_are_not_for_agnostic_groups(
    method: EnrolmentMethod,
) -> None:
    target = replace(SPEND, enrolment_method=method, audience_group_ids=(1,))
    group = replace(MONTHLY, evaluation_type=AGNOSTIC, cycle_end="2024-06-30", targets=(target,))
    assert refused(group).field == "targets[0].enrolmentMethod"


def test_a_target_type_must_apply_to_its_entity() -> None:
    target = replace(SPEND, entity=TargetEntity.REWARDS)
    assert refused(replace(MONTHLY, targets=(target,))).field == "targets[0].targetType"


def test_a_target_listens_to_its_entitys_event_unless_it_names_one() -> None:
    assert draft_group(MONTHLY, ORG)[0].targets[0].event_name == "TransactionAdd"
    event = TargetInput("Visits", TargetEntity.EVENT, "COUNT", default_value=Decimal(1))
    assert refused(replace(MONTHLY, targets=(event,))).field == "targets[0].eventName"


def test_an_expression_fills_in_its_json_form_and_back() -> None:
    text = "currentTxn.value > 500"
    from_text = draft_group(replace(MONTHLY, targets=(replace(SPEND, expression=text),)), ORG)
    stored = from_text[0].targets[0]
    assert stored.expression == text
    tree = json.loads(stored.expression_json)
    from_json = replace(SPEND, expression_json=tree)
    assert draft_group(replace(MONTHLY, targets=(from_json,)), ORG)[0].targets[0].expression == text


def test_expression_and_expression_json_must_agree() -> None:
    always = json.loads(draft_group(MONTHLY, ORG)[0].targets[0].expression_json)
    target = replace(SPEND, expression="currentTxn.value > 500", expression_json=always)
    assert refused(replace(MONTHLY, targets=(target,))).field == "targets[0].expressionJson"


def test_one_default_value_is_repeated_for_every_period() -> None:
    assert draft_group(MONTHLY, ORG)[0].targets[0].default_values == [Decimal(100)] * 3
    listed = replace(SPEND, default_value=None, default_values=(DefaultValueInput(Decimal(7)),))
    draft, _ = draft_group(replace(MONTHLY, targets=(listed,)), ORG)
    assert draft.targets[0].default_values == [Decimal(7)] * 3


@pytest.mark.parametrize(
    ("target", "field"),
    [
        (replace(SPEND, default_value=None), "targets[0].defaultValue"),
        (replace(SPEND, default_value=Decimal(0)), "targets[0].defaultValue"),
        (
            replace(
                SPEND,
                default_values=(DefaultValueInput(Decimal(1)), DefaultValueInput(Decimal(2))),
            ),
            "targets[0].defaultValues",
        ),
        (
            replace(SPEND, default_values=tuple(DefaultValueInput(Decimal(v)) for v in (1, 0, 3))),
            "targets[0].defaultValues[1]",
        ),
    ],
)
def test_a_target_needs_one_value_above_0_per_period(target: TargetInput, field: str) -> None:
    assert refused(replace(MONTHLY, targets=(target,))).field == field


def test_a_target_gets_the_system_trigger_targetachieved_first() -> None:
    half = TriggerInput("half", TriggerValueType.PERCENTAGE, Decimal(50))
    target = replace(SPEND, triggers=(half,))
    draft, _ = draft_group(replace(MONTHLY, targets=(target,)), ORG)
    assert [(t.name, t.trigger_type, t.value) for t in draft.targets[0].triggers] == [
        (SYSTEM_TRIGGER_NAME, "SYSTEM_TRIGGER", Decimal(100)),
        ("half", "USER_TRIGGER", Decimal(50)),
    ]
    twice = replace(SPEND, triggers=(half, half))
    error = refused(replace(MONTHLY, targets=(twice,)))
    assert error.field == "targets[0].targetMilestoneTriggers[1].triggerName"


# Updates

NOW = datetime(2024, 2, 15, tzinfo=UTC)
AUDIT = Audit(NOW, 1, NOW, 1)


def stored_group() -> TargetGroup:
    """January to March 2024, one target worth 10, 20, 30; on NOW January has ended."""
    months = [(1, 2), (2, 3), (3, 4)]
    periods = [
        Period(
            id=100 + n,
            position=n,
            window=PeriodWindow(
                f"Cycle_{n}", datetime(2024, a, 1, tzinfo=UTC), datetime(2024, b, 1, tzinfo=UTC)
            ),
            description=None,
            active=True,
            audit=AUDIT,
        )
        for n, (a, b) in enumerate(months, start=1)
    ]
    target = Target(
        id=9,
        group_id=1,
        position=1,
        name="Spend",
        description=None,
        active=True,
        entity=TargetEntity.TRANSACTION,
        target_type="SALES",
        event_name="TransactionAdd",
        expression="true",
        expression_json="{}",
        filters=[],
        enrolment_method=EnrolmentMethod.TRANSACTION,
        audience_filter=[],
        extended_field_info=None,
        alternate_currency_identifier=None,
        program_id=None,
        default_values=[DefaultValue(n, 100 + n, Decimal(10 * n)) for n in (1, 2, 3)],
        triggers=[],
        audit=AUDIT,
    )
    return TargetGroup(
        id=1,
        org_id=7,
        name="Summer",
        description=None,
        active=True,
        preferred_till_id=None,
        tracking_type=TrackingType.DEFAULT,
        evaluation_type=FIXED,
        frequency_type=FrequencyType.MONTHLY,
        frequency=1,
        total_periods=3,
        recurring_cycles=0,
        cycle_start=periods[0].window.starts_at,
        cycle_end=periods[-1].window.last_instant,
        time_zone="UTC",
        combination_type=None,
        unified_aggregation=None,
        unified_threshold=None,
        leaderboard_enabled=False,
        user_created=False,
        audit=AUDIT,
        periods=periods,
        targets=[target],
    )


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (GroupEdit(tracking_type=TrackingType.UNIFIED), "trackingType"),
        (GroupEdit(frequency=2), "frequency"),
        (GroupEdit(time_zone_name="Asia/Kolkata"), "timeZoneName"),
        (GroupEdit(total_periods=5), "totalPeriods"),
    ],
)
def test_a_groups_schedule_cannot_change_once_it_exists(edit: GroupEdit, field: str) -> None:
    with pytest.raises(HistoryRewrite) as caught:
        refuse_schedule_changes(stored_group(), edit)
    assert caught.value.field == field


def test_the_same_schedule_sent_back_is_accepted() -> None:
    same = GroupEdit(
        tracking_type=TrackingType.DEFAULT, frequency=1, total_periods=3, time_zone_name="UTC"
    )
    refuse_schedule_changes(stored_group(), same)


def test_a_name_changes_only_when_it_differs_once_trimmed() -> None:
    assert new_name(stored_group(), GroupEdit(name=" Summer ")) is None
    assert new_name(stored_group(), GroupEdit(name=" Autumn ")) == "Autumn"


def test_an_ended_period_keeps_its_target_value() -> None:
    listed = (DefaultValueInput(Decimal(11), 101),)
    with pytest.raises(HistoryRewrite) as caught:
        target_changes(stored_group(), (TargetEdit(9, default_values=listed),), [], NOW)
    assert caught.value.message == "period Cycle_1 has ended; its target value cannot change"


def test_one_new_value_changes_only_the_periods_not_ended() -> None:
    [change] = target_changes(stored_group(), (TargetEdit(9, default_value=Decimal(50)),), [], NOW)
    assert change.values == {102: Decimal(50), 103: Decimal(50)}


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (TargetEdit(8), "targets[0].id"),
        (TargetEdit(9, entity=TargetEntity.POINTS), "targets[0].targetEntity"),
        (TargetEdit(9, event_name="PointsEarned"), "targets[0].eventName"),
    ],
)
def test_targets_cannot_be_added_nor_change_what_they_measure(edit: TargetEdit, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        target_changes(stored_group(), (edit,), [], NOW)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("period", "message"),
    [
        (PeriodInput("Feb", "2024-02-01", "2024-02-28"), "a new period must start in the future"),
        (
            PeriodInput("Late", "2024-03-15", "2024-04-30"),
            "a new period must start after the group's last period ends",
        ),
        (PeriodInput("Cycle_2", "2024-04-01", "2024-04-30"), "refCode Cycle_2 is already used"),
    ],
)
def test_a_new_period_starts_in_the_future_after_the_last_with_its_own_refcode(
    period: PeriodInput, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        new_periods(stored_group(), (period,), NOW)
    assert caught.value.message.startswith(message)


def test_a_new_period_takes_each_targets_last_value_and_moves_the_group_end() -> None:
    group = stored_group()
    [draft] = new_periods(group, (PeriodInput("Apr", "2024-04-01", "2024-04-30"),), NOW)
    grown = replace(
        group, periods=[*group.periods, replace(group.periods[-1], id=104, window=draft.window)]
    )
    assert new_period_values(grown, (), [104]) == {9: {104: Decimal(30)}}
    changes = group_changes(grown, GroupEdit(), None, 1, NOW)
    assert changes == {"total_periods": 4, "cycle_end": draft.window.last_instant}
