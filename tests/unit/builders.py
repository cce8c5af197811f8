"""Target groups and events for engine unit tests, written the way the rules are stated.

Groups come out as the repository would load them: ids assigned, periods laid out by
the domain's own functions, a ``targetAchieved`` trigger on every target (SPEC §4).
Events are JSON bodies read by the API's own reader, so the ``Submission`` payload is
the one duplicate detection sees in production.

>>> group = fixed_group(FrequencyType.MONTHLY, "2024-08-01", 3, sales(1000))
>>> [period.ref_code for period in group.periods]
['Cycle_1', 'Cycle_2', 'Cycle_3']
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from milestones.api.events.schemas import submission
from milestones.domain.calendar import end_of_local_day
from milestones.domain.expressions import expression_to_json, parse_expression
from milestones.domain.orgs import Org
from milestones.domain.periods import (
    EvaluationType,
    FrequencyType,
    PeriodWindow,
    fixed_periods,
    group_close,
)
from milestones.domain.target_groups import (
    DEFAULT_EVENT_NAMES,
    SYSTEM_TRIGGER_NAME,
    Aggregation,
    Audit,
    CombinationType,
    DefaultValue,
    EnrolmentMethod,
    MilestoneTrigger,
    Period,
    StreakLevel,
    Target,
    TargetEntity,
    TargetGroup,
    TrackingType,
    TriggerValueType,
)
from milestones.engine.catalogue import CatalogueCache
from milestones.engine.ingest import EngineStore, EventOutcome, Submission, ingest

ZONE = "Asia/Kolkata"
ORG = Org(id=1, name="Unit org", time_zone=ZONE)
USER = 347286146
AUDIT = Audit(datetime(2024, 1, 1, tzinfo=UTC), 1, datetime(2024, 1, 1, tzinfo=UTC), 1)
Number = int | str | Decimal
JsonObject = dict[str, object]

_ids = itertools.count(1)  # every id a builder hands out is unique in the test run


def at(text: str) -> datetime:
    """An instant from ISO text with its offset: ``at("2024-08-10T09:00:00Z")``."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} needs an offset")
    return moment.astimezone(UTC)


def local(text: str, zone: str = ZONE) -> datetime:
    """A wall time in ``zone`` as a UTC instant: ``local("2024-08-10T23:59")``."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


# --- Triggers and targets ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """A milestone trigger before it has an id."""

    name: str
    value_type: TriggerValueType
    value: Decimal


def percentage(value: Number, name: str | None = None) -> TriggerSpec:
    """A PERCENTAGE trigger, named ``50%`` unless named."""
    return TriggerSpec(name or f"{value}%", TriggerValueType.PERCENTAGE, Decimal(value))


def absolute(value: Number, name: str | None = None) -> TriggerSpec:
    """An ABSOLUTE trigger, named ``at 700`` unless named."""
    return TriggerSpec(name or f"at {value}", TriggerValueType.ABSOLUTE, Decimal(value))


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A target before it has ids: what it measures and its value in each period."""

    entity: TargetEntity
    kpi: str
    values: tuple[Decimal, ...]  # one for every period, or one for all
    triggers: tuple[TriggerSpec, ...] = ()
    expression: str = "true"
    event_name: str | None = None
    extended_field: JsonObject | None = None
    enrolment: EnrolmentMethod = EnrolmentMethod.TRANSACTION
    name: str = ""


def _spec(
    entity: TargetEntity,
    kpi: str,
    value: Number | Sequence[Number],
    triggers: Sequence[TriggerSpec],
    *,
    expression: str = "true",
    event_name: str | None = None,
    extended_field: JsonObject | None = None,
) -> TargetSpec:
    values = (value,) if isinstance(value, int | str | Decimal) else tuple(value)
    return TargetSpec(
        entity,
        kpi,
        tuple(Decimal(v) for v in values),
        tuple(triggers),
        expression=expression,
        event_name=event_name,
        extended_field=extended_field,
    )


def sales(
    value: Number | Sequence[Number], *triggers: TriggerSpec, expression: str = "true"
) -> TargetSpec:
    """A TRANSACTION SALES target: the bill's net amount."""
    return _spec(TargetEntity.TRANSACTION, "SALES", value, triggers, expression=expression)


