"""Target groups as the API shows them (the seeds' "Get all milestones" shape)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from milestones.api.attribution import attribution
from milestones.domain.care_settings import StreakCare
from milestones.domain.orgs import ApiClient
from milestones.domain.periods import EvaluationType
from milestones.domain.target_groups import (
    Audit,
    Period,
    StreakLevel,
    Target,
    TargetGroup,
    TrackingType,
)
from milestones.domain.times import epoch_ms, utc_text

Json = dict[str, object]


def audits_of(group: TargetGroup) -> list[Audit]:
    """Every audit in a group, to look up the clients they name in one query."""
    return [
        group.audit,
        *(p.audit for p in group.periods),
        *(t.audit for t in group.targets),
        *(s.audit for s in group.streaks),
    ]


def group_view(
    group: TargetGroup, now: datetime, clients: dict[int, ApiClient], *, include_periods: bool
) -> Json:
    zone = group.zone
    view: Json = {
        "id": group.id,
        "attribution": attribution(group.audit, zone, clients),
        "orgId": group.org_id,
        "name": group.name,
        "active": group.active,
        "preferredTillId": group.preferred_till_id,
    }
    if include_periods:
        view["periods"] = [period_view(group, period, now, clients) for period in group.periods]
    active = group.active_period(now)
    view["activePeriod"] = period_view(group, active, now, clients) if active else None
    view.update(
        {
            "totalPeriods": group.total_periods,
            "description": group.description,
            "targetEvaluationType": group.evaluation_type.value,
            "recurringCycles": group.recurring_cycles,
            "frequency": group.frequency,
            "targetCycleStartDate": utc_text(group.cycle_start) if group.cycle_start else None,
            "targetCycleEndDate": utc_text(group.cycle_end) if group.cycle_end else None,
            "frequencyType": group.frequency_type.value,
            "trackingType": group.tracking_type.value,
            "createdOn": epoch_ms(group.audit.created_at),
            "targets": [target_view(group, target, zone, clients) for target in group.targets],
        }
    )
    if group.tracking_type.is_streak:
        view["streaks"] = [streak_view(group, level, zone, clients) for level in group.streaks]
        view.update(care_view(group.care))
    if group.tracking_type is TrackingType.UNIFIED:
        view["combinationType"] = group.combination_type.value if group.combination_type else "ALL"
        view["unifiedTargetExpression"] = {
            "aggregation": group.unified_aggregation.value if group.unified_aggregation else None,
            "thresholdValue": group.unified_threshold,
            "ruleExpression": group.rule_expression(),
        }
    view["leaderboardEnabled"] = group.leaderboard_enabled
    view["userCreated"] = group.user_created
    view["timeZoneName"] = group.time_zone
    if group.evaluation_type is EvaluationType.FIXED_CALENDAR_WINDOW:
        view["periodZone"] = group.care.period_zone.value
    return _without_nulls(view)


def period_view(
    group: TargetGroup, period: Period, now: datetime, clients: dict[int, ApiClient]
) -> Json:
    zone = group.zone
    window = period.window
    return _without_nulls(
        {
            "id": period.id,
            "attribution": attribution(period.audit, zone, clients),
            "startDate": window.start_date(zone).isoformat(),
            "endDate": window.end_date(zone).isoformat(),
            "startDateWithTimeStamp": utc_text(window.starts_at),
            "endDateWithTimeStamp": utc_text(window.last_instant),
            "refCode": window.ref_code,
            "periodStatus": period.status(now).value,
            "targetGroupId": group.id,
            "description": period.description,
            "active": period.active,
        }
    )


def target_view(
    group: TargetGroup, target: Target, zone: ZoneInfo, clients: dict[int, ApiClient]
) -> Json:
    values = [
        {"id": value.id, "periodId": value.period_id, "defaultValue": value.value}
        for value in target.default_values
    ]
    return _without_nulls(
        {
            "id": target.id,
            "attribution": attribution(target.audit, zone, clients),
            "name": target.name,
            "targetType": target.target_type,
            "targetEntity": target.entity.value,
            "eventName": target.event_name,
            "targetGroupId": group.id,
            "description": target.description,
            "active": target.active,
            "expression": target.expression,
            "expressionJson": target.expression_json,
            "filters": target.filters,
            "enrolmentMethod": target.enrolment_method.value,
            "defaultValues": values,
            "targetPeriodDefaultValuesMap": {str(value["periodId"]): value for value in values},
            "targetMilestoneTriggers": [
                {
                    "id": trigger.id,
                    "triggerName": trigger.name,
                    "isActive": trigger.is_active,
                    "triggerType": trigger.trigger_type,
                    "triggerValueType": trigger.value_type.value,
                    "triggerValue": trigger.value,
                    "targetRuleId": target.id,
                }
                for trigger in target.triggers
            ],
            "targetAudienceFilter": target.audience_filter,
            "extendedFieldInfo": target.extended_field_info,
            "alternateCurrencyIdentifier": target.alternate_currency_identifier,
            "programId": target.program_id,
        }
    )


def streak_view(
    group: TargetGroup, level: StreakLevel, zone: ZoneInfo, clients: dict[int, ApiClient]
) -> Json:
    return {
        "id": level.id,
        "attribution": attribution(level.audit, zone, clients),
        "targetGroupId": group.id,
        "name": level.name,
        "targetCountOfSequence": level.target_count,
    }


def _without_nulls(view: Json) -> Json:
    return {key: value for key, value in view.items() if value is not None}


def care_view(care: StreakCare) -> Json:
    """A streak group's care settings (§17), in the body's field names (null: off)."""
    freezes = (
        {"maxHeld": care.max_held, "grantEveryAchieved": care.grant_every}
        if care.max_held is not None
        else None
    )
    return {
        "streakFreezes": freezes,
        "repairWindowDays": care.repair_window_days,
        "maxRepairs": care.max_repairs,
        "atRiskHours": care.at_risk_hours,
    }
