"""(d) ``burst_calls`` whole calls (voice, gather, status) back to back, ``burst_concurrency`` in
flight, until every card is at the Slack stand-in."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.load import send, session
from bench.plan import Plan
from bench.process import ServerProcess
from bench.signed import CallRequests, TwilioSigner
from bench.standin import StandIn
from bench.stats import Summary, samples_ms

PREFIX = "burst"
CARDS_TIMEOUT = 120.0


@dataclass
class Burst:
    """``elapsed``: from the first request to the last card's arrival."""

    calls: int
    cards: int = 0
    cards_elsewhere: int = 0
    """With another channel: how many of the burst's cards reached it."""
    elapsed: float = 0.0
    sending: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    server_cpu: float = 0.0

    @property
    def cards_per_s(self) -> float:
        return self.cards / self.elapsed if self.elapsed else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cards": self.cards,
            "cards_elsewhere": self.cards_elsewhere,
            "elapsed_s": round(self.elapsed, 4),
            "webhooks_elapsed_s": round(self.sending, 4),
            "cards_per_s": round(self.cards_per_s, 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_cpu_ms_per_call": round(self.server_cpu / self.calls * 1000, 3) if self.calls else None,
            "gather_to_card_ms": Summary.of_seconds(self.latencies).as_dict(),
            "gather_to_card_samples_ms": samples_ms(self.latencies),
        }


async def burst(
    server: ServerProcess, standin: StandIn, plan: Plan, elsewhere: Callable[[], list[float]] | None = None
) -> Burst:
    """The burst; with ``elsewhere`` (the arrival stamps of the burst's cards at another channel's
    stand-in), each card must also reach that channel, and the burst ends at the last arrival."""
    signer = TwilioSigner(server.url)
    calls = [signer.call(100_000 + i, f"{PREFIX}-{i:04d}") for i in range(plan.burst_calls)]
    result, sent = Burst(len(calls)), dict[str, float]()
    watch = standin.cards(standin.mark(), PREFIX)
    gate, cpu = asyncio.Semaphore(plan.burst_concurrency), server.cpu_seconds()
    async with session(server.url, plan.burst_concurrency) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_play(client, gate, call, sent, result.statuses) for call in calls))
        result.sending = time.perf_counter() - started

    def arrived() -> bool:
        return len(watch.update()) >= len(calls) and (elsewhere is None or len(elsewhere()) >= len(calls))

    await standin.until(arrived, CARDS_TIMEOUT)
    arrivals, result.server_cpu = watch.update(), server.cpu_seconds() - cpu
    there = elsewhere() if elsewhere else []
    result.cards, result.cards_elsewhere = len(arrivals), len(there)
    result.elapsed = max([*arrivals.values(), *there], default=started) - started
    result.latencies = [at - sent[token] for token, at in arrivals.items()]
    return result


async def _play(
    client: aiohttp.ClientSession,
    gate: asyncio.Semaphore,
    call: CallRequests,
    sent: dict[str, float],
    statuses: Counter[int],
) -> None:
    async with gate:
        for step in (call.voice, call.gather, call.status):
            if step is call.gather:
                sent[call.token] = time.perf_counter()
            status, _ = await send(client, step)
            statuses[status] += 1
