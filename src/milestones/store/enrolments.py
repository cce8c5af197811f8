"""All SQL about enrolments in IMPORT targets and the audience groups of AUDIENCE_FILTER ones."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, RowMapping, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from milestones.domain.enrolment import EnrolmentRecord
from milestones.store.tables import audience_groups, audience_members, enrolments

# Well under SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 1_000
_ROWS_CHUNK = 5_000
_T = TypeVar("_T")


def _chunks(values: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _upsert_insert(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, in the connection's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class EnrolmentRepository:
    """Enrolments of customers in IMPORT targets; never commits (the unit of work does)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def upsert(self, org_id: int, record: EnrolmentRecord) -> tuple[int, EnrolmentRecord]:
        """Enrol one customer, or change their values if enrolled already: the id and the row.

        A re-enrolment replaces the values but keeps the first ``enrolled_at``.
        """
        insert = _upsert_insert(self._db, enrolments).values(_values(org_id, record))
        statement = insert.on_conflict_do_update(
            index_elements=["target_id", "user_id", "period_id"],
            set_={
                "target_value": insert.excluded.target_value,
                "initial_value": insert.excluded.initial_value,
                "reset_streak": insert.excluded.reset_streak,
            },
        )
        self._db.execute(statement)
        row = (
            self._db.execute(
                select(enrolments).where(
                    enrolments.c.target_id == record.target_id,
                    enrolments.c.user_id == record.user_id,
                    enrolments.c.period_id == (record.period_id or 0),
                )
            )
            .mappings()
            .one()
        )
        return int(row["id"]), enrolment_record(row)

    def upsert_many(self, org_id: int, records: Sequence[EnrolmentRecord]) -> None:
        """Enrol many customers (an import chunk); an existing enrolment gets the new target value.

        Its initial value and streak reset stay as they were; a key given twice keeps the last.
        """
        latest = {(r.target_id, r.user_id, r.period_id or 0): r for r in records}
        rows = [_values(org_id, record) for record in latest.values()]
        insert = _upsert_insert(self._db, enrolments)
        statement = insert.on_conflict_do_update(
            index_elements=["target_id", "user_id", "period_id"],
            set_={"target_value": insert.excluded.target_value},
        )
        for chunk in _chunks(rows, _ROWS_CHUNK):
            self._db.execute(statement, list(chunk))

    def find(self, target_ids: Collection[int], user_ids: Collection[int]) -> list[EnrolmentRecord]:
        """The enrolments of ``user_ids`` in ``target_ids``."""
        if not target_ids or not user_ids:
            return []
        found: list[EnrolmentRecord] = []
        for chunk in _chunks(sorted(user_ids), _IN_CHUNK):
            query = select(enrolments).where(
                enrolments.c.target_id.in_(sorted(target_ids)), enrolments.c.user_id.in_(chunk)
            )
            found.extend(enrolment_record(row) for row in self._db.execute(query).mappings())
        return found

    def for_users(self, org_id: int, user_ids: Collection[int]) -> list[EnrolmentRecord]:
        """Every enrolment of ``user_ids`` in the org, for the engine's batch lookups."""
        found: list[EnrolmentRecord] = []
        for chunk in _chunks(sorted(user_ids), _IN_CHUNK):
            query = select(enrolments).where(
                enrolments.c.org_id == org_id, enrolments.c.user_id.in_(chunk)
            )
            found.extend(enrolment_record(row) for row in self._db.execute(query).mappings())
        return found


@dataclass(frozen=True, slots=True)
class AudienceGroup:
    """An audience group as stored, with how many members it has."""

    id: int
    org_id: int
    name: str
    description: str | None
    member_count: int
    created_at: datetime
    updated_at: datetime


class AudienceRepository:
    """Audience groups and their members; never commits (the unit of work does)."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def create(self, org_id: int, name: str, description: str | None, now: datetime) -> int:
        result = self._db.execute(
            audience_groups.insert().values(
                org_id=org_id, name=name, description=description, created_at=now, updated_at=now
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def find(self, org_ids: Collection[int], group_id: int) -> AudienceGroup | None:
        """One audience group, if it belongs to one of ``org_ids``."""
        row = (
            self._db.execute(
                select(audience_groups).where(
                    audience_groups.c.id == group_id,
                    audience_groups.c.org_id.in_(sorted(org_ids)),
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        count = self._db.execute(
            select(func.count())
            .select_from(audience_members)
            .where(audience_members.c.audience_group_id == group_id)
        ).scalar_one()
        return _audience(row, int(count))

    def add_members(self, group_id: int, user_ids: Collection[int]) -> None:
        """Add customers; those already members stay as they are."""
        rows = [{"audience_group_id": group_id, "user_id": user_id} for user_id in set(user_ids)]
        statement = _upsert_insert(self._db, audience_members).on_conflict_do_nothing()
        for chunk in _chunks(rows, _ROWS_CHUNK):
            self._db.execute(statement, list(chunk))

    def remove_members(self, group_id: int, user_ids: Collection[int]) -> None:
        for chunk in _chunks(sorted(set(user_ids)), _IN_CHUNK):
            self._db.execute(
                delete(audience_members).where(
                    audience_members.c.audience_group_id == group_id,
                    audience_members.c.user_id.in_(chunk),
                )
            )

    def replace_members(self, group_id: int, user_ids: Collection[int]) -> None:
        """Make exactly ``user_ids`` the members."""
        self._db.execute(
            delete(audience_members).where(audience_members.c.audience_group_id == group_id)
        )
        self.add_members(group_id, user_ids)

    def touch(self, group_id: int, now: datetime) -> None:
        self._db.execute(
            update(audience_groups).where(audience_groups.c.id == group_id).values(updated_at=now)
        )

    def members_among(
        self, audience_group_ids: Collection[int], user_ids: Collection[int]
    ) -> set[tuple[int, int]]:
        """The ``(audience_group_id, user_id)`` pairs that are memberships, for batch lookups."""
        if not audience_group_ids or not user_ids:
            return set()
        pairs: set[tuple[int, int]] = set()
        for chunk in _chunks(sorted(user_ids), _IN_CHUNK):
            query = select(audience_members.c.audience_group_id, audience_members.c.user_id).where(
                audience_members.c.audience_group_id.in_(sorted(audience_group_ids)),
                audience_members.c.user_id.in_(chunk),
            )
            pairs.update((int(group), int(user)) for group, user in self._db.execute(query))
        return pairs


def _values(org_id: int, record: EnrolmentRecord) -> dict[str, object]:
    return {
        "org_id": org_id,
        "target_id": record.target_id,
        "user_id": record.user_id,
        "period_id": record.period_id or 0,
        "target_value": record.target_value,
        "initial_value": record.initial_value,
        "reset_streak": record.reset_streak,
        "enrolled_at": record.enrolled_at,
    }


def enrolment_record(row: RowMapping) -> EnrolmentRecord:
    """An ``enrolments`` row as the engine reads it."""
    return EnrolmentRecord(
        target_id=row["target_id"],
        user_id=row["user_id"],
        period_id=row["period_id"] or None,
        target_value=row["target_value"],
        initial_value=row["initial_value"],
        reset_streak=row["reset_streak"],
        enrolled_at=row["enrolled_at"],
    )


def _audience(row: RowMapping, member_count: int) -> AudienceGroup:
    return AudienceGroup(
        id=row["id"],
        org_id=row["org_id"],
        name=row["name"],
        description=row["description"],
        member_count=member_count,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
