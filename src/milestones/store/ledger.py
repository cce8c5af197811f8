"""The ledger, packed: each event's contributions in one text column of its ``events`` row.

An event of the benchmark's workload reaches about 61 user targets; a ledger row per
contribution cost about a third of what storing an event took (measured with
``benchmarks/storage_floor.py``). The ledger is read by event (what a returned bill
brought, SPEC §10) and by customer (a CYCLIC re-anchoring replays a customer's
contributions), never by user target, except CAPPING's excess: so each event keeps its
contributions, in the order it made them, in ``events.ledger``, and EXCESS entries are
also kept as rows of ``contributions``, which is indexed by user target for that one read.

Format: entries joined by ``;``, each ``<user target id>,<thousandths>,<kind letter>``;
an entry taken back by a re-anchoring is left empty, so that every entry keeps its
position. An entry's id, where one is needed (a re-placement moves it, an EXCESS row), is
``event pk * 2**20 + position``: unique, and in the order the ledger was written.

>>> EVENT, EXCESS = ContributionKind.EVENT, ContributionKind.EXCESS
>>> packed = pack([(12, 1_200_500, EVENT), None, (13, -5, EXCESS)])
>>> packed
'12,1200500,E;;13,-5,X'
>>> unpack(packed) == [(12, 1_200_500, EVENT), None, (13, -5, EXCESS)]
True
>>> entry_id(7, 2), position_of(entry_id(7, 2))
(7340034, (7, 2))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, text

from milestones.domain.outcomes import ContributionKind
from milestones.store.types import money_from_stored

# (user target id, amount in thousandths, kind); None where an entry was taken back.
Packed = tuple[int, int, ContributionKind]

POSITIONS = 2**20  # entries one event may hold (an event reaches at most a few thousand)
_LETTER = {
    ContributionKind.EVENT: "E",
    ContributionKind.RETURN: "R",
    ContributionKind.CARRY: "C",
    ContributionKind.EXCESS: "X",
    ContributionKind.REPLACE: "P",
}
_KIND = {letter: kind for kind, letter in _LETTER.items()}


class LedgerFull(ValueError):
    """An event cannot hold this many contributions."""


def pack(entries: Iterable[Packed | None]) -> str:
    """The text of ``entries``, in order (None for an entry taken back)."""
    letter = _LETTER
    text = ";".join(
        "" if entry is None else f"{entry[0]},{entry[1]},{letter[entry[2]]}" for entry in entries
    )
    return text


def unpack(text: str | None) -> list[Packed | None]:
    """The entries :func:`pack` wrote, in order."""
    if not text:
        return []
    kind = _KIND
    found: list[Packed | None] = []
    for part in text.split(";"):
        if not part:
            found.append(None)
            continue
        user_target_id, amount, letter = part.split(",")
        found.append((int(user_target_id), int(amount), kind[letter]))
    return found


def entry_id(event_pk: int, position: int) -> int:
    """The id of an event's entry at ``position`` (from 0)."""
    if position >= POSITIONS:
        raise LedgerFull(f"an event holds at most {POSITIONS} contributions")
    return event_pk * POSITIONS + position


def position_of(contribution_id: int) -> tuple[int, int]:
    """(event pk, position) of an entry id."""
    return divmod(contribution_id, POSITIONS)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One stored contribution, as an audit reads the ledger."""

    id: int
    event_pk: int
    user_target_id: int
    amount: Decimal
    kind: ContributionKind


def ledger_rows(connection: Connection, org_id: int | None = None) -> list[LedgerRow]:
    """Every stored contribution (of one org, or all), in ledger order."""
    statement = "SELECT id, ledger FROM events WHERE ledger IS NOT NULL"
    params: dict[str, object] = {}
    if org_id is not None:
        statement += " AND org_id = :org_id"
        params["org_id"] = org_id
    found = [
        LedgerRow(entry_id(pk, position), pk, entry[0], money_from_stored(entry[1]), entry[2])
        for pk, packed in connection.execute(text(statement + " ORDER BY id"), params)
        for position, entry in enumerate(unpack(packed))
        if entry is not None
    ]
    return found
