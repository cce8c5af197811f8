"""One month of two customers across every kind of group, in four batches.

Shared by the unit test that runs it on the fake store and by the integration test
that runs it on ``SqlEngineStore`` too and compares what each saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from milestones.domain.periods import FrequencyType
from milestones.domain.target_groups import TargetGroup, TrackingType
from milestones.engine.ingest import Submission
from tests.unit.builders import (
    USER,
    GroupRules,
    agnostic_group,
    at,
    bill,
    bills,
    custom,
    cyclic_group,
    earned,
    fixed_group,
    line,
    line_sales,
    percentage,
    points,
    returned,
    returned_line,
    sales,
    visits,
)
from tests.unit.fake_store import FakeEngineStore

OTHER = USER + 1


@dataclass(frozen=True, slots=True)
class Batch:
    now: datetime
    submissions: list[Submission]


@dataclass(frozen=True, slots=True)
class Scenario:
    groups: list[TargetGroup]
    batches: list[Batch]


def groups() -> list[TargetGroup]:
    """Monthly spend, capped points and spend, agnostic slots, weekly cycles, a weekly streak, unified."""
    monthly = FrequencyType.MONTHLY
    return [
        fixed_group(monthly, "2024-08-01", 3, sales(1000, percentage(50)), line_sales(900, "true")),
        fixed_group(
            monthly,
            "2024-08-01",
            3,
            points(500),
            sales(1000),
            rules=GroupRules(tracking=TrackingType.CAPPING),
        ),
        agnostic_group("2024-08-01", "2024-10-31", 3, sales(1000)),
        cyclic_group(FrequencyType.WEEKLY, "2024-08-01", "2024-10-31", 4, bills(2)),
        fixed_group(
            FrequencyType.WEEKLY,
            "2024-08-05",
            4,
            sales(100),
            rules=GroupRules(tracking=TrackingType.STREAKS, streaks=(2,)),
        ),
        fixed_group(
            monthly,
            "2024-08-01",
            3,
            sales(1000),
            visits(2),
            rules=GroupRules(tracking=TrackingType.UNIFIED),
        ),
    ]


def month_of_two_customers() -> Scenario:
    shoes, hat = line("SHOE", 500, qty=2), line("HAT", 100)
    return Scenario(
        groups(),
        [
            Batch(
                at("2024-08-10T09:01:00Z"),
                [
                    bill("B-1", at("2024-08-10T09:00:00Z"), 600, shoes, hat),
                    earned("P-1", at("2024-08-10T09:00:00Z"), 300),
                ],
            ),
            Batch(
                at("2024-08-14T10:01:00Z"),
                [
                    bill("B-2", at("2024-08-14T09:00:00Z"), 700),
                    bill("B-2", at("2024-08-14T09:00:00Z"), 700),  # DUPLICATE
                    earned("P-2", at("2024-08-14T09:00:00Z"), 300),  # capped at 500
                    bill("B-3", at("2024-08-14T10:00:00Z"), 100, user=OTHER),
                    custom("E-1", at("2024-08-14T10:00:00Z"), "AppOpened"),  # NO_MATCH
                    bill("B-0", at("2024-08-09T09:00:00Z"), 50),  # re-anchors the cycles
                ],
            ),
            Batch(
                at("2024-08-20T09:01:00Z"),
                [
                    returned("R-1", at("2024-08-20T09:00:00Z"), "B-1", None, returned_line("HAT")),
                    returned("R-3", at("2024-08-20T09:00:00Z"), "B-3", user=OTHER),
                    returned(
                        "R-4", at("2024-08-20T09:00:00Z"), "B-3", 1, user=OTHER
                    ),  # nothing left
                ],
            ),
            Batch(
                at("2024-09-02T09:00:00Z"),  # August has ended
                [
                    returned("R-2", at("2024-09-02T08:00:00Z"), "B-2", 350),  # carried
                    earned("P-3", at("2024-08-30T09:00:00Z"), 100),  # OUT_OF_WINDOW
                    bill("B-5", at("2024-09-02T09:06:00Z"), 100),  # REJECTED: future
                    returned("R-9", at("2024-09-02T08:00:00Z"), "B-404", 1),  # REJECTED
                ],
            ),
        ],
    )


Progress = dict[tuple[int, int, int], tuple[Decimal, datetime | None, tuple[int, ...]]]


def saved_progress(store: FakeEngineStore) -> Progress:
    """Every stored user target by (target, slot, customer): value, achieved at, triggers."""
    return {
        (row.target_id, row.slot, row.user_id): (
            row.achieved_value,
            row.achieved_at,
            tuple(sorted(t for (ut, t) in store.milestones if ut == row.id)),
        )
        for row in store.user_target_rows.values()
    }
