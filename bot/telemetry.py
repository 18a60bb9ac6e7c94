"""The metrics a process counts itself (Prometheus, the client's default registry): request latency
per route, deliveries' latency per channel, platform errors per code. What the database knows (cards,
escalations, callbacks, outbox backlog) is read at each scrape instead: see ``bot.services.metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "centralita_http_request_seconds",
    "Time to answer a webhook or a click, per route (from the request to the response's start)",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
DELIVERY_SECONDS = Histogram(
    "centralita_delivery_seconds",
    "From a delivery falling due (written, or due for its retry) to it being sent, per channel",
    ["channel"],
    buckets=(*LATENCY_BUCKETS, 30.0, 60.0, 300.0),
)
PLATFORM_ERRORS = Counter(
    "centralita_platform_errors",
    "Errors a platform answered, per platform and code (Slack's error, an SMTP code, http_5xx, …)",
    ["platform", "code"],
)