def bills(value: Number | Sequence[Number], *triggers: TriggerSpec) -> TargetSpec:
    """A TRANSACTION COUNT target: one per bill."""
    return _spec(TargetEntity.TRANSACTION, "COUNT", value, triggers)


def quantity(value: Number | Sequence[Number], *triggers: TriggerSpec) -> TargetSpec:
    """A TRANSACTION QUANTITY target: the bill's units."""
    return _spec(TargetEntity.TRANSACTION, "QUANTITY", value, triggers)


def visits(value: Number | Sequence[Number], *triggers: TriggerSpec) -> TargetSpec:
    """A TRANSACTION VISIT target: one for the first bill of each local day."""
    return _spec(TargetEntity.TRANSACTION, "VISIT", value, triggers)


def line_sales(
    value: Number | Sequence[Number], expression: str, *triggers: TriggerSpec
) -> TargetSpec:
    """A LINEITEM SALES target: the amounts of the lines ``expression`` accepts."""
    return _spec(TargetEntity.LINEITEM, "SALES", value, triggers, expression=expression)


def line_quantity(
    value: Number | Sequence[Number], expression: str, *triggers: TriggerSpec
) -> TargetSpec:
    """A LINEITEM QUANTITY target: the units of the lines ``expression`` accepts."""
    return _spec(TargetEntity.LINEITEM, "QUANTITY", value, triggers, expression=expression)


def bill_field_max(value: Number | Sequence[Number], name: str) -> TargetSpec:
    """A TRANSACTION EXTENDED_FIELD target by MAX: each local day's highest value."""
    info: JsonObject = {"name": name, "aggregateFunction": "MAX"}
    return _spec(TargetEntity.TRANSACTION, "EXTENDED_FIELD", value, (), extended_field=info)


def points(value: Number | Sequence[Number], *triggers: TriggerSpec) -> TargetSpec:
    """A POINTS ALL target: every currency earning."""
    return _spec(TargetEntity.POINTS, "ALL", value, triggers)


def event_count(
    event_name: str, value: Number | Sequence[Number], *triggers: TriggerSpec
) -> TargetSpec:
    """An EVENT COUNT target of a custom event."""
    return _spec(TargetEntity.EVENT, "COUNT", value, triggers, event_name=event_name)


# --- Groups --------------------------------------------------------------------


def _periods(windows: Sequence[PeriodWindow], group_id: int) -> list[Period]:
    return [
        Period(
            next(_ids),
            position,
            PeriodWindow(
                window.ref_code.replace("{group_id}", str(group_id)),
                window.starts_at,
                window.ends_at,
            ),
            None,
            True,
            AUDIT,
        )
        for position, window in enumerate(windows, start=1)
    ]


def _target(spec: TargetSpec, group_id: int, position: int, periods: list[Period]) -> Target:
    values = spec.values * len(periods) if len(spec.values) == 1 else spec.values
    if len(values) != len(periods):
        raise ValueError(f"{len(values)} target values for {len(periods)} periods")
    triggers = [
        MilestoneTrigger(
            next(_ids),
            SYSTEM_TRIGGER_NAME,
            "SYSTEM_TRIGGER",
            TriggerValueType.PERCENTAGE,
            Decimal(100),
            True,
        )
    ]
    triggers += [
        MilestoneTrigger(next(_ids), t.name, "USER_TRIGGER", t.value_type, t.value, True)
        for t in spec.triggers
    ]
    tree = parse_expression(spec.expression)
    event_name = spec.event_name or DEFAULT_EVENT_NAMES[spec.entity]  # EVENT targets name theirs
    return Target(
        id=next(_ids),
        group_id=group_id,
        position=position,
        name=spec.name or f"{spec.entity.value} {spec.kpi} #{position}",
        description=None,
        active=True,
        entity=spec.entity,
        target_type=spec.kpi,
        event_name=event_name,
        expression=spec.expression,
        expression_json=expression_to_json(tree),
        filters=[],
        enrolment_method=spec.enrolment,
        audience_filter=[],
        extended_field_info=spec.extended_field,
        alternate_currency_identifier=None,
        program_id=None,
        default_values=[
            DefaultValue(next(_ids), period.id, value)
            for period, value in zip(periods, values, strict=True)
        ],
        triggers=triggers,
        audit=AUDIT,
    )


