"""Notifications and webhook subscriptions, in the product's words (SPEC §15).

A notification says that something was achieved or taken back for a customer. The
rules here are pure: which types exist, what a subscription may ask for, and when a
failed delivery is tried again.

>>> NotificationType("milestone.achieved").is_revocation
False
>>> [round(retry_delay(attempt, 5.0, jitter=1.0)) for attempt in range(1, 8)]
[5, 10, 20, 40, 80, 160, 320]
>>> subscribed_types(None) == frozenset(NotificationType)
True
>>> subscribed_types(["group.revoked", "group.revoked"])
frozenset({<NotificationType.GROUP_REVOKED: 'group.revoked'>})
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from milestones.domain.errors import InvalidInput

MAX_ATTEMPTS = 8  # then FAILED, kept for a manual retry
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 500
FEED_PAGE_MAX = 1000


class NotificationType(StrEnum):
    """What happened; the ``type`` of a notification and of a subscription's filter."""

    TARGET_ACHIEVED = "target.achieved"
    TARGET_REVOKED = "target.revoked"
    MILESTONE_ACHIEVED = "milestone.achieved"
    MILESTONE_REVOKED = "milestone.revoked"
    STREAK_ACHIEVED = "streak.achieved"
    STREAK_REVOKED = "streak.revoked"
    STREAK_BROKEN = "streak.broken"  # time-driven: made by the streak sweeper (§17)
    STREAK_FROZEN = "streak.frozen"  # time-driven: made by the streak sweeper (§17)
    STREAK_AT_RISK = "streak.at_risk"  # time-driven: made by the streak sweeper (§17)
    GROUP_ACHIEVED = "group.achieved"
    GROUP_REVOKED = "group.revoked"

    @property
    def is_revocation(self) -> bool:
        return self.value.endswith(".revoked")


class DeliveryStatus(StrEnum):
    """Where one notification stands for one subscription."""

    PENDING = "PENDING"  # to be sent, or to be sent again after a failed attempt
    DELIVERED = "DELIVERED"  # the endpoint answered 2xx
    FAILED = "FAILED"  # every attempt failed; kept for a manual retry


# Not frozen: a bulk call makes tens of thousands (some forty per event of the standard
# mix), and a frozen dataclass's ``__init__`` costs three times as much. Nothing changes
# one once it is made.
@dataclass(slots=True)
class Notice:
    """A notification before it is stored: the outbox row an engine change makes."""

    type: NotificationType
    user_id: int
    occurred_at: datetime  # business time: the eventTime of what caused it
    data: dict[str, object]  # the side effect's fields (group, target, period, values...)


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a webhook subscription asks for, checked (``types`` empty means every type)."""

    url: str
    types: frozenset[NotificationType]
    description: str
    active: bool
    include_replayed: bool

    def wants(self, type_: NotificationType, replayed: bool) -> bool:
        return type_ in self.types and (self.include_replayed or not replayed)


def checked_url(url: str) -> str:
    """An endpoint URL: absolute http(s) with a host, at most 2,000 characters.

    >>> checked_url("https://hooks.example.com/milestones")
    'https://hooks.example.com/milestones'
    >>> checked_url("ftp://example.com")
    Traceback (most recent call last):
    ...
    milestones.domain.errors.InvalidInput: url must be an http:// or https:// URL, not 'ftp'
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url is longer than {MAX_URL_LENGTH} characters", "url")
    try:
        parts = urlsplit(url)
        port = parts.port  # refuses a port that is not a number, or out of range
    except ValueError as exc:
        raise InvalidInput(f"url is not a valid URL: {exc}", "url") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(
            f"url must be an http:// or https:// URL, not {parts.scheme or 'a relative one'!r}",
            "url",
        )
    if not parts.hostname:
        raise InvalidInput("url names no host", "url")
    if any(ord(character) < 33 for character in url):
        raise InvalidInput("url may not contain spaces or control characters", "url")
    del port
    return url


def subscribed_types(types: Iterable[str] | None) -> frozenset[NotificationType]:
    """The types a subscription receives: every type when none are named."""
    if types is None:
        return frozenset(NotificationType)
    chosen: set[NotificationType] = set()
    for index, name in enumerate(types):
        try:
            chosen.add(NotificationType(name))
        except ValueError:
            known = ", ".join(type_.value for type_ in NotificationType)
            raise InvalidInput(
                f"types[{index}]: unknown notification type {name[:100]!r}; known: {known}",
                f"types[{index}]",
            ) from None
    if not chosen:
        raise InvalidInput("types must name at least one type, or be left out for all", "types")
    return frozenset(chosen)


def checked_description(description: str | None) -> str:
    if description is None:
        return ""
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"description is longer than {MAX_DESCRIPTION_LENGTH} characters", "description"
        )
    return description


def retry_delay(attempt: int, base_seconds: float, jitter: float | None = None) -> float:
    """Seconds before the next try, after ``attempt`` (1, 2, ...) failed: the base, doubling.

    ``jitter`` scales the delay; by default a random factor in [0.8, 1.2), so that many
    deliveries failing together do not all come back at the same instant.
    """
    factor = random.uniform(0.8, 1.2) if jitter is None else jitter
    return float(base_seconds * 2 ** (attempt - 1) * factor)
