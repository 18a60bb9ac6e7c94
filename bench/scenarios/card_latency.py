"""(c) One call every ``latency_interval`` seconds: from just before the gather webhook (the request
that makes the card) to the card's arrival at the Slack stand-in."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bench.load import send, session
from bench.plan import Plan
from bench.process import ServerProcess
from bench.signed import CallRequests, TwilioSigner
from bench.standin import StandIn

PREFIX = "lat"
CARD_TIMEOUT = 10.0


async def card_latency(server: ServerProcess, standin: StandIn, plan: Plan) -> list[float]:
    """Seconds from gather sent to card arrived, one per call (a lost card counts as the timeout)."""
    signer = TwilioSigner(server.url)
    calls = [signer.call(200_000 + i, f"{PREFIX}-{i:04d}") for i in range(plan.latency_calls)]
    latencies = []
    async with session(server.url, 1) as client:
        started = time.perf_counter()
        for index, call in enumerate(calls):
            await _sleep_until(started + index * plan.latency_interval)
            latencies.append(await _one_call(client, standin, call))
    return latencies


async def _one_call(client: aiohttp.ClientSession, standin: StandIn, call: CallRequests) -> float:
    watch = standin.cards(standin.mark(), PREFIX)
    await send(client, call.voice)
    sent = time.perf_counter()
    await send(client, call.gather)
    arrived = await standin.until(lambda: call.token in watch.update(), CARD_TIMEOUT)
    await send(client, call.status)
    return watch.found[call.token] - sent if arrived else CARD_TIMEOUT


async def _sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.perf_counter()))
