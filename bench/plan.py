"""How much work each figure does: the full run and ``--quick``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    webhook_requests: int = 2000
    webhook_warmup: int = 200
    webhook_concurrency: int = 50
    claims: int = 200
    latency_calls: int = 20
    latency_interval: float = 1.0
    burst_calls: int = 200
    burst_concurrency: int = 20
    open_cards: int = 10_000
    due_cards: int = 1_000
    lone_cards: int = 5
    due_in_seconds: float = 3.0
    slow_slack_claims: int = 50
    slow_slack_seconds: float = 5.0
    outage_seconds: float = 20.0
    outage_interval: float = 0.5
    outage_baseline_calls: int = 10
    slack_outage_cards: int = 50
    slack_outage_seconds: float = 60.0
    teams_claims: int = 20
    accepts: int = 100
    callbacks: int = 10_000
    callbacks_due: int = 1_000
    callbacks_lone: int = 5
    messages: int = 100
    message_replies: int = 100
    message_warmup: int = 5
    digest_cards: int = 250_000
    busy_claims: int = 200
    calibrate_rows: int = 20_000
    history_cards: int = 1_000_000
    erase_cards: int = 1_000_000
    organisations: int = 100

    def __post_init__(self) -> None:
        if self.claims > self.burst_calls:
            raise ValueError("the claim clicks use the burst's cards: claims must be <= burst_calls")
        if self.due_cards + self.lone_cards >= self.open_cards:
            raise ValueError("open_cards must be more than due_cards + lone_cards")


FULL = Plan()
QUICK = Plan(
    webhook_requests=500,
    webhook_warmup=100,
    claims=50,
    latency_calls=5,
    burst_calls=50,
    open_cards=2_000,
    due_cards=200,
    lone_cards=3,
    slow_slack_claims=20,
    outage_seconds=10.0,
    outage_baseline_calls=5,
    slack_outage_seconds=20.0,
    teams_claims=5,
    accepts=30,
    callbacks=2_000,
    callbacks_due=200,
    callbacks_lone=3,
    messages=30,
    message_replies=30,
    message_warmup=3,
    digest_cards=50_000,
    busy_claims=50,
    calibrate_rows=5_000,
    history_cards=100_000,
    erase_cards=100_000,
)
