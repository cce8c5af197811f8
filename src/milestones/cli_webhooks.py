"""``milestones deliver`` and ``milestones webhooks list|deliveries|retry`` (SPEC §15).

These act on the database directly, as an operator does: across orgs, by id.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, select

from milestones.cli_common import DatabaseOption, command_settings, fail, migrated_database
from milestones.clock import Clock
from milestones.delivery import DeliveryWorker, wall_clock
from milestones.domain.errors import MilestonesError, NotFound
from milestones.domain.notifications import DeliveryStatus, NotificationType
from milestones.store.tables import webhooks
from milestones.store.webhooks import WebhookRepository

webhooks_app = typer.Typer(help="Webhook subscriptions and deliveries.", no_args_is_help=True)


def _show(table: Table) -> None:
    """A table on the terminal; piped or captured, rows are never wrapped (URLs stay whole)."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=10_000)
    console.print(table)


def deliver(database: DatabaseOption = None) -> None:
    """Run a webhook delivery worker alone (as many as wanted, on PostgreSQL), until stopped."""
    settings = command_settings(database)
    with migrated_database(database) as db:
        worker = DeliveryWorker(db, settings, Clock(settings.now))

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            await worker.run(stop)

        typer.echo("delivering webhooks; stop with Ctrl-C or SIGTERM", err=True)
        asyncio.run(main())


@webhooks_app.command("list")
def list_webhooks(
    org_id: Annotated[int | None, typer.Option("--org-id", help="Only this org's")] = None,
    database: DatabaseOption = None,
) -> None:
    """Every subscription: id, org, URL, types, whether active."""
    with migrated_database(database) as db, db.transaction(write=False) as connection:
        query = select(webhooks.c.id, webhooks.c.org_id).order_by(webhooks.c.id)
        if org_id is not None:
            query = query.where(webhooks.c.org_id == org_id)
        repository = WebhookRepository(connection)
        found = [repository.get(org, id_) for id_, org in connection.execute(query).all()]
    table = Table("id", "org", "url", "types", "active", "replayed")
    for webhook in found:
        subscription = webhook.subscription
        types = sorted(type_.value for type_ in subscription.types)
        table.add_row(
            str(webhook.id),
            str(webhook.org_id),
            subscription.url,
            "all" if len(types) == len(NotificationType) else ", ".join(types),
            "yes" if subscription.active else "no",
            "yes" if subscription.include_replayed else "no",
        )
    _show(table)


@webhooks_app.command("deliveries")
def list_deliveries(
    webhook_id: Annotated[int, typer.Argument(help="The subscription's id")],
    status: Annotated[
        DeliveryStatus | None, typer.Option("--status", help="Only PENDING, DELIVERED or FAILED")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    database: DatabaseOption = None,
) -> None:
    """A subscription's latest deliveries, newest first."""
    with migrated_database(database) as db:
        try:
            with db.transaction(write=False) as connection:
                repository = WebhookRepository(connection)
                org = _org_of(connection, webhook_id)
                deliveries, total = repository.deliveries(org, webhook_id, status, limit, 0)
        except MilestonesError as error:
            fail(error.message)
    table = Table("id", "sequence", "user", "type", "status", "attempts", "last HTTP", "error")
    for item in deliveries:
        table.add_row(
            str(item.id),
            str(item.sequence),
            str(item.user_id),
            item.type or "",
            item.status.value,
            str(item.attempts),
            "" if item.last_http_status is None else str(item.last_http_status),
            item.last_error or "",
        )
    _show(table)
    typer.echo(f"{len(deliveries)} of {total} shown")


@webhooks_app.command("retry")
def retry_delivery(
    webhook_id: Annotated[int, typer.Argument(help="The subscription's id")],
    delivery_id: Annotated[int, typer.Argument(help="The delivery's id")],
    database: DatabaseOption = None,
) -> None:
    """Send a DELIVERED or FAILED delivery again, with a fresh round of attempts."""
    with migrated_database(database) as db:
        try:
            with db.transaction() as connection:
                org = _org_of(connection, webhook_id)
                retried = WebhookRepository(connection).retry(
                    org, webhook_id, delivery_id, wall_clock()
                )
        except MilestonesError as error:
            fail(error.message)
    if retried is None:
        fail(f"delivery {delivery_id} is PENDING: it is being sent already")
    typer.echo(f"delivery {delivery_id} is PENDING again; a worker sends it next")


def _org_of(connection: Connection, webhook_id: int) -> int:
    org = connection.execute(select(webhooks.c.org_id).where(webhooks.c.id == webhook_id)).scalar()
    if org is None:
        raise NotFound(f"no webhook {webhook_id}", "webhook_id")
    return int(org)
