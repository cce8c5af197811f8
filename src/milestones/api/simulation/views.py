"""A simulation's figures as the API shows them (the answer, and a SIMULATION job's result)."""

from __future__ import annotations

from decimal import Decimal

from milestones.domain.jobs import JobProgress
from milestones.domain.periods import EvaluationType
from milestones.domain.simulation import Figures, PeriodFigures, SimulationAsk, TargetFigures
from milestones.domain.target_groups import TargetGroup
from milestones.domain.times import utc_text

Json = dict[str, object]


def simulation_view(ask: SimulationAsk, progress: JobProgress, figures: Figures) -> Json:
    """The figures per target and period, the streak levels, and what was read."""
    group = ask.group
    return {
        "from": utc_text(ask.asked.starts_at),
        "to": utc_text(ask.asked.ends_at),
        "eventsRead": progress.done,
        "events": dict(sorted(progress.counts.items())),
        "customersReached": figures.customers,
        "targets": [_target(group, target) for target in figures.targets],
        "streaks": [
            {
                "streakName": streak.level.name,
                "targetCountOfSequence": streak.level.target_count,
                "customersAchieved": streak.achieved,
            }
            for streak in figures.streaks
        ],
    }


def _target(group: TargetGroup, figures: TargetFigures) -> Json:
    target = figures.target
    return {
        "targetName": target.name,
        "targetEntity": target.entity.value,
        "targetType": target.target_type,
        "periods": [_period(group, period) for period in figures.periods],
    }


def _period(group: TargetGroup, figures: PeriodFigures) -> Json:
    period = figures.period
    fixed = group.evaluation_type is EvaluationType.FIXED_CALENDAR_WINDOW
    zone = group.zone
    view: Json = {
        "periodNumber": period.position,
        "periodRefCode": period.ref_code if fixed else None,
        "periodStartDate": period.window.start_date(zone).isoformat() if fixed else None,
        "periodEndDate": period.window.end_date(zone).isoformat() if fixed else None,
        "customersReached": figures.reached,
        "customersAchieved": figures.achieved,
        "milestones": [
            {
                "triggerName": trigger.trigger.name,
                "triggerValueType": trigger.trigger.value_type.value,
                "triggerValue": trigger.trigger.value,
                "customersAchieved": trigger.achieved,
            }
            for trigger in figures.triggers
        ],
        "achievedValue": None
        if figures.quantiles is None
        else {f"p{q}": value for q, value in figures.quantiles.items()},
    }
    if figures.counted is not None:
        view["cappedValue"] = figures.counted
        view["excessValue"] = figures.excess or Decimal(0)
    return view
