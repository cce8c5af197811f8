"""The unit tests' FakeEngineStore keeps the storage contract SqlEngineStore keeps.

The unit scenario (every kind of group, duplicates, returns, a CARRY, a re-anchoring,
refusals) runs batch by batch on both stores, over the same groups as the database
loads them; the answers and everything saved must be the same. Run this when the
engine's storage changes: a fake that drifts from the real store tests nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from milestones.clock import Clock
from milestones.domain.periods import PeriodWindow
from milestones.domain.target_groups import (
    GroupDraft,
    PeriodDraft,
    TargetDraft,
    TargetGroup,
    TriggerDraft,
)
from milestones.engine.catalogue import CatalogueCache
from milestones.engine.ingest import EventOutcome, ingest
from milestones.store.database import Database
from milestones.store.engine import SqlEngineStore
from milestones.store.ledger import ledger_rows
from milestones.store.tables import (
    contributions,
    events,
    user_cycles,
    user_group_periods,
    user_milestones,
    user_target_days,
    user_targets,
)
from milestones.store.target_groups import TargetGroupRepository
from tests.conftest import make_org
from tests.unit.builders import ORG
from tests.unit.fake_store import FakeEngineStore
from tests.unit.scenario import month_of_two_customers

Saved = dict[str, object]


def _draft(group: TargetGroup) -> GroupDraft:
    """A builder's group as a create would store it (ids left to the database)."""
    placeholder = f"_G_{group.id}_"
    return GroupDraft(
        org_id=group.org_id,
        name=group.name,
        description=group.description,
        active=group.active,
        preferred_till_id=group.preferred_till_id,
        tracking_type=group.tracking_type,
        evaluation_type=group.evaluation_type,
        frequency_type=group.frequency_type,
        frequency=group.frequency,
        total_periods=group.total_periods,
        recurring_cycles=group.recurring_cycles,
        cycle_start=group.cycle_start,
        cycle_end=group.cycle_end,
        time_zone=group.time_zone,
        combination_type=group.combination_type,
        unified_aggregation=group.unified_aggregation,
        unified_threshold=group.unified_threshold,
        leaderboard_enabled=group.leaderboard_enabled,
        user_created=group.user_created,
        periods=[
            PeriodDraft(
                PeriodWindow(
                    p.window.ref_code.replace(placeholder, "_G_{group_id}_"),
                    p.window.starts_at,
                    p.window.ends_at,
                ),
                p.description,
                p.active,
            )
            for p in group.periods
        ],
        targets=[
            TargetDraft(
                name=t.name,
                description=t.description,
                active=t.active,
                entity=t.entity,
                target_type=t.target_type,
                event_name=t.event_name,
                expression=t.expression,
                expression_json=t.expression_json,
                filters=t.filters,
                enrolment_method=t.enrolment_method,
                audience_filter=t.audience_filter,
                extended_field_info=t.extended_field_info,
                alternate_currency_identifier=t.alternate_currency_identifier,
                program_id=t.program_id,
                default_values=[value.value for value in t.default_values],
                triggers=[
                    TriggerDraft(r.name, r.trigger_type, r.value_type, r.value, r.is_active)
                    for r in t.triggers
                ],
            )
            for t in group.targets
        ],
        streaks=[(level.name, level.target_count) for level in group.streaks],
    )


def _answers(outcomes: list[EventOutcome]) -> list[object]:
    return [
        (
            o.event_id,
            o.status,
            o.errors,
            [
                (
                    e.kind,
                    e.tracked.id,
                    e.period.id,
                    e.user_target.id,
                    e.move.before,
                    e.move.after,
                    e.move.achieved_now,
                    e.move.achieved_at,
                    [t.id for t in e.move.milestones_now],
                    e.move.revoked,
                    e.capped,
                    e.excess,
                    e.group_achieved_now,
                    [(s.rule.id, e.streak_user_target_id(s)) for s in e.streaks_achieved],
                )
                for e in o.effects
            ],
        )
        for o in outcomes
    ]


