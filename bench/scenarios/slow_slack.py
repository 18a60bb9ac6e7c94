"""(t) *Claim* clicks while Slack answers every call in 5 s: signed ``block_actions`` → HTTP 200.

A fresh server for each side, so the first click is Bolt's first request after the start (the one
that used to wait for ``auth.test``). The baseline is the same clicks on a server whose stand-in
answers at once. The cards are written straight into the database (they need not reach Slack).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.databases import Databases
from bench.load import LoadResult, sequential
from bench.plan import Plan
from bench.process import ServerProcess
from bench.scenarios.claims import claimed
from bench.seed import Seeder
from bench.signed import claim_click
from bench.standin import StandIn

SLACK_METHODS = (
    "auth.test", "chat.postMessage", "chat.update", "chat.getPermalink", "chat.postEphemeral", "views.open",
)  # fmt: skip


@dataclass
class SlowSlackRun:
    fast: LoadResult = field(default_factory=LoadResult)
    slow: LoadResult = field(default_factory=LoadResult)
    fast_claimed: int = 0
    slow_claimed: int = 0

    @staticmethod
    def first_ms(result: LoadResult) -> float:
        return result.latencies[0] * 1000 if result.latencies else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "fast_slack": self.fast.as_dict() | {"claimed": self.fast_claimed},
            "slow_slack": self.slow.as_dict() | {"claimed": self.slow_claimed},
            "first_click_ms": {"fast": self.first_ms(self.fast), "slow": self.first_ms(self.slow)},
        }


async def slow_slack(databases: Databases, kind: str, plan: Plan, log_dir: Path) -> SlowSlackRun:
    run = SlowSlackRun()
    run.fast, run.fast_claimed = await _clicks(databases, kind, plan, log_dir, 0.0)
    run.slow, run.slow_claimed = await _clicks(databases, kind, plan, log_dir, plan.slow_slack_seconds)
    return run


async def _clicks(
    databases: Databases, kind: str, plan: Plan, log_dir: Path, slack_seconds: float
) -> tuple[LoadResult, int]:
    """A fresh server whose Slack takes ``slack_seconds`` to answer anything; one click per card."""
    name = "slowslack" if slack_seconds else "fastslack"
    async with StandIn() as standin, databases.fresh(kind, name) as slot:
        for method in SLACK_METHODS if slack_seconds else ():
            standin.fake.slow(method, slack_seconds)
        async with ServerProcess("centralita", slot, log_dir=log_dir, slack_url=standin.url) as server:
            card_ids = await seeded_cards(slot, plan.slow_slack_claims)
            clicks = [claim_click(card_id) for card_id in card_ids]
            result = await sequential(server.url, clicks)
            done = await claimed(slot, card_ids)
    return result, done


async def seeded_cards(slot: Any, count: int) -> list[int]:
    """Open cards whose escalation is a day away (nothing else happens to them meanwhile)."""
    seeder = Seeder(slot)
    try:
        seeded = await seeder.insert(count, datetime.now(UTC) + timedelta(days=1))
    finally:
        await seeder.close()
    return [card.card_id for card in seeded]
