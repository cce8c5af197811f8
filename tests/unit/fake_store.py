"""The unit tests' ``EngineStore``: the in-memory store, with helpers to read it back.

The store itself is production code (:class:`milestones.store.memory.MemoryEngineStore`,
which the simulation of a draft group also runs on); that it saves what
``SqlEngineStore`` saves is checked against a real database by
tests/integration/test_fake_store_contract.py. Seeding (groups, enrolments, audiences,
custom fields) is the store's own; reading back (user targets, ledger rows, stored
events) is here.
"""

from __future__ import annotations

from decimal import Decimal

from milestones.domain.progress import UserTarget
from milestones.store.memory import (
    EventRow,
    LedgerRow,
    MemoryEngineStore,
    UniqueViolation,
    UserTargetRow,
)

__all__ = ["EventRow", "FakeEngineStore", "LedgerRow", "UniqueViolation", "UserTargetRow"]


class FakeEngineStore(MemoryEngineStore):
    """:class:`milestones.engine.ingest.EngineStore` over dicts, for unit tests."""

    def event(self, event_id: str, org_id: int = 1) -> EventRow:
        """A stored event by its eventId (KeyError if it was not stored)."""
        found = next(
            (r for r in self.events.values() if (r.org_id, r.event_id) == (org_id, event_id)),
            None,
        )
        if found is None:
            raise KeyError(event_id)
        return found

    def user_targets(self, target_id: int, user_id: int) -> list[UserTarget]:
        """A customer's stored user targets of one target, in slot order."""
        rows = [
            row
            for row in self.user_target_rows.values()
            if (row.target_id, row.user_id) == (target_id, user_id)
        ]
        return [self.read(row) for row in sorted(rows, key=lambda row: (row.slot, row.starts_at))]

    def values(self, target_id: int, user_id: int) -> list[Decimal]:
        """A customer's achieved values of one target, in slot order."""
        return [ut.achieved_value for ut in self.user_targets(target_id, user_id)]

    def ledger_of(self, user_target_id: int) -> list[tuple[str, Decimal]]:
        """The (kind, amount) ledger rows of one user target, in ledger order."""
        return [
            (entry.kind, entry.amount)
            for entry in sorted(self.ledger.values(), key=lambda entry: entry.id)
            if entry.user_target_id == user_target_id
        ]