@dataclass(frozen=True, slots=True)
class GroupRules:
    """How a group judges itself as a whole (UNIFIED, streaks) besides its targets."""

    tracking: TrackingType = TrackingType.DEFAULT
    streaks: tuple[int, ...] = ()  # targetCountOfSequence of each level
    combination: CombinationType | None = None
    aggregation: Aggregation | None = None
    threshold: Decimal | None = None
    zone: str = ZONE


def _group(
    evaluation: EvaluationType,
    frequency_type: FrequencyType,
    frequency: int,
    windows: Sequence[PeriodWindow],
    start: datetime,
    end: datetime,
    specs: Sequence[TargetSpec],
    rules: GroupRules,
) -> TargetGroup:
    group_id = next(_ids)
    periods = _periods(windows, group_id)
    combination = rules.combination
    if rules.tracking is TrackingType.UNIFIED:
        combination = combination or CombinationType.ALL
    return TargetGroup(
        id=group_id,
        org_id=ORG.id,
        name=f"group {group_id}",
        description=None,
        active=True,
        preferred_till_id=None,
        tracking_type=rules.tracking,
        evaluation_type=evaluation,
        frequency_type=frequency_type,
        frequency=frequency,
        total_periods=len(periods),
        recurring_cycles=-1,
        cycle_start=start,
        cycle_end=end,
        time_zone=rules.zone,
        combination_type=combination,
        unified_aggregation=rules.aggregation,
        unified_threshold=rules.threshold,
        leaderboard_enabled=False,
        user_created=False,
        audit=AUDIT,
        periods=periods,
        targets=[
            _target(spec, group_id, position, periods)
            for position, spec in enumerate(specs, start=1)
        ],
        streaks=[
            StreakLevel(next(_ids), f"{count} in a row", count, AUDIT) for count in rules.streaks
        ],
    )


def fixed_group(
    frequency_type: FrequencyType,
    start_day: str,
    total: int,
    *targets: TargetSpec,
    rules: GroupRules | None = None,
    frequency: int = 1,
) -> TargetGroup:
    """A FIXED_CALENDAR_WINDOW group: ``total`` periods from local midnight of ``start_day``,
    laid out by :func:`fixed_periods` as a create does."""
    rules = rules or GroupRules()
    zone = ZoneInfo(rules.zone)
    start = local(start_day + "T00:00", rules.zone)
    windows = fixed_periods(
        zone=zone,
        frequency_type=frequency_type,
        frequency=frequency,
        total_periods=total,
        cycle_start=start,
        cycle_end=None,
        explicit=[],
    )
    return _group(
        EvaluationType.FIXED_CALENDAR_WINDOW,
        frequency_type,
        frequency,
        windows,
        start,
        windows[-1].last_instant,
        targets,
        rules,
    )


def _dated_slots(
    start_day: str, end_day: str, total: int, zone: str
) -> tuple[datetime, datetime, list[PeriodWindow]]:
    """A group's dates (the end as a date: its local day's last millisecond) and its slots."""
    tz = ZoneInfo(zone)
    start = local(start_day + "T00:00", zone)
    end = end_of_local_day(datetime.fromisoformat(end_day).date(), tz) - timedelta(milliseconds=1)
    closes_at = group_close(end, tz)
    slots = [
        PeriodWindow(f"PERIOD_G_{{group_id}}_{n}", start, closes_at) for n in range(1, total + 1)
    ]
    return start, end, slots


def cyclic_group(
    frequency_type: FrequencyType,
    start_day: str,
    end_day: str,
    total: int,
    *targets: TargetSpec,
    rules: GroupRules | None = None,
    frequency: int = 1,
) -> TargetGroup:
    """A CYCLIC_WINDOW group: each customer's cycles start at their first event."""
    rules = rules or GroupRules()
    start, end, slots = _dated_slots(start_day, end_day, total, rules.zone)
    return _group(
        EvaluationType.CYCLIC_WINDOW, frequency_type, frequency, slots, start, end, targets, rules
    )


def agnostic_group(
    start_day: str, end_day: str, total: int, *targets: TargetSpec, rules: GroupRules | None = None
) -> TargetGroup:
    """A PERIOD_AGNOSTIC_WINDOW group: ``total`` slots, each spanning the group's dates."""
    rules = rules or GroupRules()
    start, end, slots = _dated_slots(start_day, end_day, total, rules.zone)
    return _group(
        EvaluationType.PERIOD_AGNOSTIC_WINDOW,
        FrequencyType.DAILY,
        1,
        slots,
        start,
        end,
        targets,
        rules,
    )


