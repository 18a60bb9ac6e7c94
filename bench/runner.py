"""The order of a run: the bare baseline, then per database the minimal baseline, Centralita (a, d,
c, b, f, u), the Slack-side baselines, the escalation server (e), the slow-Slack servers (t), the
database outage (s, PostgreSQL), then the figures of bench/extras.py (g–r)."""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.context import Context
from bench.databases import Databases, DbSlot
from bench.extras import SCENARIOS
from bench.figure import Outcome
from bench.load import LoadResult
from bench.plan import Plan
from bench.process import ServerProcess
from bench.results import BareRun, DbRun
from bench.scenarios import (
    burst,
    card_latency,
    claims,
    direct,
    escalation,
    outage,
    slack_outage,
    slow_slack,
    webhook,
)
from bench.standin import StandIn

SETTLE = 1.0


def phase(message: str) -> None:
    """Say what comes next, and freeze what the bench process holds so far: its own garbage
    collections must not delay the stand-in's arrival stamps in the next measurement."""
    print(f"  … {message}", file=sys.stderr, flush=True)
    gc.collect()
    gc.freeze()


MAIN = "abcdfu"
"""The figures of the main Centralita server (with the bare and minimal baselines); ``f`` also reads
the escalation server (e)."""
LETTERS = tuple("abcdefghijklmnopqrstu")


