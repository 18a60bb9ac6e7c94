"""``GET /metrics``: Prometheus text format. The process's own counters (``bot.telemetry``) and, read
at each scrape, what the database says (``bot.services.metrics``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.services.metrics import MetricsReader, MetricsSnapshot
from bot.telemetry import REQUEST_SECONDS


class SnapshotCollector(Collector):
    """The families of the last database snapshot."""

    def __init__(self) -> None:
        self.snapshot = MetricsSnapshot()

    def collect(self) -> Iterator[Any]:
        s = self.snapshot
        cards = GaugeMetricFamily(
            "centralita_cards",
            "Cards by organisation, category, priority and outcome (or state)",
            labels=["org", "category", "priority", "outcome"],
        )
        for org, category, priority, outcome, count in s.cards:
            cards.add_metric([org, category, priority, outcome], count)
        claims = HistogramMetricFamily(
            "centralita_time_to_claim_seconds", "From a card's creation to its claim", labels=["org"]
        )
        for histogram in s.claims:
            buckets = [(_le(bound), count) for bound, count in histogram.buckets]
            claims.add_metric([histogram.org_id], buckets, histogram.total)
        escalations = GaugeMetricFamily(
            "centralita_escalations",
            "Escalation steps fired, by step (whom it notified)",
            labels=["org", "step"],
        )
        for org, step, count in s.escalations:
            escalations.add_metric([org, step or ""], count)
        callbacks = GaugeMetricFamily(
            "centralita_callbacks", "Callbacks not done yet: scheduled, or overdue", labels=["org", "state"]
        )
        for org, state, count in s.callbacks:
            callbacks.add_metric([org, state], count)
        backlog = GaugeMetricFamily(
            "centralita_outbox_backlog", "Deliveries not sent yet", labels=["channel"]
        )
        oldest = GaugeMetricFamily(
            "centralita_outbox_oldest_seconds",
            "How long the oldest pending delivery has been due",
            labels=["channel"],
        )
        for channel, count, age in s.backlog:
            backlog.add_metric([channel], count)
            oldest.add_metric([channel], age)
        yield from (cards, claims, escalations, callbacks, backlog, oldest)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def metrics_route(app: FastAPI, reader: MetricsReader) -> None:
    """``GET /metrics``; the database's families live in a registry of this app's own (a process may
    hold several apps, as the tests do), the process's counters in the client's default one."""
    collector = SnapshotCollector()
    registry = CollectorRegistry(auto_describe=True)
    registry.register(collector)

    @app.get("/metrics")
    async def metrics() -> Response:
        collector.snapshot = await reader.snapshot()
        body = generate_latest(REGISTRY) + generate_latest(registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


class RequestTimer:
    """ASGI middleware: each request's time to the start of its response, per path. A path no route
    answers (404) counts as ``other``, so scanners cannot grow the label set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path or path in UNTIMED:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = "other" if message.get("status") == 404 else path
                REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, timed)


UNTIMED = frozenset({"/metrics", "/healthz"})


def time_requests(app: FastAPI) -> None:
    app.add_middleware(RequestTimer)
