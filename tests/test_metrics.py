"""``GET /metrics``: Prometheus text the client's own parser reads, and figures that move with what
callers and staff do."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, eventually, outbox_settled

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(app: Centralita) -> Samples:
    response = await app.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_parse_and_move_with_calls_and_claims(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:  # type: ignore[attr-defined]
        before = await scrape(app)
        await app.call("+34600111222", "Hola, quería saber el horario")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        opened = await scrape(app)
        [card] = await db.cards()
        clock.advance(timedelta(minutes=3))
        assert (await app.claim(card.id or 0, "U0ANA")).status_code == 200
        await eventually(lambda: _claimed(db))
        claimed = await scrape(app)

    general = {"org": "default", "category": "general", "priority": "normal"}
    assert value(opened, "centralita_cards", **general, outcome="open") == 1
    assert value(claimed, "centralita_cards", **general, outcome="open") == 0
    assert value(claimed, "centralita_cards", **general, outcome="claimed") == 1
    assert value(claimed, "centralita_time_to_claim_seconds_count", org="default") == 1
    assert value(claimed, "centralita_time_to_claim_seconds_bucket", org="default", le="120.0") == 0
    assert value(claimed, "centralita_time_to_claim_seconds_bucket", org="default", le="300.0") == 1
    assert round(value(claimed, "centralita_time_to_claim_seconds_sum", org="default"), 3) == 180
    voice = "centralita_http_request_seconds_count"
    assert value(opened, voice, route="/twilio/voice") - value(before, voice, route="/twilio/voice") == 1
    assert value(claimed, voice, route="/slack/events") - value(opened, voice, route="/slack/events") == 1
    sent = "centralita_delivery_seconds_count"
    assert value(opened, sent, channel="slack") > value(before, sent, channel="slack")


async def _claimed(db: Database) -> bool:
    return [c.status for c in await db.cards()] == ["claimed"]


async def test_metrics_count_platform_errors_and_the_outbox_backlog(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    slack.refuse("chat.postMessage", "channel_not_found", channel="C0RECEP")
    async with Centralita(db, clock, slack.url) as app:  # type: ignore[attr-defined]
        before = await scrape(app)
        await app.call("+34600111222", "Hola, quería saber el horario")
        await outbox_settled(db)
        after = await scrape(app)
        slack.down = True
        await app.call("+34600111333", "Hola otra vez")
        await eventually(lambda: _pending(db))
        backlog = await scrape(app)
        slack.down = False

    errors = "centralita_platform_errors_total"
    labels = {"platform": "slack", "code": "channel_not_found"}
    assert value(after, errors, **labels) - value(before, errors, **labels) == 1
    assert value(backlog, "centralita_outbox_backlog", channel="slack") >= 1


async def _pending(db: Database) -> bool:
    return any(row.status == "pending" and row.attempts >= 1 for row in await db.outbox())


def test_the_example_dashboard_queries_only_metrics_that_exist() -> None:
    import json
    import re
    from pathlib import Path

    dashboard = json.loads(
        (Path(__file__).parent.parent / "docs" / "grafana-dashboard.json").read_text("utf-8")
    )
    exposed = {
        "centralita_cards",
        "centralita_time_to_claim_seconds_bucket",
        "centralita_escalations",
        "centralita_callbacks",
        "centralita_outbox_backlog",
        "centralita_outbox_oldest_seconds",
        "centralita_delivery_seconds_bucket",
        "centralita_http_request_seconds_bucket",
        "centralita_platform_errors_total",
    }
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"centralita_\w+", target["expr"])
    }
    assert used and used <= exposed, used - exposed