@dataclass
class Runner:
    plan: Plan
    databases: Databases
    log_dir: Path
    only: str | None = None

    def wants(self, letters: str) -> bool:
        return self.only is None or self.only in letters

    async def run(self, kinds: Sequence[str]) -> tuple[BareRun, list[DbRun]]:
        bare = BareRun(LoadResult(), LoadResult(), 0.0)
        async with StandIn() as standin:
            if self.wants(MAIN):
                bare = await self.bare()
            runs = [await self.database(kind, standin) for kind in kinds]
        return bare, runs

    async def bare(self) -> BareRun:
        phase("bare baseline")
        async with ServerProcess("bare", log_dir=self.log_dir) as server:
            await asyncio.sleep(SETTLE)
            rss = server.rss_mb()
            voice = await webhook.voice_load(server, self.plan)
            phase(f"bare: {voice.rate:.0f} req/s")
            acks = await claims.bare_acks(server, self.plan.claims)
        return BareRun(voice, acks, rss)

    async def database(self, kind: str, standin: StandIn) -> DbRun:
        run = DbRun(kind)
        if self.wants(MAIN):
            await self.main_server(run, standin)
        if self.wants("ef"):
            phase(f"{kind}: (e) escalation, {self.plan.open_cards} open cards")
            run.escalation = await escalation.escalation(self.databases, kind, standin, self.plan, self.log_dir)
        if self.wants("t"):
            await self.slow_slack(run)
        if kind == "postgres" and self.wants("s"):
            await self.outage(run, standin)
        await self.extras(run)
        return run

    async def main_server(self, run: DbRun, standin: StandIn) -> None:
        """(a), (d), (c), (b), (f), (u) on one Centralita server, then the Slack-side baselines."""
        kind = run.kind
        async with self.databases.fresh(kind, "main") as slot, self.databases.fresh(kind, "minimal") as other:
            server = ServerProcess("centralita", slot, log_dir=self.log_dir, slack_url=standin.url)
            async with server:
                await asyncio.sleep(SETTLE)
                run.rss_idle_mb = server.rss_mb()
                phase(f"{kind}: (a) {self.plan.webhook_requests} webhooks, ours and the minimal baseline")
                await self.webhooks(run, server, slot, other)
                await self.centralita(run, server, slot, standin)
                await self.slack_outage(run, server, standin)
        await self.slack_baselines(run, standin)

    async def extras(self, run: DbRun) -> None:
        """The figures of bench/extras.py that this database runs; one that raises becomes a failed
        check, and the others still run."""
        context = Context(self.plan, self.databases, self.log_dir)
        for scenario in SCENARIOS:
            if run.kind not in scenario.kinds or not self.wants(scenario.letters):
                continue
            phase(f"{run.kind}: ({', '.join(scenario.letters)}) {scenario.what}")
            started = time.monotonic()
            try:
                run.extras[scenario.letters] = await scenario.run(context, run.kind)
            except Exception as error:
                traceback.print_exc()
                run.extras[scenario.letters] = Outcome.failed(scenario.letters, error)
            run.extras[scenario.letters].raw["duration_s"] = round(time.monotonic() - started, 1)

    async def slow_slack(self, run: DbRun) -> None:
        phase(f"{run.kind}: (t) {self.plan.slow_slack_claims} claim clicks, Slack at once, then in "
              f"{self.plan.slow_slack_seconds:g} s")  # fmt: skip
        run.slow_slack = await slow_slack.slow_slack(self.databases, run.kind, self.plan, self.log_dir)

    async def outage(self, run: DbRun, standin: StandIn) -> None:
        phase(f"{run.kind}: (s) {self.plan.outage_seconds:g} s database outage, a call every "
              f"{self.plan.outage_interval:g} s")  # fmt: skip
        run.outage = await outage.outage(self.databases, standin, self.plan, self.log_dir)

    async def webhooks(self, run: DbRun, server: ServerProcess, slot: DbSlot, other: DbSlot) -> None:
        async with ServerProcess("minimal", other, log_dir=self.log_dir) as minimal:
            run.voice, run.minimal = await webhook.interleaved(server, minimal, self.plan)
        run.voice_rows = await slot.database().count("call")
        run.minimal_rows = await other.database().count("bench_call")
        phase(f"{run.kind}: (a) {run.voice.rate:.0f} req/s, minimal baseline {run.minimal.rate:.0f} req/s")

    async def centralita(self, run: DbRun, server: ServerProcess, slot: DbSlot, standin: StandIn) -> None:
        phase(f"{run.kind}: (d) burst of {self.plan.burst_calls} calls")
        run.burst = await burst.burst(server, standin, self.plan)
        run.rss_after_burst_mb = server.rss_mb()
        phase(f"{run.kind}: (d) {run.burst.cards_per_s:.0f} cards/s; (c) {self.plan.latency_calls} calls")
        await asyncio.sleep(SETTLE)
        run.latency = await card_latency.card_latency(server, standin, self.plan)
        await self.claim_clicks(run, server, slot)
        run.rss_end_mb = server.rss_mb()

    async def claim_clicks(self, run: DbRun, server: ServerProcess, slot: DbSlot) -> None:
        phase(f"{run.kind}: (b) {self.plan.claims} claim clicks")
        card_ids = await claims.open_cards(slot, burst.PREFIX, self.plan.claims)
        warmup_ids = await claims.open_cards(slot, card_latency.PREFIX, self.plan.latency_calls)
        run.claims = await claims.claim_acks(server, card_ids, warmup_ids)
        run.claims_done = await claims.claimed(slot, card_ids)

    async def slack_outage(self, run: DbRun, server: ServerProcess, standin: StandIn) -> None:
        phase(
            f"{run.kind}: (u) {self.plan.slack_outage_seconds:.0f} s Slack outage, {self.plan.slack_outage_cards} cards"
        )
        run.slack_outage = await slack_outage.slack_outage(server, standin, self.plan)
        phase(f"{run.kind}: (u) last card {run.slack_outage.drain:.1f} s after Slack was back")

    async def slack_baselines(self, run: DbRun, standin: StandIn) -> None:
        phase(f"{run.kind}: Slack-side baselines")
        blocks = standin.card_blocks(card_latency.PREFIX)
        run.round_trips = await direct.round_trips(standin, blocks, self.plan.latency_calls)
        run.blast = await direct.direct_burst(
            standin, blocks, self.plan.burst_calls, self.plan.burst_concurrency, self.databases.workdir
        )
