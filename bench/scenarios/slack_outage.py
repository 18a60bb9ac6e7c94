"""(u) A Slack outage with cards queued: the stand-in answers every call with 503 for
``slack_outage_seconds``, while ``slack_outage_cards`` calls (``burst_concurrency`` in flight) make cards at its
start; then Slack is back. The figure is the time from that moment to the last card's arrival.
Baseline: the same number of calls with Slack up, from the first request to the last card (the pace
at which Centralita posts that many cards when nothing is wrong)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.load import send, session
from bench.plan import Plan
from bench.process import ServerProcess
from bench.signed import CallRequests, TwilioSigner
from bench.standin import StandIn, card_token

PREFIX = "outage"
UP_PREFIX = "slackup"
CARDS_TIMEOUT = 60.0


@dataclass
class SlackOutage:
    """``drain``: from Slack back to the last queued card's arrival; ``baseline``: with Slack up, from
    the first request to the last card."""

    cards: int
    outage_seconds: float = 0.0
    arrived: int = 0
    posts: int = 0
    """Card posts that reached the stand-in for the queued calls (a duplicate would make it more)."""
    drain: float = 0.0
    baseline_arrived: int = 0
    baseline: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cards": self.cards,
            "outage_s": self.outage_seconds,
            "arrived": self.arrived,
            "posts": self.posts,
            "recovery_to_last_card_ms": round(self.drain * 1000, 1),
            "baseline_arrived": self.baseline_arrived,
            "baseline_first_request_to_last_card_ms": round(self.baseline * 1000, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


async def slack_outage(server: ServerProcess, standin: StandIn, plan: Plan) -> SlackOutage:
    result = SlackOutage(plan.slack_outage_cards, plan.slack_outage_seconds)
    result.baseline_arrived, result.baseline = await _cards_with_slack_up(server, standin, plan, result)
    mark, signer = standin.mark(), TwilioSigner(server.url)
    calls = [signer.call(300_000 + i, f"{PREFIX}-{i:04d}") for i in range(plan.slack_outage_cards)]
    standin.fake.down = True
    try:
        down_at = time.perf_counter()
        await _play(server, calls, plan.burst_concurrency, result.statuses)
        await asyncio.sleep(max(0.0, down_at + plan.slack_outage_seconds - time.perf_counter()))
    finally:
        standin.fake.down = False
    back_at = time.perf_counter()
    watch = standin.cards(mark, PREFIX)
    await standin.until(lambda: len(watch.update()) >= len(calls), CARDS_TIMEOUT)
    arrivals = watch.update()
    result.arrived = len(arrivals)
    result.posts = sum(card_token(call, PREFIX) is not None for call in standin.fake.calls[mark:])
    result.drain = max(arrivals.values(), default=back_at) - back_at
    return result


async def _cards_with_slack_up(
    server: ServerProcess, standin: StandIn, plan: Plan, result: SlackOutage
) -> tuple[int, float]:
    signer = TwilioSigner(server.url)
    calls = [signer.call(310_000 + i, f"{UP_PREFIX}-{i:04d}") for i in range(plan.slack_outage_cards)]
    watch = standin.cards(standin.mark(), UP_PREFIX)
    started = time.perf_counter()
    await _play(server, calls, plan.burst_concurrency, result.statuses)
    await standin.until(lambda: len(watch.update()) >= len(calls), CARDS_TIMEOUT)
    arrivals = watch.update()
    return len(arrivals), max(arrivals.values(), default=started) - started


async def _play(
    server: ServerProcess, calls: list[CallRequests], concurrency: int, statuses: Counter[int]
) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(call: CallRequests) -> None:
        async with gate:
            for step in (call.voice, call.gather, call.status):
                status, _ = await send(client, step)
                statuses[status] += 1

    async with session(server.url, concurrency) as client:
        await asyncio.gather(*(one(call) for call in calls))
