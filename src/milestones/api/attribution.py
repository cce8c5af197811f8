"""The ``attribution`` block: who made or changed a record, and when."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from milestones.domain.orgs import ApiClient
from milestones.domain.target_groups import Audit
from milestones.domain.times import offset_text


def actor(client_id: int, clients: dict[int, ApiClient]) -> dict[str, object]:
    """The API client as the seeds show a user: id, code, description, name, type."""
    client = clients.get(client_id)
    if client is None:
        return {
            "id": client_id,
            "code": None,
            "description": None,
            "name": None,
            "type": "API_CLIENT",
        }
    return {
        "id": client.id,
        "code": client.client_id,
        "description": "",
        "name": client.name,
        "type": "API_CLIENT",
    }


def attribution(audit: Audit, zone: ZoneInfo, clients: dict[int, ApiClient]) -> dict[str, object]:
    """``createdOn``/``lastUpdatedOn`` in the zone's offset, with their clients."""
    return {
        "createdOn": offset_text(audit.created_at, zone),
        "lastUpdatedOn": offset_text(audit.updated_at, zone),
        "lastUpdatedBy": actor(audit.updated_by, clients),
        "createdBy": actor(audit.created_by, clients),
    }


def audit_client_ids(audits: list[Audit]) -> set[int]:
    ids: set[int] = set()
    for audit in audits:
        ids.add(audit.created_by)
        ids.add(audit.updated_by)
    return ids
