"""Creating, reading and changing target groups: the rules of SPEC §4 applied to a request."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from milestones.api.target_groups.schemas import (
    DefaultValueIn,
    PeriodIn,
    TargetGroupCreate,
    TargetIn,
)
from milestones.domain.calendar import end_of_local_day
from milestones.domain.errors import (
    InvalidInput,
    LeaderboardNeedsFixedWindow,
    LeaderboardsOff,
    NameTaken,
    NameTooLong,
    NotFound,
)
from milestones.domain.expressions import (
    ExpressionError,
    expression_from_json,
    expression_to_json,
    parse_expression,
    print_expression,
)
from milestones.domain.orgs import Caller
from milestones.domain.periods import (
    EvaluationType,
    FrequencyType,
    PeriodSpec,
    PeriodWindow,
    fixed_periods,
    group_close,
)
from milestones.domain.target_groups import (
    ATTRIBUTE_KPIS,
    DEFAULT_EVENT_NAMES,
    SYSTEM_TRIGGER_NAME,
    TARGET_TYPES,
    CombinationType,
    EnrolmentMethod,
    GroupDraft,
    PeriodDraft,
    TargetDraft,
    TargetEntity,
    TargetGroup,
    TrackingType,
    TriggerDraft,
    TriggerValueType,
)
from milestones.domain.times import TimeFormatError, parse_day, parse_local_or_instant
from milestones.store.target_groups import GROUP_ID_PLACEHOLDER, TargetGroupRepository

MAX_NAME = 200
MAX_STREAK_LEVELS = 10
Warning = dict[str, object]


def create_group(
    connection: Connection, caller: Caller, body: TargetGroupCreate, now: datetime
) -> tuple[int, list[Warning]]:
    """Validate a create body in full and store the group; returns its id and any warnings."""
    warnings: list[Warning] = []
    draft = _draft(caller, body, warnings)
    repository = TargetGroupRepository(connection)
    if repository.name_taken(caller.org_id, draft.name):
        raise NameTaken(f"A target group named '{draft.name}' already exists", "name")
    return repository.add(draft, caller.client.id, now), warnings


def group_for(connection: Connection, org_ids: list[int], group_id: int) -> TargetGroup:
    """A group in the caller's scope, or NotFound."""
    group = TargetGroupRepository(connection).find(org_ids, group_id)
    if group is None:
        raise NotFound(f"No target group {group_id} in the caller's data scope", "id")
    return group


def check_name(name: str) -> str:
    """A group name as stored: trimmed, 1 to 200 characters."""
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("name must not be empty", "name")
    if len(cleaned) > MAX_NAME:
        raise NameTooLong(
            f"name is {len(cleaned)} characters; at most {MAX_NAME} are allowed", "name"
        )
    return cleaned


