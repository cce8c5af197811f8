"""The targets an org tracks, compiled once and indexed by the event they listen to.

Rebuilt only when the org's groups change (the store's signature of them moves), so
the cost per event stays flat however many groups do not listen to it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from milestones.domain.customer_periods import CustomerPeriods
from milestones.domain.expressions import (
    CompiledExpression,
    compile_expression,
    expression_from_json,
)
from milestones.domain.expressions.tree import names_of
from milestones.domain.group_progress import tracks_group_progress
from milestones.domain.kpis import keeps_days
from milestones.domain.periods import EvaluationType
from milestones.domain.placement import cut_per_customer, fixed_period_at, starts_of
from milestones.domain.target_groups import (
    EnrolmentMethod,
    Period,
    Target,
    TargetGroup,
    TrackingType,
)


@dataclass(frozen=True, slots=True)
class TrackedTarget:
    """A target with what the engine needs at hand: its group, compiled expression, values."""

    group: TargetGroup
    target: Target
    expression: CompiledExpression
    values: dict[int, Decimal]
    periods: tuple[Period, ...]
    audience_ids: frozenset[int]
    starts: tuple[datetime, ...]
    # Targets with equal keys read every event alike (same KPI, expression, field, currency).
    reading_key: Hashable
    # Unified and streak groups: the group as a whole moves with the target (§11).
    tracks_group: bool
    # Worked out once here rather than for every event the target reads (the compiled plan).
    evaluation: EvaluationType
    capping: bool  # counts only up to the period's value (TrackingType.CAPPING)
    everyone: bool  # enrols every customer who sends the event (EnrolmentMethod.TRANSACTION)
    filtered: bool  # has store, zone or concept filters
    zone: ZoneInfo  # the group's, where its days and dates are cut
    closes_at: datetime | None  # the group's :attr:`TargetGroup.closes_at`
    # A ``periodZone: CUSTOMER`` group's periods as each customer lives them (one per group).
    customer_periods: CustomerPeriods | None = None

    @property
    def id(self) -> int:
        return self.target.id

    def period_at(self, instant: datetime) -> Period | None:
        """The fixed period containing ``instant`` (:func:`placement.fixed_period_at`)."""
        return fixed_period_at(self.periods, self.starts, instant)

    def period(self, period_id: int) -> Period:
        for period in self.periods:
            if period.id == period_id:
                return period
        raise KeyError(period_id)


@dataclass(frozen=True, slots=True)
class CustomerNeeds:
    """Which of a customer's stored records an org's targets can read (each True by default:
    loading a record no target reads costs a query, never a wrong answer)."""

    anchors: bool = True  # CYCLIC groups: where each customer's cycle 1 starts
    group_progress: bool = True  # unified and streak groups: achievements of a group as a whole
    days: bool = True  # VISIT and MAX targets: the customer's record of each local day
    memberships: bool = True  # AUDIENCE targets: the audiences the customer is in
    custom_fields: bool = True  # expressions naming ``customer``: the stored profile


EVERY_NEED = CustomerNeeds()


class Catalogue:
    """Every target of one org: the listening ones by event name, and all by id."""

    def __init__(self, groups: list[TargetGroup]) -> None:
        self.by_event: dict[str, list[TrackedTarget]] = defaultdict(list)
        self.by_id: dict[int, TrackedTarget] = {}
        self.streak_group_ids = frozenset(
            group.id for group in groups if group.tracking_type.is_streak
        )
        # Groups whose periods each customer lives in their own zone: a batch then loads its
        # customers' zone histories (no cost for an org without one).
        self.per_customer: dict[int, CustomerPeriods] = {
            group.id: CustomerPeriods(group) for group in groups if cut_per_customer(group)
        }
        # Streak groups whose customers may hold freezes or repairs (§17).
        self.care_group_ids = frozenset(
            group.id
            for group in groups
            if group.tracking_type.is_streak and (group.care.freezes or group.care.repairs)
        )
        reads_customer = False
        for group in groups:
            for target in group.targets:
                tree = expression_from_json(target.expression_json)
                reads_customer = reads_customer or "customer" in names_of(tree)
                tracked = TrackedTarget(
                    group=group,
                    target=target,
                    expression=compile_expression(tree),
                    values={value.period_id: value.value for value in target.default_values},
                    periods=tuple(group.periods),
                    audience_ids=frozenset(
                        int(str(item["audienceGroupId"])) for item in target.audience_filter
                    ),
                    starts=starts_of(group.periods),
                    reading_key=_reading_key(target),
                    tracks_group=tracks_group_progress(group),
                    evaluation=group.evaluation_type,
                    capping=group.tracking_type is TrackingType.CAPPING,
                    everyone=target.enrolment_method is EnrolmentMethod.TRANSACTION,
                    filtered=bool(target.filters),
                    zone=group.zone,
                    closes_at=group.closes_at,
                    customer_periods=self.per_customer.get(group.id),
                )
                self.by_id[target.id] = tracked
                if group.active and target.active:
                    self.by_event[target.event_name].append(tracked)

        # What any of the org's targets can need of a customer's stored state, beyond their
        # user targets: a batch loads only that (a one-event call reads less).
        self.needs = CustomerNeeds(
            anchors=any(group.evaluation_type is EvaluationType.CYCLIC_WINDOW for group in groups),
            group_progress=any(tracks_group_progress(group) for group in groups),
            days=any(keeps_days(target) for group in groups for target in group.targets),
            memberships=any(target.audience_filter for group in groups for target in group.targets),
            custom_fields=reads_customer,
        )

    def listening(self, event_name: str) -> list[TrackedTarget]:
        """The active targets of active groups that count this event name."""
        return self.by_event.get(event_name, [])


def _reading_key(target: Target) -> Hashable:
    """Everything of a target that :func:`milestones.domain.kpis.read` looks at."""
    field = target.extended_field_info
    return (
        target.entity,
        target.target_type,
        target.expression_json,
        tuple(sorted((key, repr(value)) for key, value in field.items())) if field else None,
        target.alternate_currency_identifier,
        target.program_id,
    )


class CatalogueCache:
    """One catalogue per org, kept while the org's signature is unchanged."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Hashable, Catalogue]] = {}
        self._lock = threading.Lock()

    def get(
        self, org_id: int, signature: Hashable, load: Callable[[], list[TargetGroup]]
    ) -> Catalogue:
        with self._lock:
            entry = self._entries.get(org_id)
        if entry is not None and entry[0] == signature:
            return entry[1]
        catalogue = Catalogue(load())
        with self._lock:
            self._entries[org_id] = (signature, catalogue)
        return catalogue

    def known(self, org_id: int) -> tuple[Hashable, Catalogue] | None:
        """The org's catalogue as last built, with the signature it was built at (it may
        be stale: a caller compares that signature with one it reads)."""
        with self._lock:
            return self._entries.get(org_id)