# --- Events --------------------------------------------------------------------


def _n(value: Number) -> int | Decimal:
    """A number as the JSON reader gives it: ``"450.5"`` is written for ``Decimal("450.5")``."""
    return Decimal(value) if isinstance(value, str) else value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(body: JsonObject, zone: str = ZONE) -> Submission:
    """A raw event body read as the API reads it; fails loudly if the API would refuse it."""
    read = submission(body, ZoneInfo(zone))
    if read.event is None:
        raise ValueError(f"the API refuses {body}: {read.errors}")
    return read


def malformed(body: JsonObject, zone: str = ZONE) -> Submission:
    """A raw event body the API refuses, with the errors it names."""
    read = submission(body, ZoneInfo(zone))
    if read.event is not None:
        raise ValueError(f"the API accepts {body}")
    return read


def line(
    item_code: str, amount: Number, qty: Number = 1, category: str | None = None
) -> JsonObject:
    """A bill line."""
    found: JsonObject = {"itemCode": item_code, "qty": _n(qty), "amount": _n(amount)}
    if category is not None:
        found["category"] = category
    return found


def bill(
    event_id: str,
    when: datetime,
    amount: Number,
    *lines: JsonObject,
    user: int = USER,
    extended: JsonObject | None = None,
) -> Submission:
    """A TransactionAdd of ``amount`` with its lines."""
    transaction: JsonObject = {"billAmount": _n(amount), "lineItems": list(lines)}
    if extended:
        transaction["extendedFields"] = extended
    return event(
        {
            "eventId": event_id,
            "eventName": "TransactionAdd",
            "userId": user,
            "eventTime": _iso(when),
            "transaction": transaction,
        }
    )


def returned(
    event_id: str,
    when: datetime,
    original: str,
    amount: Number | None = None,
    *lines: JsonObject,
    user: int = USER,
) -> Submission:
    """A ReturnBill of ``original``: an ``amount``, ``lines`` (``returned_line``), or whole."""
    back: JsonObject = {"originalEventId": original}
    if amount is not None:
        back["amount"] = _n(amount)
    if lines:
        back["lineItems"] = list(lines)
    return event(
        {
            "eventId": event_id,
            "eventName": "ReturnBill",
            "userId": user,
            "eventTime": _iso(when),
            "return": back,
        }
    )


def returned_line(
    item_code: str, qty: Number | None = None, amount: Number | None = None
) -> JsonObject:
    """A line of a ReturnBill; without ``qty`` and ``amount`` the line comes back whole."""
    found: JsonObject = {"itemCode": item_code}
    if qty is not None:
        found["qty"] = _n(qty)
    if amount is not None:
        found["amount"] = _n(amount)
    return found


def earned(event_id: str, when: datetime, amount: Number, *, user: int = USER) -> Submission:
    """A PointsEarned of ``amount`` REGULAR points."""
    return event(
        {
            "eventId": event_id,
            "eventName": "PointsEarned",
            "userId": user,
            "eventTime": _iso(when),
            "currency": {"identifier": "points", "amount": _n(amount), "earnType": "REGULAR"},
        }
    )


def custom(
    event_id: str, when: datetime, name: str, *, user: int = USER, **attributes: object
) -> Submission:
    """A custom event with its attributes."""
    return event(
        {
            "eventId": event_id,
            "eventName": name,
            "userId": user,
            "eventTime": _iso(when),
            "attributes": attributes,
        }
    )


# --- Running a batch -----------------------------------------------------------


def send(
    store: EngineStore, now: datetime, *submissions: Submission, org: Org = ORG
) -> list[EventOutcome]:
    """One batch through :func:`ingest`, with a cold catalogue cache as a fresh worker has."""
    return ingest(store, org, list(submissions), now, CatalogueCache())


def moves(outcome: EventOutcome) -> list[tuple[str, Decimal, Decimal]]:
    """Each side effect of an outcome as (contributionType, before, after)."""
    return [(e.kind, e.move.before, e.move.after) for e in outcome.effects]


def reached(outcome: EventOutcome) -> list[str]:
    """The triggers an outcome achieved, by name, in the order of its effects."""
    return [trigger.name for e in outcome.effects for trigger in e.move.milestones_now]
