"""Bench (q): erase one phone number among 1,000,000 cards, target ≤ 2 s.

``python -m bench.erase [--db postgres|sqlite] [--cards N]``. The cards are seeded with one
set-based INSERT … SELECT (``generate_series`` on PostgreSQL, a recursive CTE on SQLite); three of
them are the number's. The baseline is the same erasure on a database holding only those three
cards, measured in the same run; the figure is printed with its ratio to it, and the plan of the
lookup (EXPLAIN) shows the index on ``card.caller_number`` at work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import text

from bot.app import Services, create_app
from bot.config import load_config
from bot.settings import Settings
from bot.store.db import create_engine
from bot.store.migrate import upgrade_async

REPO = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("CENTRALITA_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")
NUMBER = "+34600111222"
TARGET_SECONDS = 2.0
_COLUMNS = (
    "org_id, source, status, category, priority, caller_number, summary, transfer_allowed, created_at,"
    " escalation_policy, escalation_level, escalated_to, version"
)
_VALUES = (
    "'default', 'call', 'resolved', 'general', 'normal', {caller},"
    " 'Hola, quería pedir cita', {false}, {now}, '{{}}', 0, '[]', 1"
)
_PG_CALLER = "'+347' || lpad(CAST(n AS TEXT), 8, '0')"
_SQLITE_CALLER = "'+347' || substr('00000000' || n, -8, 8)"


async def _seed(url: str, connect_args: dict[str, object], cards: int, postgres: bool) -> None:
    engine = create_engine(url, connect_args=connect_args)
    now, false = ("now()", "false") if postgres else ("datetime('now')", "0")
    values = _VALUES.format(caller=_PG_CALLER if postgres else _SQLITE_CALLER, now=now, false=false)
    if postgres:
        many = f"INSERT INTO card ({_COLUMNS}) SELECT {values} FROM generate_series(1, {cards}) AS n"
    else:
        many = (
            f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {cards})"
            f" INSERT INTO card ({_COLUMNS}) SELECT {values} FROM s"
        )
    mine = (
        f"INSERT INTO card ({_COLUMNS}) VALUES ({_VALUES.format(caller=repr(NUMBER), now=now, false=false)})"
    )
    async with engine.begin() as connection:
        if cards:
            await connection.execute(text(many))
        for _ in range(3):
            await connection.execute(text(mine))
        await connection.execute(text("ANALYZE card" if postgres else "ANALYZE"))
    await engine.dispose()


async def _erase(url: str, connect_args: dict[str, object], cards: int, postgres: bool) -> tuple[float, str]:
    await upgrade_async(url, connect_args=connect_args)
    await _seed(url, connect_args, cards, postgres)
    env = {"DATABASE_URL": url, "CENTRALITA_SPOOL_DIR": tempfile.mkdtemp(), "TWILIO_ACCOUNT_SID": None}
    settings = Settings(**env)
    app = create_app(
        settings,
        configs=[load_config(REPO / "tests" / "fixtures" / "clinic.yaml")],
        connect_args=connect_args,
        api=False,
    )
    services: Services = app.state.services
    plan = await _explain(services, postgres)
    started = time.perf_counter()
    done = await services.privacy.erase(NUMBER, "bench")
    elapsed = time.perf_counter() - started
    assert done.cards == 3, done
    await services.runtime.sessions.kw["bind"].dispose()
    return elapsed, plan


async def _explain(services: Services, postgres: bool) -> str:
    prefix = "EXPLAIN" if postgres else "EXPLAIN QUERY PLAN"
    async with services.runtime.sessions() as session:
        rows = await session.exec(text(f"{prefix} SELECT * FROM card WHERE caller_number = '{NUMBER}'"))  # type: ignore[call-overload]
        return "\n".join(" ".join(str(v) for v in row) for row in rows.all())


async def _postgres(cards: int) -> tuple[float, str]:
    schema = "bench_q_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(POSTGRES.replace("postgresql+asyncpg://", "postgresql://"))
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        return await _erase(POSTGRES, {"server_settings": {"search_path": schema}}, cards, True)
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def _sqlite(cards: int) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as workdir:
        return await _erase(f"sqlite+aiosqlite:///{workdir}/bench.db", {}, cards, False)


async def main(kind: str, cards: int) -> int:
    run = _postgres if kind == "postgres" else _sqlite
    await run(0)  # warm-up: imports, first connections, compiled statements
    baseline, _ = await run(0)
    figure, plan = await run(cards)
    ok = figure <= TARGET_SECONDS
    print(f"(q) erase one number among {cards:,} cards on {kind}: {figure:.3f} s")
    print(f"    baseline (3 cards only): {baseline:.3f} s; ratio {figure / baseline:.2f}×")
    print(f"    target ≤ {TARGET_SECONDS} s: {'met' if ok else 'MISSED'}")
    print("    lookup plan: " + plan.replace("\n", "\n                 "))
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.erase")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--cards", type=int, default=1_000_000)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.db, args.cards)))
