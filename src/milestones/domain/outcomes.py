"""The words of an event's outcome: its status (SPEC §6.1) and the kind of each ledger row.

Both are StrEnums: a member is its own string, so answers, stored rows and comparisons
with strings read from the database are the same as with the bare words.

>>> EventStatus.APPLIED == "APPLIED", ContributionKind("CARRY") is ContributionKind.CARRY
(True, True)
"""

from __future__ import annotations

from enum import StrEnum


class EventStatus(StrEnum):
    """How an event was answered, in the order a bulk answer's summary counts them."""

    APPLIED = "APPLIED"  # it moved at least one user target
    DUPLICATE = "DUPLICATE"  # its eventId was stored or seen before, with the same content
    NO_MATCH = "NO_MATCH"  # accepted, but no target counts it
    OUT_OF_WINDOW = "OUT_OF_WINDOW"  # its period had ended, retro buffer included
    REJECTED = "REJECTED"  # malformed, future, a reused eventId, no bill to return: not stored


class ContributionKind(StrEnum):
    """What a ledger row (``contributions.kind``) or a side effect's contributionType is."""

    EVENT = "EVENT"  # an event's reading, counted
    RETURN = "RETURN"  # a return taking back from the user target the bill reached
    CARRY = "CARRY"  # a return taken from the current period, the bill's having closed (§10)
    EXCESS = "EXCESS"  # what a CAPPING target did not count (a ledger row, never answered)
    REPLACE = "REPLACE"  # a CYCLIC re-anchoring re-placed the user target (never stored)
