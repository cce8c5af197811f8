"""The Prometheus metrics of SPEC §19, through ``prometheus-client``.

Counters and histograms are module-level, as the client expects. With several server
processes (``milestones serve --workers N``) the client's multiprocess mode is used:
``serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at an empty folder before any worker
starts, each process writes its values there, and a scrape of any one process sums
them all (:func:`exposition`). Gauges read from the database (deliveries pending) are
computed at scrape time; the connection pool's are kept per process and summed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series: they double the text and nobody reads them
CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter(
    "milestones_http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "milestones_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method, route and status",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EVENTS = Counter(
    "milestones_events_total", "Events answered, by outcome status (SPEC §6.1)", ["status"]
)
SIDE_EFFECTS = Counter(
    "milestones_side_effects_total", "Side effects made (user targets moved) by events"
)
BATCH_SIZE = Histogram(
    "milestones_batch_events",
    "Events per ingestion call (1 for POST /v3/events)",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)
NOTIFICATIONS = Counter(
    "milestones_notifications_total", "Notifications written to the outbox, by type", ["type"]
)
DELIVERIES = Counter(
    "milestones_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome: delivered, retry (failed, tried again), failed "
    "(failed for the last time)",
    ["outcome"],
)
DELIVERY_SECONDS = Histogram(
    "milestones_webhook_delivery_duration_seconds",
    "Time an attempt took, from sending to the answer or the timeout",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
POOL_IN_USE = Gauge(
    "milestones_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live processes)",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "milestones_db_pool_connections",
    "Database connections the pool holds, in use or idle (summed over live processes)",
    multiprocess_mode="livesum",
)
READS = Counter(
    "milestones_db_reads_total",
    "Read-only transactions of the user view and leaderboards, by where they were served",
    ["database"],
)


class Tally:
    """What one ingestion call answered, counted once its transaction has committed."""

    def __init__(self) -> None:
        self.statuses: dict[str, int] = {}
        self.effects = 0
        self.events = 0

    def add(self, outcomes: Iterable[Any]) -> None:
        """Outcomes of :func:`milestones.engine.ingest.ingest` (status and effects each)."""
        for outcome in outcomes:
            status = str(outcome.status)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.effects += len(outcome.effects)
            self.events += 1

    def publish(self) -> None:
        for status, count in self.statuses.items():
            EVENTS.labels(status).inc(count)
        if self.effects:
            SIDE_EFFECTS.inc(self.effects)
        if self.events:
            BATCH_SIZE.observe(self.events)


class LiveGauges(Collector):
    """Gauges read when scraped: each is a function returning (labels, value) pairs."""

    def __init__(self, pending: Iterable[tuple[str, float]] | None = None) -> None:
        self._pending = pending

    def collect(self) -> Iterator[Metric]:
        if self._pending is None:
            return
        family = GaugeMetricFamily(
            "milestones_webhook_deliveries_pending",
            "Webhook deliveries not yet delivered nor failed, by subscription",
            labels=["webhook"],
        )
        for webhook, count in self._pending:
            family.add_metric([webhook], count)
        yield family


def exposition(live: Collector | None = None) -> bytes:
    """The text a scrape answers: every process's values, and the live gauges."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        # Process metrics (CPU, memory, open files) are those of the process that answers.
        ProcessCollector(registry=registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    if live is None:
        return generate_latest(registry)
    scrape = CollectorRegistry()
    scrape.register(_Both(registry, live))
    return generate_latest(scrape)


class _Both(Collector):
    def __init__(self, registry: CollectorRegistry, live: Collector) -> None:
        self._registry = registry
        self._live = live

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()
        yield from self._live.collect()
