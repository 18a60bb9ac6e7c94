"""(j) Callback reminder lateness: ``callbacks`` scheduled callbacks written straight into the
database, ``callbacks_due`` of them due at the same moment 3 s ahead; lateness = ``fired_at −
due_at`` of each reminder's ``callback_due`` audit event. Baseline, same server and table: one
callback falling due alone, ``callbacks_lone`` times. The server in its own process (bench/served.py),
on the real clock."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bench.context import Context
from bench.databases import DbSlot
from bench.figure import Figure, Outcome, Target
from bench.served import TIMEOUT, centralita
from bench.standin import StandIn
from bench.stats import Summary, samples_ms
from bot.domain.escalation import EscalationPolicy
from bot.store.db import create_engine
from bot.store.migrate import upgrade_async
from bot.store.models import Callback, Card, row_values

DUE_IN = 3.0


async def run(context: Context, kind: str) -> Outcome:
    plan = context.plan
    async with StandIn() as slack, context.databases.fresh(kind, "reminders") as slot:
        await upgrade_async(slot.url, connect_args=slot.connect_args)
        await _seed(slot, plan.callbacks - plan.callbacks_due - plan.callbacks_lone, datetime.now(UTC) + timedelta(days=1))
        async with centralita(context, slot, slack.url, clock="real"):
            lone: list[float] = []
            for _ in range(plan.callbacks_lone):
                lone += await _lateness(slot, 1, datetime.now(UTC) + timedelta(seconds=1))
            crowd = await _lateness(slot, plan.callbacks_due, datetime.now(UTC) + timedelta(seconds=DUE_IN))
    ours, alone = Summary.of_seconds(crowd), Summary.of_seconds(lone)
    label, name = "1 due alone", f"(j) {plan.callbacks_due:,} of {plan.callbacks:,} reminders due,"
    return Outcome(
        figures=[
            Figure("j.p50", f"{name} lateness p50", "ms", ours.p50, alone.p50, label),
            Figure("j.p99", f"{name} lateness p99", "ms", ours.p99, alone.p99, label, Target("<=", 1000)),
        ],
        checks=[(f"(j) {len(crowd)}/{plan.callbacks_due} reminders fired, {len(lone)}/{plan.callbacks_lone} alone",
                 len(crowd) == plan.callbacks_due and len(lone) == plan.callbacks_lone)],
        raw={"lateness_ms": samples_ms(crowd), "alone_ms": samples_ms(lone)},
    )


async def _lateness(slot: DbSlot, count: int, due: datetime) -> list[float]:
    seeded = set(await _seed(slot, count, due))
    deadline = time.monotonic() + TIMEOUT
    while True:
        events = [e for e in await slot.database().audit("callback_due") if e.data.get("callback") in seeded]
        if len(events) >= count or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    return [
        (datetime.fromisoformat(e.data["fired_at"]) - datetime.fromisoformat(e.data["due_at"])).total_seconds()
        for e in events
    ]


async def _seed(slot: DbSlot, count: int, due: datetime) -> list[int]:
    """``count`` callback cards (a card each, claimed by Ana) due at ``due``; the callbacks' ids."""
    engine = create_engine(slot.url, connect_args=slot.connect_args)
    now = datetime.now(UTC)
    policy = EscalationPolicy.from_snapshot({"claim_within": 60, "business_hours_only": False, "steps": []})
    card = {"org_id": "default", "source": "call", "status": "callback", "category": "general",
            "priority": "normal", "team_id": "recepcion", "summary": "callback", "created_at": now,
            "claimed_by": "ana", "callback_at": due, "escalation_policy": policy.snapshot()}  # fmt: skip
    try:
        async with engine.begin() as connection:
            cards = [row_values(Card, **card, caller_number=f"+3461{i:07d}") for i in range(count)]
            card_ids = [row[0] for row in await _insert(connection, Card, cards)]
            callbacks = [
                row_values(Callback, org_id="default", card_id=card_id, due_at=due, assignee_id="ana",
                           created_by="ana", created_at=now, escalate_at=due + timedelta(days=7))
                for card_id in card_ids
            ]  # fmt: skip
            return [row[0] for row in await _insert(connection, Callback, callbacks)]
    finally:
        await engine.dispose()


async def _insert(connection: Any, model: Any, rows: list[dict[str, Any]]) -> list[Any]:
    table = model.__table__
    found: list[Any] = []
    for start in range(0, len(rows), 500):
        result = await connection.execute(insert(table).returning(table.c.id), rows[start : start + 500])
        found += list(result.all())
    return found
