"""Orgs, their connections, API clients and access tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from milestones.domain.orgs import ApiClient, Org
from milestones.store.bulk import BulkSql
from milestones.store.tables import access_tokens, api_clients, org_connections, orgs


class OrgRepository:
    """All SQL about orgs and their clients."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_org(self, org: Org, now: datetime) -> None:
        self._db.execute(
            insert(orgs).values(
                id=org.id,
                name=org.name,
                time_zone=org.time_zone,
                retro_buffer_days=org.retro_buffer_days,
                revoke_on_return=org.revoke_on_return,
                leaderboards_enabled=org.leaderboards_enabled,
                created_at=now,
            )
        )

    def get_org(self, org_id: int) -> Org | None:
        # Driver-level: every authenticated request and every one-event call reads its org,
        # and SQLAlchemy's execution of a Core select cost more than the read itself.
        rows = BulkSql(self._db).rows(
            "SELECT id, name, time_zone, retro_buffer_days, revoke_on_return,"
            " leaderboards_enabled FROM orgs WHERE id = ?",
            (org_id,),
        )
        if not rows:
            return None
        id_, name, time_zone, retro_buffer_days, revoke_on_return, leaderboards = rows[0]
        return Org(
            id=id_,
            name=name,
            time_zone=time_zone,
            retro_buffer_days=retro_buffer_days,
            revoke_on_return=bool(revoke_on_return),
            leaderboards_enabled=bool(leaderboards),
        )

    def update_settings(
        self,
        org_id: int,
        *,
        retro_buffer_days: int | None = None,
        revoke_on_return: bool | None = None,
        leaderboards_enabled: bool | None = None,
        time_zone: str | None = None,
    ) -> None:
        values: dict[str, object] = {
            "retro_buffer_days": retro_buffer_days,
            "revoke_on_return": revoke_on_return,
            "leaderboards_enabled": leaderboards_enabled,
            "time_zone": time_zone,
        }
        changes = {key: value for key, value in values.items() if value is not None}
        if changes:
            self._db.execute(update(orgs).where(orgs.c.id == org_id).values(**changes))

    def connect(self, org_id: int, other_org_id: int) -> None:
        """Connect two orgs; a connection works both ways."""
        for a, b in ((org_id, other_org_id), (other_org_id, org_id)):
            exists = self._db.execute(
                select(org_connections.c.org_id).where(
                    org_connections.c.org_id == a, org_connections.c.connected_org_id == b
                )
            ).first()
            if exists is None:
                self._db.execute(insert(org_connections).values(org_id=a, connected_org_id=b))

    def connected_org_ids(self, org_id: int) -> set[int]:
        rows = self._db.execute(
            select(org_connections.c.connected_org_id).where(org_connections.c.org_id == org_id)
        )
        return {row[0] for row in rows}

    def add_client(
        self, org_id: int, client_id: str, secret_hash: str, name: str, now: datetime
    ) -> int:
        result = self._db.execute(
            insert(api_clients).values(
                org_id=org_id,
                client_id=client_id,
                secret_hash=secret_hash,
                name=name,
                created_at=now,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def client_with_secret(self, client_id: str) -> tuple[ApiClient, str] | None:
        row = (
            self._db.execute(select(api_clients).where(api_clients.c.client_id == client_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return _client(row), row["secret_hash"]

    def client_for_token(self, token_hash: str, now: datetime) -> ApiClient | None:
        row = (
            self._db.execute(
                select(api_clients)
                .join(access_tokens, access_tokens.c.api_client_id == api_clients.c.id)
                .where(access_tokens.c.token_hash == token_hash, access_tokens.c.expires_at > now)
            )
            .mappings()
            .first()
        )
        return None if row is None else _client(row)

    def add_token(
        self, token_hash: str, api_client_id: int, expires_at: datetime, now: datetime
    ) -> None:
        self._db.execute(delete(access_tokens).where(access_tokens.c.expires_at <= now))
        self._db.execute(
            insert(access_tokens).values(
                token_hash=token_hash, api_client_id=api_client_id, expires_at=expires_at
            )
        )

    def client_exists(self, client_id: str) -> bool:
        found = self._db.execute(
            select(api_clients.c.id).where(api_clients.c.client_id == client_id)
        ).first()
        return found is not None


def _client(row: RowMapping) -> ApiClient:
    return ApiClient(
        id=row["id"], org_id=row["org_id"], client_id=row["client_id"], name=row["name"]
    )


def clients_by_id(connection: Connection, client_ids: set[int]) -> dict[int, ApiClient]:
    """The API clients named in attributions, by id."""
    if not client_ids:
        return {}
    rows = connection.execute(select(api_clients).where(api_clients.c.id.in_(sorted(client_ids))))
    return {row["id"]: _client(row) for row in rows.mappings()}
