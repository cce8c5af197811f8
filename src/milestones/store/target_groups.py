"""All SQL about target groups: their periods, targets, per-period values, triggers, streaks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    RowMapping,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)

from milestones.domain.care_settings import PeriodZone, StreakCare
from milestones.domain.periods import EvaluationType, FrequencyType, PeriodWindow
from milestones.domain.streak_care import care_columns
from milestones.domain.target_groups import (
    GROUP_ID_PLACEHOLDER,
    Aggregation,
    Audit,
    CombinationType,
    DefaultValue,
    EnrolmentMethod,
    GroupDraft,
    MilestoneTrigger,
    Period,
    PeriodDraft,
    StreakLevel,
    Target,
    TargetEntity,
    TargetGroup,
    TrackingType,
    TriggerDraft,
    TriggerValueType,
)
from milestones.store.tables import (
    milestone_triggers,
    periods,
    streak_care_versions,
    streaks,
    target_groups,
    target_period_values,
    targets,
    user_targets,
)

_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class GroupFilter:
    """What ``GET /v3/targetGroups`` narrows the list by."""

    org_ids: Sequence[int]
    only_active: bool = False
    include_user_created: bool = False
    tracking_type: TrackingType | None = None


class TargetGroupRepository:
    """Reads and writes target groups; never commits (the unit of work does)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def name_taken(self, org_id: int, name: str, except_group_id: int | None = None) -> bool:
        query = select(target_groups.c.id).where(
            target_groups.c.org_id == org_id, target_groups.c.name_key == name.casefold()
        )
        if except_group_id is not None:
            query = query.where(target_groups.c.id != except_group_id)
        return self._db.execute(query).first() is not None

    def add(self, draft: GroupDraft, client_id: int, now: datetime) -> int:
        """Insert a whole group; returns its id."""
        audit = _audit_values(client_id, now)
        group_id = self._insert(
            target_groups,
            org_id=draft.org_id,
            name=draft.name,
            name_key=draft.name.casefold(),
            description=draft.description,
            active=draft.active,
            preferred_till_id=draft.preferred_till_id,
            tracking_type=draft.tracking_type.value,
            evaluation_type=draft.evaluation_type.value,
            frequency_type=draft.frequency_type.value,
            frequency=draft.frequency,
            total_periods=draft.total_periods,
            recurring_cycles=draft.recurring_cycles,
            cycle_start=draft.cycle_start,
            cycle_end=draft.cycle_end,
            time_zone=draft.time_zone,
            combination_type=draft.combination_type.value if draft.combination_type else None,
            unified_aggregation=draft.unified_aggregation.value
            if draft.unified_aggregation
            else None,
            unified_threshold=draft.unified_threshold,
            leaderboard_enabled=draft.leaderboard_enabled,
            user_created=draft.user_created,
            **care_columns(draft.care),
            **audit,
        )
        period_ids = [
            self.add_period(group_id, position, period, client_id, now)
            for position, period in enumerate(draft.periods, start=1)
        ]
        for position, target in enumerate(draft.targets, start=1):
            target_id = self._insert(
                targets,
                target_group_id=group_id,
                position=position,
                name=target.name,
                description=target.description,
                active=target.active,
                target_entity=target.entity.value,
                target_type=target.target_type,
                event_name=target.event_name,
                expression=target.expression,
                expression_json=target.expression_json,
                filters=target.filters,
                enrolment_method=target.enrolment_method.value,
                audience_filter=target.audience_filter,
                extended_field_info=target.extended_field_info,
                alternate_currency_identifier=target.alternate_currency_identifier,
                program_id=target.program_id,
                **audit,
            )
            self.set_default_values(
                target_id, dict(zip(period_ids, target.default_values, strict=True))
            )
            self._add_triggers(target_id, target.triggers)
        for name, count in draft.streaks:
            self._insert(streaks, target_group_id=group_id, name=name, target_count=count, **audit)
        return group_id

    def add_period(
        self, group_id: int, position: int, period: PeriodDraft, client_id: int, now: datetime
    ) -> int:
        return self._insert(
            periods,
            target_group_id=group_id,
            position=position,
            ref_code=period.window.ref_code.replace(GROUP_ID_PLACEHOLDER, str(group_id)),
            starts_at=period.window.starts_at,
            ends_at=period.window.ends_at,
            description=period.description,
            active=period.active,
            **_audit_values(client_id, now),
        )

    def set_default_values(self, target_id: int, values: dict[int, Decimal]) -> None:
        """Set a target's value for each given period (insert or replace)."""
        if not values:
            return
        self._db.execute(
            delete(target_period_values).where(
                target_period_values.c.target_id == target_id,
                target_period_values.c.period_id.in_(list(values)),
            )
        )
        self._db.execute(
            insert(target_period_values),
            [
                {"target_id": target_id, "period_id": period_id, "default_value": value}
                for period_id, value in values.items()
            ],
        )

    def update_group(
        self, group_id: int, changes: dict[str, object], client_id: int, now: datetime
    ) -> None:
        values = dict(changes)
        if "name" in values:
            values["name_key"] = str(values["name"]).casefold()
        self._db.execute(
            update(target_groups)
            .where(target_groups.c.id == group_id)
            .values(
                **values,
                revision=target_groups.c.revision + 1,
                updated_at=now,
                updated_by=client_id,
            )
        )
        if "leaderboard_enabled" in values:
            # Only a ranked row is in the leaderboard index (a full pass: a rare change).
            self._db.execute(
                update(user_targets)
                .where(user_targets.c.target_group_id == group_id)
                .values(ranked=bool(values["leaderboard_enabled"]))
            )

    def keep_care_version(self, group_id: int, care: StreakCare, until: datetime) -> None:
        """Keep the care settings a change replaces, with the instant they stop applying."""
        columns = care_columns(care)
        del columns["period_zone"]
        self._db.execute(
            insert(streak_care_versions).values(target_group_id=group_id, until=until, **columns)
        )

    def update_target(
        self, target_id: int, changes: dict[str, object], client_id: int, now: datetime
    ) -> None:
        self._db.execute(
            update(targets)
            .where(targets.c.id == target_id)
            .values(**changes, updated_at=now, updated_by=client_id)
        )

    def find(self, org_ids: Sequence[int], group_id: int) -> TargetGroup | None:
        """One group, if it belongs to one of ``org_ids``."""
        found = self._db.execute(
            select(target_groups.c.id).where(
                target_groups.c.id == group_id, target_groups.c.org_id.in_(list(org_ids))
            )
        ).first()
        if found is None:
            return None
        return self.load([group_id])[0]

    def page(self, where: GroupFilter, limit: int, offset: int) -> tuple[list[TargetGroup], int]:
        """A page of groups, newest first, and how many match in all."""
        conditions: list[ColumnElement[bool]] = [target_groups.c.org_id.in_(list(where.org_ids))]
        if where.only_active:
            conditions.append(target_groups.c.active.is_(True))
        if not where.include_user_created:
            conditions.append(target_groups.c.user_created.is_(False))
        if where.tracking_type is not None:
            conditions.append(target_groups.c.tracking_type == where.tracking_type.value)
        total = self._db.execute(
            select(func.count()).select_from(target_groups).where(*conditions)
        ).scalar_one()
        ids = [
            row[0]
            for row in self._db.execute(
                select(target_groups.c.id)
                .where(*conditions)
                .order_by(target_groups.c.created_at.desc(), target_groups.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
        ]
        return self.load(ids), int(total)

    def load(self, group_ids: Sequence[int]) -> list[TargetGroup]:
        """Whole groups for ``group_ids``, in that order."""
        if not group_ids:
            return []
        ids = list(group_ids)
        group_rows = {
            row["id"]: row
            for row in self._db.execute(
                select(target_groups).where(target_groups.c.id.in_(ids))
            ).mappings()
        }
        period_rows = self._children(periods, periods.c.target_group_id, ids, periods.c.position)
        streak_rows = self._children(
            streaks, streaks.c.target_group_id, ids, streaks.c.target_count
        )
        target_rows = self._children(targets, targets.c.target_group_id, ids, targets.c.position)
        target_ids = [row["id"] for rows in target_rows.values() for row in rows]
        values = self._children(
            target_period_values,
            target_period_values.c.target_id,
            target_ids,
            target_period_values.c.id,
        )
        triggers = self._children(
            milestone_triggers, milestone_triggers.c.target_id, target_ids, milestone_triggers.c.id
        )
        care_versions = self._children(
            streak_care_versions,
            streak_care_versions.c.target_group_id,
            ids,
            streak_care_versions.c.until,
        )
        loaded = []
        for group_id in ids:
            row = group_rows[group_id]
            group_periods = [_period(p) for p in period_rows[group_id]]
            order = {period.id: period.position for period in group_periods}
            loaded.append(
                _group(
                    row,
                    group_periods,
                    [
                        _target(t, values[t["id"]], triggers[t["id"]], order)
                        for t in target_rows[group_id]
                    ],
                    [_streak(s) for s in streak_rows[group_id]],
                    tuple(
                        (version["until"], _care(version, PeriodZone(row["period_zone"])))
                        for version in care_versions[group_id]
                    ),
                )
            )
        return loaded

    def _children(
        self, table: Table, key: Column[int], ids: list[int], order: Column[Any]
    ) -> dict[int, list[RowMapping]]:
        grouped: dict[int, list[RowMapping]] = defaultdict(list)
        if not ids:
            return grouped
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            query = select(table).where(key.in_(chunk)).order_by(order)
            for row in self._db.execute(query).mappings():
                grouped[row[key.name]].append(row)
        return grouped

    def _add_triggers(self, target_id: int, triggers: list[TriggerDraft]) -> None:
        if triggers:
            self._db.execute(
                insert(milestone_triggers),
                [
                    {
                        "target_id": target_id,
                        "name": trigger.name,
                        "trigger_type": trigger.trigger_type,
                        "value_type": trigger.value_type.value,
                        "value": trigger.value,
                        "is_active": trigger.is_active,
                    }
                    for trigger in triggers
                ],
            )

    def _insert(self, table: Table, **values: object) -> int:
        result = self._db.execute(insert(table).values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def _audit_values(client_id: int, now: datetime) -> dict[str, object]:
    return {"created_at": now, "created_by": client_id, "updated_at": now, "updated_by": client_id}


def _audit(row: RowMapping) -> Audit:
    return Audit(row["created_at"], row["created_by"], row["updated_at"], row["updated_by"])


def _period(row: RowMapping) -> Period:
    window = PeriodWindow(
        ref_code=row["ref_code"], starts_at=row["starts_at"], ends_at=row["ends_at"]
    )
    return Period(
        row["id"], row["position"], window, row["description"], row["active"], _audit(row)
    )


def _target(
    row: RowMapping, values: list[RowMapping], triggers: list[RowMapping], order: dict[int, int]
) -> Target:
    default_values = sorted(
        (DefaultValue(v["id"], v["period_id"], v["default_value"]) for v in values),
        key=lambda value: order.get(value.period_id, 0),
    )
    return Target(
        id=row["id"],
        group_id=row["target_group_id"],
        position=row["position"],
        name=row["name"],
        description=row["description"],
        active=row["active"],
        entity=TargetEntity(row["target_entity"]),
        target_type=row["target_type"],
        event_name=row["event_name"],
        expression=row["expression"],
        expression_json=row["expression_json"],
        filters=list(row["filters"]),
        enrolment_method=EnrolmentMethod(row["enrolment_method"]),
        audience_filter=list(row["audience_filter"]),
        extended_field_info=row["extended_field_info"],
        alternate_currency_identifier=row["alternate_currency_identifier"],
        program_id=row["program_id"],
        default_values=default_values,
        triggers=[
            MilestoneTrigger(
                t["id"],
                t["name"],
                t["trigger_type"],
                TriggerValueType(t["value_type"]),
                t["value"],
                t["is_active"],
            )
            for t in triggers
        ],
        audit=_audit(row),
    )


def _streak(row: RowMapping) -> StreakLevel:
    return StreakLevel(row["id"], row["name"], row["target_count"], _audit(row))


def _group(
    row: RowMapping,
    group_periods: list[Period],
    group_targets: list[Target],
    levels: list[StreakLevel],
    care_before: tuple[tuple[datetime, StreakCare], ...] = (),
) -> TargetGroup:
    return TargetGroup(
        id=row["id"],
        org_id=row["org_id"],
        name=row["name"],
        description=row["description"],
        active=row["active"],
        preferred_till_id=row["preferred_till_id"],
        tracking_type=TrackingType(row["tracking_type"]),
        evaluation_type=EvaluationType(row["evaluation_type"]),
        frequency_type=FrequencyType(row["frequency_type"]),
        frequency=row["frequency"],
        total_periods=row["total_periods"],
        recurring_cycles=row["recurring_cycles"],
        cycle_start=row["cycle_start"],
        cycle_end=row["cycle_end"],
        time_zone=row["time_zone"],
        combination_type=CombinationType(row["combination_type"])
        if row["combination_type"]
        else None,
        unified_aggregation=Aggregation(row["unified_aggregation"])
        if row["unified_aggregation"]
        else None,
        unified_threshold=row["unified_threshold"],
        leaderboard_enabled=row["leaderboard_enabled"],
        user_created=row["user_created"],
        audit=_audit(row),
        periods=group_periods,
        targets=group_targets,
        streaks=levels,
        care=_care(row, PeriodZone(row["period_zone"])),
        care_before=care_before,
    )


def _care(row: RowMapping, zone: PeriodZone) -> StreakCare:
    return StreakCare(
        max_held=row["freezes_max_held"],
        grant_every=row["freezes_grant_every"],
        repair_window_days=row["repair_window_days"],
        max_repairs=row["max_repairs"],
        at_risk_hours=row["at_risk_hours"],
        period_zone=zone,
    )


def _optional(kind: type[_E], value: str | None) -> _E | None:
    return kind(value) if value else None
