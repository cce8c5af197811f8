"""The rules of a new target group (SPEC §4, §5): a :class:`GroupInput` checked and filled in.

Checked in the order a client reads its body: name, zone, dates, what the tracking
and evaluation types allow, the periods, the streak levels, then each target
(:mod:`milestones.domain.target_rules`). The first broken rule is raised as an
:class:`InvalidInput` naming its field; what passes becomes a :class:`GroupDraft`
with its defaults filled in (generated periods and refCodes, per-period values,
the system trigger, ``ALL`` for UNIFIED groups).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from milestones.domain.calendar import end_of_local_day
from milestones.domain.errors import (
    InvalidInput,
    LeaderboardNeedsFixedWindow,
    LeaderboardsOff,
    NameTooLong,
)
from milestones.domain.group_input import GroupInput, PeriodInput
from milestones.domain.orgs import Org
from milestones.domain.periods import (
    EvaluationType,
    FrequencyType,
    PeriodSpec,
    PeriodWindow,
    fixed_periods,
    group_close,
)
from milestones.domain.streak_care import check_care
from milestones.domain.target_groups import (
    GROUP_ID_PLACEHOLDER,
    CombinationType,
    GroupDraft,
    PeriodDraft,
    TrackingType,
)
from milestones.domain.target_rules import draft_target
from milestones.domain.times import TimeFormatError, parse_day, parse_local_or_instant

MAX_NAME = 200
MAX_STREAK_LEVELS = 10
PERIOD_COUNT_ADJUSTED = 300100


@dataclass(frozen=True, slots=True)
class DraftWarning:
    """Something the rules let through but changed, e.g. a ``totalPeriods`` that the periods
    given overrule (code 300100)."""

    code: int
    message: str


def draft_group(group: GroupInput, org: Org) -> tuple[GroupDraft, list[DraftWarning]]:
    """A new group checked in full, with its defaults, and any warnings.

    >>> from decimal import Decimal
    >>> from milestones.domain.group_input import TargetInput
    >>> from milestones.domain.target_groups import TargetEntity
    >>> draft, _ = draft_group(GroupInput(
    ...     name=" Summer ", tracking_type=TrackingType.DEFAULT,
    ...     evaluation_type=EvaluationType.FIXED_CALENDAR_WINDOW,
    ...     frequency_type=FrequencyType.MONTHLY, frequency=1, total_periods=2,
    ...     recurring_cycles=0, cycle_start="2024-06-01",
    ...     targets=(TargetInput("Spend", TargetEntity.TRANSACTION, "SALES",
    ...                          default_value=Decimal(100)),),
    ... ), Org(id=1, name="Demo", time_zone="UTC"))
    >>> draft.name, [p.window.ref_code for p in draft.periods], draft.targets[0].event_name
    ('Summer', ['Cycle_1', 'Cycle_2'], 'TransactionAdd')
    """
    warnings: list[DraftWarning] = []
    name = check_name(group.name)
    zone = zone_named(group.time_zone_name or org.time_zone, "timeZoneName")
    tracking = group.tracking_type
    evaluation = group.evaluation_type
    start = _instant(group.cycle_start, zone, "targetCycleStartDate")
    end = _instant(group.cycle_end, zone, "targetCycleEndDate", whole_day=True)
    if start is not None and end is not None and end <= start:
        raise InvalidInput(
            "targetCycleEndDate must be after targetCycleStartDate", "targetCycleEndDate"
        )
    _check_tracking(group)
    if group.leaderboard_enabled and not org.leaderboards_enabled:
        raise LeaderboardsOff(
            f"leaderboards are not enabled for org {org.id} (milestones org set ID --leaderboards)",
            "leaderboardEnabled",
        )
    windows = _windows(group, zone, start, end, warnings)
    if evaluation is EvaluationType.FIXED_CALENDAR_WINDOW:
        start = start or windows[0].starts_at
        end = end or windows[-1].last_instant
    total_periods = len(windows)
    _check_streaks(group, total_periods)
    care = check_care(group.care, tracking, evaluation, group.frequency_type)
    periods = [
        PeriodDraft(window, given.description if given else None, given.active if given else True)
        for window, given in zip(windows, _period_inputs(group, windows), strict=True)
    ]
    targets = [
        draft_target(target, f"targets[{index}]", evaluation, total_periods)
        for index, target in enumerate(group.targets)
    ]
    combination = group.combination_type
    aggregation, threshold = group.unified_aggregation, group.unified_threshold
    if tracking is TrackingType.UNIFIED:
        combination = combination or CombinationType.ALL
        if aggregation is not None and threshold is None:
            raise InvalidInput(
                "unifiedTargetExpression.thresholdValue is required with an aggregation",
                "unifiedTargetExpression.thresholdValue",
            )
    else:
        combination, aggregation, threshold = None, None, None
    draft = GroupDraft(
        org_id=org.id,
        name=name,
        description=group.description,
        active=group.active,
        preferred_till_id=group.preferred_till_id,
        tracking_type=tracking,
        evaluation_type=evaluation,
        frequency_type=group.frequency_type,
        frequency=group.frequency,
        total_periods=total_periods,
        recurring_cycles=group.recurring_cycles,
        cycle_start=start,
        cycle_end=end,
        time_zone=zone.key,
        combination_type=combination,
        unified_aggregation=aggregation,
        unified_threshold=threshold,
        leaderboard_enabled=group.leaderboard_enabled,
        user_created=group.user_created,
        periods=periods,
        targets=targets,
        streaks=[(level.name, level.target_count) for level in group.streaks],
        care=care,
    )
    return draft, warnings


def check_name(name: str) -> str:
    """A group name as stored: trimmed, 1 to 200 characters.

    >>> check_name("  Summer sale ")
    'Summer sale'
    """
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("name must not be empty", "name")
    if len(cleaned) > MAX_NAME:
        raise NameTooLong(
            f"name is {len(cleaned)} characters; at most {MAX_NAME} are allowed", "name"
        )
    return cleaned


def zone_named(name: str, field: str) -> ZoneInfo:
    """An IANA zone, or an InvalidInput naming the field."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"'{name[:64]}' is not an IANA time zone (e.g. Asia/Kolkata)", field
        ) from exc


