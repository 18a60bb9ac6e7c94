"""(a) Signed ``POST /twilio/voice`` under ``webhook_concurrency`` connections, each a new CallSid.

Centralita and the minimal baseline are loaded in alternating rounds (minimal, ours, minimal, ours)
while both servers run, so a slow moment of this shared machine does not land on one side only.
"""

from __future__ import annotations

from bench.load import LoadResult, closed_loop
from bench.plan import Plan
from bench.process import ServerProcess
from bench.signed import TwilioSigner

ROUNDS = 2


async def voice_load(server: ServerProcess, plan: Plan) -> LoadResult:
    """Warm up, then every measured request in one go (the bare baseline)."""
    await _warm_up(server, plan)
    return await _round(server, plan, plan.webhook_warmup, plan.webhook_requests)


async def interleaved(
    ours: ServerProcess, minimal: ServerProcess, plan: Plan
) -> tuple[LoadResult, LoadResult]:
    """(ours, minimal): each warmed up, then ``ROUNDS`` alternating rounds that add up to the plan."""
    results = {ours.url: LoadResult(), minimal.url: LoadResult()}
    for server in (minimal, ours):
        await _warm_up(server, plan)
    size = plan.webhook_requests // ROUNDS
    for index in range(ROUNDS):
        first = plan.webhook_warmup + index * size
        for server in (minimal, ours):
            results[server.url].add(await _round(server, plan, first, size))
    return results[ours.url], results[minimal.url]


async def _warm_up(server: ServerProcess, plan: Plan) -> None:
    await _round(server, plan, 0, plan.webhook_warmup)


async def _round(server: ServerProcess, plan: Plan, first: int, count: int) -> LoadResult:
    signer = TwilioSigner(server.url)
    requests = [signer.incoming(first + i) for i in range(count)]
    cpu = server.cpu_seconds()
    result = await closed_loop(server.url, requests, plan.webhook_concurrency)
    result.server_cpu = server.cpu_seconds() - cpu
    return result


def expected_rows(plan: Plan) -> int:
    return plan.webhook_warmup + plan.webhook_requests // ROUNDS * ROUNDS