def _sql_saved(connection: Connection) -> Saved:
    def rows(query: Select[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in connection.execute(query)]

    event_ids = {pk: event_id for pk, event_id in rows(select(events.c.id, events.c.event_id))}
    return {
        "user_targets": sorted(
            rows(
                select(
                    user_targets.c.id,
                    user_targets.c.target_id,
                    user_targets.c.period_id,
                    user_targets.c.user_id,
                    user_targets.c.slot,
                    user_targets.c.starts_at,
                    user_targets.c.ends_at,
                    user_targets.c.target_value,
                    user_targets.c.achieved_value,
                    user_targets.c.achieved_at,
                    user_targets.c.reached_at,
                )
            )
        ),
        "milestones": sorted(rows(select(user_milestones))),
        "days": sorted(rows(select(user_target_days))),
        "ledger": [
            (event_ids[row.event_pk], row.user_target_id, row.amount, row.kind)
            for row in ledger_rows(connection)
        ],
        # EXCESS entries are also rows of ``contributions``, under the same id.
        "excess": [
            (event_ids[pk], ut, amount, kind)
            for _, pk, ut, amount, kind in sorted(
                rows(
                    select(
                        contributions.c.id,
                        contributions.c.event_pk,
                        contributions.c.user_target_id,
                        contributions.c.amount,
                        contributions.c.kind,
                    )
                )
            )
        ],
        "events": sorted(
            rows(
                select(
                    events.c.event_id,
                    events.c.status,
                    events.c.bill_amount,
                    events.c.returned_amount,
                    events.c.returned_lines,
                )
            )
        ),
        "anchors": sorted(rows(select(user_cycles))),
        "group_periods": sorted(rows(select(user_group_periods))),
    }


def _fake_saved(store: FakeEngineStore) -> Saved:
    return {
        "user_targets": sorted(
            (
                r.id,
                r.target_id,
                r.period_id,
                r.user_id,
                r.slot,
                r.starts_at,
                r.ends_at,
                r.target_value,
                r.achieved_value,
                r.achieved_at,
                r.reached_at,
            )
            for r in store.user_target_rows.values()
        ),
        "milestones": sorted((*key, at) for key, at in store.milestones.items()),
        "days": sorted((*key, *value) for key, value in store.days.items()),
        "ledger": [
            (store.events[e.event_pk].event_id, e.user_target_id, e.amount, e.kind)
            for e in sorted(store.ledger.values(), key=lambda e: e.id)
        ],
        "excess": [
            (store.events[e.event_pk].event_id, e.user_target_id, e.amount, e.kind)
            for e in sorted(store.ledger.values(), key=lambda e: e.id)
            if e.kind == "EXCESS"
        ],
        "events": sorted(
            (e.event_id, e.status, e.bill_amount, e.returned_amount, e.returned_lines)
            for e in store.events.values()
        ),
        "anchors": sorted((*key, at) for key, at in store.anchors.items()),
        "group_periods": sorted((*key, at) for key, at in store.group_periods.items()),
    }


def test_the_fake_store_answers_and_saves_what_the_sql_store_does(
    database: Database, clock: Clock
) -> None:
    make_org(database, clock, ORG.id)
    scenario = month_of_two_customers()
    created = datetime(2024, 7, 1, tzinfo=UTC)
    with database.transaction() as connection:
        repository = TargetGroupRepository(connection)
        ids = [repository.add(_draft(group), 1, created) for group in scenario.groups]
        groups = repository.load(ids)
    fake = FakeEngineStore.of(*groups)
    sql_cache, fake_cache = CatalogueCache(), CatalogueCache()

    for batch in scenario.batches:
        with database.transaction() as connection:
            sql_store = SqlEngineStore(connection)
            from_sql = ingest(sql_store, ORG, batch.submissions, batch.now, sql_cache)
        from_fake = ingest(fake, ORG, batch.submissions, batch.now, fake_cache)
        for fake_answer, sql_answer in zip(_answers(from_fake), _answers(from_sql), strict=True):
            assert fake_answer == sql_answer

    with database.transaction(write=False) as connection:
        saved = _sql_saved(connection)
    assert _fake_saved(fake) == saved
