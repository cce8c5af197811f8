"""Orgs (tenants), their API clients, and who is calling."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Org:
    """A tenant with its own zone and settings.

    >>> Org(id=50363, name="Demo", time_zone="Asia/Kolkata").zone.key
    'Asia/Kolkata'
    """

    id: int
    name: str
    time_zone: str
    retro_buffer_days: int = 0
    revoke_on_return: bool = False
    leaderboards_enabled: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True, slots=True)
class ApiClient:
    """An API client of one org; it is the "who" in every attribution."""

    id: int
    org_id: int
    client_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated client of a request and the org it acts for."""

    client: ApiClient
    org: Org

    @property
    def org_id(self) -> int:
        return self.org.id