def period_day(text: str, zone: ZoneInfo, field: str) -> date | datetime:
    """A period's start or end date read in the group's zone, or an InvalidInput naming it."""
    try:
        return parse_day(text, zone)
    except TimeFormatError as exc:
        raise InvalidInput(str(exc), field) from exc


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


def _check_tracking(group: GroupInput) -> None:
    """What the tracking and evaluation types allow: streaks and leaderboards need FIXED,
    UNIFIED at least 2 targets; per-customer periods need the group's dates."""
    tracking, evaluation = group.tracking_type, group.evaluation_type
    fixed = evaluation is EvaluationType.FIXED_CALENDAR_WINDOW
    if tracking.is_streak and not fixed:
        raise InvalidInput(
            f"{tracking.value} groups must be FIXED_CALENDAR_WINDOW", "targetEvaluationType"
        )
    if group.leaderboard_enabled and not fixed:
        raise LeaderboardNeedsFixedWindow(
            "leaderboards need FIXED_CALENDAR_WINDOW", "leaderboardEnabled"
        )
    if tracking is TrackingType.UNIFIED and len(group.targets) < 2:
        raise InvalidInput("a UNIFIED group needs at least 2 targets", "targets")
    if not tracking.is_streak and group.streaks:
        raise InvalidInput(f"streaks belong to STREAKS groups, not {tracking.value}", "streaks")
    if not fixed and group.periods:
        raise InvalidInput(
            f"{evaluation.value} periods are per customer; leave out periods and give totalPeriods",
            "periods",
        )
    if not fixed and (group.cycle_start is None or group.cycle_end is None):
        missing = "targetCycleStartDate" if group.cycle_start is None else "targetCycleEndDate"
        raise InvalidInput(f"{evaluation.value} groups need the group's dates: {missing}", missing)


def _windows(
    group: GroupInput,
    zone: ZoneInfo,
    start: datetime | None,
    end: datetime | None,
    warnings: list[DraftWarning],
) -> list[PeriodWindow]:
    if group.evaluation_type is not EvaluationType.FIXED_CALENDAR_WINDOW:
        assert start is not None and end is not None
        # Slots of per-customer periods; the user's own times are laid out by the engine.
        closes_at = group_close(end, zone)
        return [
            PeriodWindow(f"PERIOD_G_{GROUP_ID_PLACEHOLDER}_{n}", start, closes_at)
            for n in range(1, group.total_periods + 1)
        ]
    specs = [
        PeriodSpec(
            ref_code=period.ref_code,
            start=period_day(period.start_date, zone, f"periods[{index}].startDate"),
            end=period_day(period.end_date, zone, f"periods[{index}].endDate"),
        )
        for index, period in enumerate(group.periods)
    ]
    windows = fixed_periods(
        zone=zone,
        frequency_type=group.frequency_type,
        frequency=group.frequency,
        total_periods=group.total_periods,
        cycle_start=start,
        cycle_end=end,
        explicit=specs,
    )
    if group.periods and group.total_periods != len(windows):
        warnings.append(
            DraftWarning(
                PERIOD_COUNT_ADJUSTED,
                f"totalPeriods {group.total_periods} differs from the "
                f"{len(windows)} periods given; kept {len(windows)}",
            )
        )
    if not group.periods and end is not None and group.frequency_type is not FrequencyType.CUSTOM:
        last = windows[-1]
        if last.end_date(zone) > end.astimezone(zone).date():
            raise InvalidInput(
                f"the {len(windows)} generated periods end on {last.end_date(zone)}, after "
                f"targetCycleEndDate; move targetCycleEndDate or lower totalPeriods",
                "targetCycleEndDate",
            )
    return windows


def _period_inputs(group: GroupInput, windows: list[PeriodWindow]) -> list[PeriodInput | None]:
    """The given periods in the windows' (start) order, or None for generated ones."""
    if not group.periods:
        return [None] * len(windows)
    by_ref: dict[str, list[PeriodInput | None]] = {}
    for period in group.periods:
        by_ref.setdefault(period.ref_code, []).append(period)
    return [by_ref[window.ref_code].pop(0) for window in windows]


def _check_streaks(group: GroupInput, period_count: int) -> None:
    """Streak groups need 1 to 10 levels, ascending, none longer than the periods."""
    tracking = group.tracking_type
    if not tracking.is_streak:
        return
    if not group.streaks:
        raise InvalidInput(
            f"{tracking.value} groups need streaks (name, targetCountOfSequence)", "streaks"
        )
    if len(group.streaks) > MAX_STREAK_LEVELS:
        raise InvalidInput(f"at most {MAX_STREAK_LEVELS} streak levels", "streaks")
    previous = 0
    for index, level in enumerate(group.streaks):
        count = level.target_count
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