def zone_named(name: str, field: str) -> ZoneInfo:
    """An IANA zone, or a 400 naming the field."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"'{name[:64]}' is not an IANA time zone (e.g. Asia/Kolkata)", field
        ) from exc


def _draft(caller: Caller, body: TargetGroupCreate, warnings: list[Warning]) -> GroupDraft:
    name = check_name(body.name)
    zone_name = body.timeZoneName or caller.org.time_zone
    zone = zone_named(zone_name, "timeZoneName")
    tracking = body.trackingType
    evaluation = body.targetEvaluationType
    start = _instant(body.targetCycleStartDate, zone, "targetCycleStartDate")
    end = _instant(body.targetCycleEndDate, zone, "targetCycleEndDate", whole_day=True)
    if start is not None and end is not None and end <= start:
        raise InvalidInput(
            "targetCycleEndDate must be after targetCycleStartDate", "targetCycleEndDate"
        )
    _check_tracking(body, tracking, evaluation)
    if body.leaderboardEnabled and not caller.org.leaderboards_enabled:
        raise LeaderboardsOff(
            f"leaderboards are not enabled for org {caller.org_id} "
            "(milestones org set ID --leaderboards)",
            "leaderboardEnabled",
        )
    windows = _windows(body, evaluation, zone, start, end, warnings)
    if evaluation is EvaluationType.FIXED_CALENDAR_WINDOW:
        start = start or windows[0].starts_at
        end = end or windows[-1].last_instant
    total_periods = len(windows)
    _check_streaks(body, tracking, total_periods)
    periods = [
        PeriodDraft(window, spec.description if spec else None, spec.active if spec else True)
        for window, spec in zip(windows, _period_inputs(body, windows), strict=True)
    ]
    targets = [
        _target(target, index, evaluation, total_periods)
        for index, target in enumerate(body.targets)
    ]
    combination = body.combinationType
    unified = body.unifiedTargetExpression
    if tracking is TrackingType.UNIFIED:
        combination = combination or CombinationType.ALL
        if (
            unified is not None
            and unified.aggregation is not None
            and unified.thresholdValue is None
        ):
            raise InvalidInput(
                "unifiedTargetExpression.thresholdValue is required with an aggregation",
                "unifiedTargetExpression.thresholdValue",
            )
    else:
        combination, unified = None, None
    return GroupDraft(
        org_id=caller.org_id,
        name=name,
        description=body.description,
        active=body.active,
        preferred_till_id=body.preferredTillId,
        tracking_type=tracking,
        evaluation_type=evaluation,
        frequency_type=body.frequencyType,
        frequency=body.frequency,
        total_periods=total_periods,
        recurring_cycles=body.recurringCycles,
        cycle_start=start,
        cycle_end=end,
        time_zone=zone.key,
        combination_type=combination,
        unified_aggregation=unified.aggregation if unified else None,
        unified_threshold=unified.thresholdValue if unified else None,
        leaderboard_enabled=body.leaderboardEnabled,
        user_created=body.userCreated,
        periods=periods,
        targets=targets,
        streaks=[(level.name, level.targetCountOfSequence) for level in body.streaks],
    )


def _instant(
    text: str | None, zone: ZoneInfo, field: str, *, whole_day: bool = False
) -> datetime | None:
    """The instant ``text`` names; with ``whole_day``, a date alone is that local day's last
    millisecond (an end date covers its whole day)."""
    if text is None:
        return None
    try:
        instant, has_time = parse_local_or_instant(text, zone)
    except TimeFormatError as exc:
        raise InvalidInput(str(exc), field) from exc
    if whole_day and not has_time:
        return end_of_local_day(instant.date(), zone) - timedelta(milliseconds=1)
    return instant


def _check_tracking(
    body: TargetGroupCreate, tracking: TrackingType, evaluation: EvaluationType
) -> None:
    fixed = evaluation is EvaluationType.FIXED_CALENDAR_WINDOW
    if tracking.is_streak and not fixed:
        raise InvalidInput(
            f"{tracking.value} groups must be FIXED_CALENDAR_WINDOW", "targetEvaluationType"
        )
    if body.leaderboardEnabled and not fixed:
        raise LeaderboardNeedsFixedWindow(
            "leaderboards need FIXED_CALENDAR_WINDOW", "leaderboardEnabled"
        )
    if tracking is TrackingType.UNIFIED and len(body.targets) < 2:
        raise InvalidInput("a UNIFIED group needs at least 2 targets", "targets")
    if not tracking.is_streak and body.streaks:
        raise InvalidInput(f"streaks belong to STREAKS groups, not {tracking.value}", "streaks")
    if not fixed and body.periods:
        raise InvalidInput(
            f"{evaluation.value} periods are per customer; leave out periods and give totalPeriods",
            "periods",
        )
    if not fixed and (body.targetCycleStartDate is None or body.targetCycleEndDate is None):
        missing = (
            "targetCycleStartDate" if body.targetCycleStartDate is None else "targetCycleEndDate"
        )
        raise InvalidInput(f"{evaluation.value} groups need the group's dates: {missing}", missing)


def _windows(
    body: TargetGroupCreate,
    evaluation: EvaluationType,
    zone: ZoneInfo,
    start: datetime | None,
    end: datetime | None,
    warnings: list[Warning],
) -> list[PeriodWindow]:
    if evaluation is not EvaluationType.FIXED_CALENDAR_WINDOW:
        assert start is not None and end is not None
        # Slots of per-customer periods; the user's own times are laid out by the engine.
        closes_at = group_close(end, zone)
        return [
            PeriodWindow(f"PERIOD_G_{GROUP_ID_PLACEHOLDER}_{n}", start, closes_at)
            for n in range(1, body.totalPeriods + 1)
        ]
    specs = [
        _spec(period.refCode, period.startDate, period.endDate, index, zone)
        for index, period in enumerate(body.periods)
    ]
    windows = fixed_periods(
        zone=zone,
        frequency_type=body.frequencyType,
        frequency=body.frequency,
        total_periods=body.totalPeriods,
        cycle_start=start,
        cycle_end=end,
        explicit=specs,
    )
    if body.periods and body.totalPeriods != len(windows):
        warnings.append(
            {
                "code": 300100,
                "message": f"totalPeriods {body.totalPeriods} differs from the "
                f"{len(windows)} periods given; kept {len(windows)}",
            }
        )
    if not body.periods and end is not None and body.frequencyType is not FrequencyType.CUSTOM:
        last = windows[-1]
        if last.end_date(zone) > end.astimezone(zone).date():
            raise InvalidInput(
                f"the {len(windows)} generated periods end on {last.end_date(zone)}, after "
                f"targetCycleEndDate; move targetCycleEndDate or lower totalPeriods",
                "targetCycleEndDate",
            )
    return windows


def _spec(ref_code: str, start: str, end: str, index: int, zone: ZoneInfo) -> PeriodSpec:
    try:
        start_value: date | datetime = parse_day(start, zone)
    except TimeFormatError as exc:
        raise InvalidInput(str(exc), f"periods[{index}].startDate") from exc
    try:
        end_value: date | datetime = parse_day(end, zone)
    except TimeFormatError as exc:
        raise InvalidInput(str(exc), f"periods[{index}].endDate") from exc
    return PeriodSpec(ref_code=ref_code, start=start_value, end=end_value)


def _period_inputs(body: TargetGroupCreate, windows: list[PeriodWindow]) -> list[PeriodIn | None]:
    """The request's period entries in the windows' (start) order, or None for generated ones."""
    if not body.periods:
        return [None] * len(windows)
    by_ref: dict[str, list[PeriodIn | None]] = {}
    for period in body.periods:
        by_ref.setdefault(period.refCode, []).append(period)
    return [by_ref[window.ref_code].pop(0) for window in windows]


def _check_streaks(body: TargetGroupCreate, tracking: TrackingType, period_count: int) -> None:
    if not tracking.is_streak:
        return
    if not body.streaks:
        raise InvalidInput(
            f"{tracking.value} groups need streaks (name, targetCountOfSequence)", "streaks"
        )
    if len(body.streaks) > MAX_STREAK_LEVELS:
        raise InvalidInput(f"at most {MAX_STREAK_LEVELS} streak levels", "streaks")
    previous = 0
    for index, level in enumerate(body.streaks):
        count = level.targetCountOfSequence
        field = f"streaks[{index}].targetCountOfSequence"
        if count < 1:
            raise InvalidInput("targetCountOfSequence must be at least 1", field)
        if count <= previous:
            raise InvalidInput("streak levels must be in ascending order, without repeats", field)
        if count > period_count:
            raise InvalidInput(
                f"targetCountOfSequence {count} is more than the {period_count} periods", field
            )
        previous = count


def _target(
    body: TargetIn, index: int, evaluation: EvaluationType, period_count: int
) -> TargetDraft:
    where = f"targets[{index}]"
    entity = body.targetEntity
    target_type = body.targetType
    if target_type not in TARGET_TYPES[entity]:
        allowed = ", ".join(sorted(TARGET_TYPES[entity]))
        raise InvalidInput(
            f"targetType {target_type[:40]} does not apply to {entity.value}; use one of {allowed}",
            f"{where}.targetType",
        )
    event_name = body.eventName or DEFAULT_EVENT_NAMES.get(entity)
    if event_name is None:
        raise InvalidInput("EVENT targets must name their eventName", f"{where}.eventName")
    if entity is TargetEntity.ALTERNATE_CURRENCIES:
        for required in ("alternateCurrencyIdentifier", "programId"):
            if getattr(body, required) is None:
                raise InvalidInput(
                    f"ALTERNATE_CURRENCIES targets need {required}", f"{where}.{required}"
                )
    method = body.enrolmentMethod
    if (
        method is not EnrolmentMethod.TRANSACTION
        and evaluation is EvaluationType.PERIOD_AGNOSTIC_WINDOW
    ):
        raise InvalidInput(
            f"{method.value} enrolment cannot be used with PERIOD_AGNOSTIC_WINDOW",
            f"{where}.enrolmentMethod",
        )
    if method is EnrolmentMethod.AUDIENCE_FILTER and not body.targetAudienceFilter:
        raise InvalidInput(
            "AUDIENCE_FILTER targets need targetAudienceFilter (audienceGroupId)",
            f"{where}.targetAudienceFilter",
        )
    info = body.extendedFieldInfo
    if target_type in ATTRIBUTE_KPIS and (
        info is None or info.name is None or info.aggregateFunction is None
    ):
        raise InvalidInput(
            f"{target_type} targets need extendedFieldInfo with name and aggregateFunction",
            f"{where}.extendedFieldInfo",
        )
    expression, expression_json = expression_pair(body.expression, body.expressionJson, where)
    return TargetDraft(
        name=body.name,
        description=body.description,
        active=body.active,
        entity=entity,
        target_type=target_type,
        event_name=event_name,
        expression=expression,
        expression_json=expression_json,
        filters=[
            {"entityType": f.entityType.value, "entityIds": list(f.entityIds)} for f in body.filters
        ],
        enrolment_method=method,
        audience_filter=[{"audienceGroupId": a.audienceGroupId} for a in body.targetAudienceFilter],
        extended_field_info=info.model_dump(mode="json") if info is not None else None,
        alternate_currency_identifier=body.alternateCurrencyIdentifier,
        program_id=body.programId,
        default_values=default_values(body.defaultValue, body.defaultValues, period_count, where),
        triggers=_triggers(body, where),
    )


def expression_pair(
    text: str | bool | None, tree_json: str | dict[str, object] | None, where: str
) -> tuple[str, str]:
    """The stored ``(expression, expressionJson)``: either form given fills in the other."""
    if isinstance(text, bool):
        text = "true" if text else "false"
    try:
        from_text = parse_expression(text) if text is not None else None
    except ExpressionError as exc:
        raise InvalidInput(f"expression: {exc.message}", f"{where}.expression") from exc
    try:
        from_json = expression_from_json(tree_json) if tree_json is not None else None
    except ExpressionError as exc:
        raise InvalidInput(f"expressionJson: {exc.message}", f"{where}.expressionJson") from exc
    if from_text is not None and from_json is not None and from_text != from_json:
        raise InvalidInput(
            "expression and expressionJson say different things; send one, or both alike",
            f"{where}.expressionJson",
        )
    tree = from_text or from_json or parse_expression("true")
    if "\x00" in (text or "") or "\x00" in print_expression(tree):
        raise InvalidInput("expressions may not contain NUL characters", f"{where}.expression")
    return (text if text is not None else print_expression(tree)), expression_to_json(tree)


def default_values(
    single: Decimal | None, listed: list[DefaultValueIn] | None, period_count: int, where: str
) -> list[Decimal]:
    """One value per period: ``defaultValues`` in period order, or one value for all."""
    values: list[Decimal]
    if listed:
        values = [entry.defaultValue for entry in listed]
        if len(values) == 1 and period_count > 1:
            values = values * period_count
        elif len(values) != period_count:
            raise InvalidInput(
                f"defaultValues has {len(values)} entries for {period_count} periods; "
                "give one per period",
                f"{where}.defaultValues",
            )
    elif single is not None:
        values = [single] * period_count
    else:
        raise InvalidInput("a target needs defaultValue or defaultValues", f"{where}.defaultValue")
    for position, value in enumerate(values):
        if value <= 0:
            field = f"{where}.defaultValues[{position}]" if listed else f"{where}.defaultValue"
            raise InvalidInput("target values must be above 0", field)
    return values


def _triggers(body: TargetIn, where: str) -> list[TriggerDraft]:
    triggers: list[TriggerDraft] = []
    names: set[str] = set()
    for index, trigger in enumerate(body.targetMilestoneTriggers):
        field = f"{where}.targetMilestoneTriggers[{index}]"
        if trigger.triggerName in names:
            raise InvalidInput(
                f"trigger name '{trigger.triggerName}' is used twice", f"{field}.triggerName"
            )
        names.add(trigger.triggerName)
        if trigger.triggerValue <= 0:
            raise InvalidInput("triggerValue must be above 0", f"{field}.triggerValue")
        system = trigger.triggerName == SYSTEM_TRIGGER_NAME
        triggers.append(
            TriggerDraft(
                name=trigger.triggerName,
                trigger_type="SYSTEM_TRIGGER" if system else "USER_TRIGGER",
                value_type=trigger.triggerValueType,
                value=trigger.triggerValue,
                is_active=trigger.isActive,
            )
        )
    if SYSTEM_TRIGGER_NAME not in names:
        triggers.insert(
            0,
            TriggerDraft(
                SYSTEM_TRIGGER_NAME,
                "SYSTEM_TRIGGER",
                TriggerValueType.PERCENTAGE,
                Decimal(100),
                True,
            ),
        )
    return triggers
