"""Domain errors: what went wrong, in the product's words, with no notion of HTTP.

    MilestonesError
    ├── InvalidInput        a request the rules refuse (field named where one is at fault)
    │   ├── NameTooLong     target group name over 200 characters (code 310008)
    │   ├── HistoryRewrite  an update that would change what has already been counted
    │   ├── LeaderboardsOff / LeaderboardNeedsFixedWindow / GroupLeaderboardOff
    │   │                   leaderboards not enabled for the org (310133), a group that is
    │   │                   not FIXED (310132), a group without leaderboardEnabled (310134)
    ├── NameTaken           a target group name already used in the org (code 310069)
    ├── NotFound            an unknown resource, or one outside the caller's data scope
    ├── DeliveryPending     a manual retry of a delivery still being sent (code 310150)
    ├── StreakCareRefused   a freeze or repair the group or the customer's streak does not
    │                       allow now (code 310160)
    ├── HistoryJobRefused   a backfill or rebuild that cannot run on the group now: another
    │                       is open, the group is inactive, its events were pruned (310170)
    ├── Unauthenticated     missing or bad credentials
    ├── OutOfScope          a DATA-SCOPE-ORG the caller's org is not connected to
    ├── PayloadTooLarge     a body or batch over its limit
    ├── TooManyAttempts     a client id locked out after failed attempts from one address
    └── UnsupportedMediaType  a body that is not of the type the endpoint reads (code 300015)

The API layer maps each class to a status and an error code (``milestones.api.errors``).
"""

from __future__ import annotations

INVALID_INPUT = 300004


class MilestonesError(Exception):
    """Base of every error the product raises on purpose."""

    code: int = INVALID_INPUT

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(MilestonesError):
    """The input breaks a rule; ``field`` names the culprit where there is one."""


class NameTooLong(InvalidInput):
    """A target group name over 200 characters."""

    code = 310008


class HistoryRewrite(InvalidInput):
    """An update that would rewrite periods or values already in use."""

    code = 310070


class LeaderboardsOff(InvalidInput):
    """A leaderboard group in an org whose leaderboards are not enabled."""

    code = 310133


class LeaderboardNeedsFixedWindow(InvalidInput):
    """A leaderboard group that is not FIXED_CALENDAR_WINDOW."""

    code = 310132


class GroupLeaderboardOff(InvalidInput):
    """A target group whose own ``leaderboardEnabled`` is off."""

    code = 310134


class NameTaken(MilestonesError):
    """A target group with this name (case-insensitive) exists in the org."""

    code = 310069


class NotFound(MilestonesError):
    """No such resource for this caller."""

    code = 300012


class DeliveryPending(MilestonesError):
    """A manual retry of a webhook delivery that is still PENDING (being sent)."""

    code = 310150


class StreakCareRefused(MilestonesError):
    """A freeze grant or a repair that the group's settings or the streak do not allow."""

    code = 310160


class HistoryJobRefused(MilestonesError):
    """A backfill or rebuild the group's state does not allow now (SPEC §16)."""

    code = 310170


class Unauthenticated(MilestonesError):
    """No credentials, or credentials that do not check out."""

    code = 300010


class OutOfScope(MilestonesError):
    """The caller asked for data of an org it is not connected to."""

    code = 300011


class PayloadTooLarge(MilestonesError):
    """A body or a batch over its limit."""

    code = 300013


class TooManyAttempts(MilestonesError):
    """Too many failed credentials for one client id from one address: locked out a while."""

    code = 300429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnsupportedMediaType(MilestonesError):
    """A body whose ``Content-Type`` is not what the endpoint reads (JSON, or CSV)."""

    code = 300015
