"""One customer's progress on one target in one period, and how a contribution moves it (§9).

>>> ut = UserTarget(id=1, target_id=7, period_id=3, user_id=9, slot=1,
...     starts_at=datetime(2024, 8, 27, tzinfo=UTC), ends_at=datetime(2024, 8, 28, tzinfo=UTC),
...     target_value=Decimal(1000), achieved_value=Decimal(0))
>>> move = apply_amount(ut, Decimal(1200), datetime(2024, 8, 27, 9, tzinfo=UTC), [])
>>> (move.after, move.achieved_now)
(Decimal('1200'), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from milestones.domain.target_groups import MilestoneTrigger, TriggerValueType

HUNDRED = Decimal(100)


@dataclass(slots=True)
class UserTarget:
    """A customer's progress on a target in one period (or cycle, or slot)."""

    id: int
    target_id: int
    period_id: int
    user_id: int
    slot: int
    starts_at: datetime
    ends_at: datetime
    target_value: Decimal
    achieved_value: Decimal
    achieved_at: datetime | None = None
    enrolled_at: datetime | None = None
    milestones: dict[int, datetime] = field(default_factory=dict)
    # The business time its value got to where it stands: the latest eventTime that moved it.
    reached_at: datetime | None = None

    @property
    def achieved(self) -> bool:
        return self.achieved_at is not None

    @property
    def remaining(self) -> Decimal:
        """How much is still missing to reach the target (never negative)."""
        return max(self.target_value - self.achieved_value, Decimal(0))


# Not frozen: one is made for every target an event reaches, and a frozen dataclass's
# ``__init__`` costs three times as much. Nothing changes a move once it is made.
@dataclass(slots=True)
class Move:
    """What one contribution did to a user target.

    ``achieved_at`` is the target's achievement time right after this move and ``at`` the
    contribution's time (when ``milestones_now`` were reached): an answer shows them as they
    were, even when a later event of the same batch takes them back.
    """

    before: Decimal
    after: Decimal
    amount: Decimal
    achieved_now: bool
    milestones_now: tuple[MilestoneTrigger, ...]
    achieved_at: datetime | None
    at: datetime
    revoked: bool = False
    milestones_revoked: tuple[MilestoneTrigger, ...] = ()


def threshold(trigger: MilestoneTrigger, target_value: Decimal) -> Decimal:
    """The value at which a trigger is achieved."""
    if trigger.value_type is TriggerValueType.PERCENTAGE:
        return target_value * trigger.value / HUNDRED
    return trigger.value


def apply_amount(
    user_target: UserTarget,
    amount: Decimal,
    at: datetime,
    triggers: Sequence[MilestoneTrigger],
    *,
    revoke: bool = False,
) -> Move:
    """Add ``amount`` (negative for a return); achieve the target and triggers once, at ``at``.

    With ``revoke``, a value that falls back under the target takes back the
    achievement and the triggers no longer met.
    """
    before = user_target.achieved_value
    after = before + amount
    user_target.achieved_value = after
    if amount and (user_target.reached_at is None or at > user_target.reached_at):
        user_target.reached_at = at
    achieved_now = False
    if user_target.achieved_at is None and after >= user_target.target_value:
        user_target.achieved_at = at
        achieved_now = True
    if not triggers and not revoke:  # most targets: no milestone to reach or take back
        return Move(before, after, amount, achieved_now, (), user_target.achieved_at, at)
    reached: list[MilestoneTrigger] = []
    reached_before = user_target.milestones
    for trigger in triggers:
        if (
            trigger.is_active
            and trigger.id not in reached_before
            and after >= threshold(trigger, user_target.target_value)
        ):
            reached_before[trigger.id] = at
            reached.append(trigger)
    revoked = False
    taken_back: list[MilestoneTrigger] = []
    if revoke and amount < 0:
        revoked = user_target.achieved_at is not None and after < user_target.target_value
        if revoked:
            user_target.achieved_at = None
        taken_back = [
            trigger
            for trigger in triggers
            if trigger.id in user_target.milestones
            and after < threshold(trigger, user_target.target_value)
        ]
        for trigger in taken_back:
            del user_target.milestones[trigger.id]
    return Move(
        before,
        after,
        amount,
        achieved_now,
        tuple(reached),
        achieved_at=user_target.achieved_at,
        at=at,
        revoked=revoked,
        milestones_revoked=tuple(taken_back),
    )


__all__ = ["UTC", "Move", "UserTarget", "apply_amount", "threshold"]
