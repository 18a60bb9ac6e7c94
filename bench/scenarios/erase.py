"""(q) Erase one phone number among ``erase_cards`` cards (target ≤ 2 s): the cards written by one
set-based ``INSERT … SELECT`` (bench/bulk.py), three of them the number's; timed: ``privacy erase``
of that number (the service the CLI calls: lookup by the indexes on ``card.caller_number`` and
``call.from_number``, deletion, one erase row per message). Baseline: the same erasure on a database
holding only those three cards, after a warm-up run. The lookup's plan goes to the JSON file."""

from __future__ import annotations

import time

from sqlalchemy import text

from bench import bulk
from bench.constants import FIXTURE
from bench.context import Context
from bench.databases import DbSlot
from bench.figure import Figure, Outcome, Target
from bot.app import Services, create_app
from bot.config import load_config
from bot.settings import Settings
from bot.store.db import create_engine
from bot.store.migrate import upgrade_async

NUMBER = "+34600111222"
COLUMNS = (
    "org_id, source, status, category, priority, caller_number, summary, transfer_allowed, created_at,"
    " escalation_policy, escalation_level, escalated_to, version"
)


def _values(kind: str, caller: str) -> str:
    now = bulk.moment(kind, "1764547200")  # 2025-12-01
    return f"'default', 'call', 'resolved', 'general', 'normal', {caller}, 'Hola, quería pedir cita', {bulk.false(kind)}, {now}, '{{}}', 0, '[]', 1"


async def run(context: Context, kind: str) -> Outcome:
    await _erase(context, kind, 0, "erase-warm")
    baseline, _ = await _erase(context, kind, 0, "erase-base")
    figure, plan = await _erase(context, kind, context.plan.erase_cards, "erase")
    return Outcome(
        figures=[Figure("q.erase", f"(q) erase 1 number among {context.plan.erase_cards:,} cards", "ms",
                        figure * 1000, baseline * 1000, "3 cards only", Target("<=", 2000))],
        checks=[(f"(q) 3 cards erased; lookup plan: {plan.splitlines()[0] if plan else '?'}", True)],
        raw={"erase_s": figure, "baseline_s": baseline, "plan": plan},
    )


async def _erase(context: Context, kind: str, cards: int, name: str) -> tuple[float, str]:
    async with context.databases.fresh(kind, name) as slot:
        await upgrade_async(slot.url, connect_args=slot.connect_args)
        await _seed(slot, cards)
        settings = Settings(DATABASE_URL=slot.url, CENTRALITA_SPOOL_DIR=str(context.workdir / f"spool-{name}"), TWILIO_ACCOUNT_SID=None)
        app = create_app(settings, configs=[load_config(FIXTURE)], connect_args=slot.connect_args, api=False)
        services: Services = app.state.services
        try:
            plan = await _explain(services, kind)
            started = time.perf_counter()
            done = await services.privacy.erase(NUMBER, "bench")
            elapsed = time.perf_counter() - started
        finally:
            await services.runtime.sessions.kw["bind"].dispose()
        assert done.cards == 3, done
        return elapsed, plan


async def _seed(slot: DbSlot, cards: int) -> None:
    kind = slot.kind
    engine = create_engine(slot.url, connect_args=slot.connect_args)
    others = _values(kind, "'+347' || " + bulk.padded(kind, "n", 8))
    try:
        async with engine.begin() as connection:
            if cards:
                await connection.execute(text(bulk.insert_series(kind, "card", COLUMNS, others, cards)))
            mine = f"INSERT INTO card ({COLUMNS}) VALUES ({_values(kind, repr(NUMBER))})"
            for _ in range(3):
                await connection.execute(text(mine))
            await bulk.analyze(connection, kind, "card")
    finally:
        await engine.dispose()


async def _explain(services: Services, kind: str) -> str:
    prefix = "EXPLAIN" if kind == "postgres" else "EXPLAIN QUERY PLAN"
    async with services.runtime.sessions() as session:
        rows = await session.exec(text(f"{prefix} SELECT * FROM card WHERE caller_number = '{NUMBER}'"))  # type: ignore[call-overload]
        return "\n".join(" ".join(str(v) for v in row) for row in rows.all())
