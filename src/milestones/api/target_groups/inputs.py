"""Request bodies -> the domain's plain inputs; field for field, no rules here."""

from __future__ import annotations

from milestones.api.target_groups.schemas import (
    CareIn,
    DefaultValueIn,
    PeriodIn,
    TargetGroupCreate,
    TargetGroupUpdate,
    TargetIn,
    TargetUpdate,
)
from milestones.domain.group_input import (
    DefaultValueInput,
    ExtendedFieldInput,
    FilterInput,
    GroupEdit,
    GroupInput,
    PeriodInput,
    StreakInput,
    TargetEdit,
    TargetInput,
    TriggerInput,
)
from milestones.domain.streak_care import CareInput


def group_input(body: TargetGroupCreate) -> GroupInput:
    """The new group a ``POST /v3/targetGroups`` body asks for."""
    unified = body.unifiedTargetExpression
    return GroupInput(
        name=body.name,
        description=body.description,
        active=body.active,
        preferred_till_id=body.preferredTillId,
        tracking_type=body.trackingType,
        evaluation_type=body.targetEvaluationType,
        frequency_type=body.frequencyType,
        frequency=body.frequency,
        total_periods=body.totalPeriods,
        recurring_cycles=body.recurringCycles,
        cycle_start=body.targetCycleStartDate,
        cycle_end=body.targetCycleEndDate,
        time_zone_name=body.timeZoneName,
        periods=tuple(period_input(period) for period in body.periods),
        targets=tuple(_target_input(target) for target in body.targets),
        streaks=tuple(
            StreakInput(level.name, level.targetCountOfSequence) for level in body.streaks
        ),
        combination_type=body.combinationType,
        unified_aggregation=unified.aggregation if unified else None,
        unified_threshold=unified.thresholdValue if unified else None,
        leaderboard_enabled=body.leaderboardEnabled,
        user_created=body.userCreated,
        care=care_input(body),
    )


_CARE_FIELDS = frozenset(CareIn.model_fields)


def care_input(body: CareIn) -> CareInput:
    """A body's streak-care fields, with which of them it gave (null included)."""
    freezes = body.streakFreezes
    return CareInput(
        max_held=freezes.maxHeld if freezes else None,
        grant_every=freezes.grantEveryAchieved if freezes else None,
        repair_window_days=body.repairWindowDays,
        max_repairs=body.maxRepairs,
        at_risk_hours=body.atRiskHours,
        period_zone=body.periodZone,
        given=frozenset(body.model_fields_set & _CARE_FIELDS),
    )


def period_input(body: PeriodIn) -> PeriodInput:
    """One period entry of a body."""
    return PeriodInput(
        ref_code=body.refCode,
        start_date=body.startDate,
        end_date=body.endDate,
        description=body.description,
        active=body.active,
        id=body.id,
    )


def default_value_inputs(
    entries: list[DefaultValueIn] | None,
) -> tuple[DefaultValueInput, ...] | None:
    """A body's ``defaultValues``; None when it has none."""
    if entries is None:
        return None
    return tuple(DefaultValueInput(entry.defaultValue, entry.periodId) for entry in entries)


def _target_input(body: TargetIn) -> TargetInput:
    info = body.extendedFieldInfo
    return TargetInput(
        name=body.name,
        description=body.description,
        active=body.active,
        entity=body.targetEntity,
        target_type=body.targetType,
        event_name=body.eventName,
        expression=body.expression,
        expression_json=body.expressionJson,
        filters=tuple(FilterInput(f.entityType, tuple(f.entityIds)) for f in body.filters),
        enrolment_method=body.enrolmentMethod,
        audience_group_ids=tuple(a.audienceGroupId for a in body.targetAudienceFilter),
        default_value=body.defaultValue,
        default_values=default_value_inputs(body.defaultValues),
        extended_field=None
        if info is None
        else ExtendedFieldInput(info.name, info.aggregateFunction, info.aggregateWindow),
        triggers=tuple(
            TriggerInput(t.triggerName, t.triggerValueType, t.triggerValue, t.isActive)
            for t in body.targetMilestoneTriggers
        ),
        alternate_currency_identifier=body.alternateCurrencyIdentifier,
        program_id=body.programId,
    )


def group_edit(body: TargetGroupUpdate) -> GroupEdit:
    """The changes a ``PUT /v3/targetGroups/{id}`` body asks for."""
    return GroupEdit(
        name=body.name,
        description=body.description,
        active=body.active,
        tracking_type=body.trackingType,
        evaluation_type=body.targetEvaluationType,
        frequency_type=body.frequencyType,
        frequency=body.frequency,
        total_periods=body.totalPeriods,
        recurring_cycles=body.recurringCycles,
        time_zone_name=body.timeZoneName,
        periods=None if body.periods is None else tuple(map(period_input, body.periods)),
        targets=None if body.targets is None else tuple(map(_target_edit, body.targets)),
        care=care_input(body),
    )


def _target_edit(body: TargetUpdate) -> TargetEdit:
    return TargetEdit(
        id=body.id,
        name=body.name,
        description=body.description,
        active=body.active,
        expression=body.expression,
        expression_json=body.expressionJson,
        default_value=body.defaultValue,
        default_values=default_value_inputs(body.defaultValues),
        entity=body.targetEntity,
        target_type=body.targetType,
        event_name=body.eventName,
        enrolment_method=body.enrolmentMethod,
    )
