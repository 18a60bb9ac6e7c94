"""``python -m bench.reports [--db sqlite|postgres] [--cards 250000] [--rows 20000]``: figures (m), (o).

- (m) the digest of an organisation with a year of history (``--cards`` cards, one claim event
  each): the day's figures read on the report engine, the message rendered and the chart drawn;
  baseline: one ``count(*)`` of the organisation's cards on the same engine (an index scan of all of
  them). Target ≤ 2 s.
- (n') a proxy for (n): how late a 1 ms timer fires on the event loop (p99) while digests of that year
  run on the report engine, against the same digests on the request path's engine, and the idle
  loop (baseline). The full (n), claim clicks against a server, is not built.
- (o) calibration throughput: ``--rows`` CSV rows read, replayed through the test clinic's rules and
  counted; baseline: the same lines through ``csv.reader`` alone. Target ≥ 5,000 rows/s.

Run on its own (not part of ``make bench``): it seeds its own database, in a temporary directory or
a fresh PostgreSQL schema, and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import func, insert
from sqlmodel import col, select

from bot.config import load_config
from bot.domain.calibration import Replayer, RowProblem, Summary, read_rows
from bot.services.digest import DigestReader
from bot.services.digest_message import digest_message
from bot.services.directory import Directory
from bot.store.db import create_engine, create_report_engine, session_factory
from bot.store.migrate import upgrade_async
from bot.store.models import AuditEvent, Card
from tests.support import FIXTURES, FakeClock

MADRID = ZoneInfo("Europe/Madrid")
DAY = date(2026, 11, 30)
POSTGRES_URL = "postgresql+asyncpg://root@127.0.0.1:5432/test"
TEXTS = (
    "Quería pedir presupuesto",
    "Es urgente, me duele",
    "¿Abrís el sábado?",
    "Soy Juan, por la factura",
    "",
)
CHUNK = 5_000


@asynccontextmanager
async def database(kind: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="centralita-reports-") as folder:
            yield f"sqlite+aiosqlite:///{folder}/bench.db", {}
        return
    schema = "bench_reports_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""))
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield POSTGRES_URL, {"server_settings": {"search_path": schema}}
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def seed_year(url: str, connect_args: dict[str, Any], cards: int) -> None:
    """``cards`` calls spread over the year up to ``DAY``, each claimed 1-40 minutes later."""
    await upgrade_async(url, connect_args=connect_args)
    engine = create_engine(url, connect_args=connect_args)
    rng = random.Random(11)
    end = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), MADRID)
    span = timedelta(days=365).total_seconds()
    try:
        for first in range(0, cards, CHUNK):
            card_rows, audit_rows = [], []
            for card_id in range(first + 1, min(cards, first + CHUNK) + 1):
                at = end - timedelta(seconds=rng.random() * span)
                claimed = at + timedelta(minutes=rng.randint(1, 40))
                card_rows.append(_card(card_id, at, rng))
                audit_rows.append(
                    {
                        "org_id": "default",
                        "card_id": card_id,
                        "at": claimed,
                        "actor": "ana",
                        "kind": "claimed",
                        "data": {},
                    }
                )
            async with engine.begin() as connection:
                await connection.execute(insert(Card.__table__), card_rows)  # type: ignore[attr-defined]
                await connection.execute(insert(AuditEvent.__table__), audit_rows)  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


def _card(card_id: int, at: datetime, rng: random.Random) -> dict[str, Any]:
    return {
        "id": card_id,
        "org_id": "default",
        "source": rng.choice(("call", "call", "voicemail", "missed", "recado")),
        "status": "resolved",
        "category": rng.choice(("general", "lead", "urgent", "client")),
        "priority": "normal",
        "team_id": "recepcion",
        "caller_number": f"+346550{card_id:05d}"[:12],
        "summary": "",
        "created_at": at,
        "claim_deadline": at + timedelta(minutes=30),
        "outcome": "resolved",
        "claimed_by": "ana",
        "escalation_policy": {},
        "escalated_to": [],
        "transfer_allowed": False,
        "escalation_level": 0,
        "version": 1,
    }


async def digest_figure(url: str, connect_args: dict[str, Any]) -> tuple[float, float, int]:
    """(digest seconds, baseline seconds, cards of the day)."""
    org = Directory([load_config(FIXTURES / "clinic.yaml")]).default
    marta = org.config.staff_member("marta")
    assert marta is not None
    engine = create_report_engine(url, connect_args=connect_args)
    try:
        sessions = session_factory(engine)
        reader = DigestReader(
            sessions, Directory([org.config]), FakeClock(datetime(2026, 12, 1, 8, 30, tzinfo=MADRID))
        )
        # Warm: connections, statements, and the chart process (started once per server, ~3 s).
        await digest_message(org, marta, await reader.figures("default", DAY)).chart_png()
        started = time.perf_counter()
        figures = await reader.figures("default", DAY)
        message = digest_message(org, marta, figures)
        await message.chart_png()
        digest = time.perf_counter() - started
        started = time.perf_counter()
        async with sessions() as session:
            await session.exec(select(func.count()).select_from(Card).where(col(Card.org_id) == "default"))
        baseline = time.perf_counter() - started
        return digest, baseline, sum(figures.totals.values())
    finally:
        await engine.dispose()


async def loop_lag(url: str, connect_args: dict[str, Any], engine: Any, runs: int = 3) -> float:
    """p99 (ms) of how late a 1 ms timer fires on this event loop while ``runs`` digests of the year
    are read on ``engine``, and their charts drawn; with ``runs=0``, the idle loop's (the baseline)."""
    org = Directory([load_config(FIXTURES / "clinic.yaml")]).default
    reader = DigestReader(
        session_factory(engine),
        Directory([org.config]),
        FakeClock(datetime(2026, 12, 1, 8, 30, tzinfo=MADRID)),
    )
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - started - 0.001)

    tick = asyncio.create_task(ticker())
    if runs:
        marta = org.config.staff_member("marta")
        assert marta is not None
        for _ in range(runs):
            await digest_message(org, marta, await reader.figures("default", DAY)).chart_png()
    else:
        await asyncio.sleep(1.0)
    stop.set()
    await tick
    lags.sort()
    return lags[int(len(lags) * 0.99)] * 1000


def calibrate_figure(rows: int) -> tuple[float, float]:
    """(rows/s replayed, rows/s through csv.reader alone)."""
    rng = random.Random(5)
    lines = ["number,text,time,expected\n"]
    for index in range(rows):
        at = datetime(2026, 11, 1, 8) + timedelta(minutes=index % 20_000)
        lines.append(f'+34655{index % 1_000_000:06d},"{rng.choice(TEXTS)}",{at:%Y-%m-%d %H:%M},general\n')
    config = load_config(FIXTURES / "clinic.yaml")
    started = time.perf_counter()
    for _ in csv.reader(lines):
        pass
    baseline = rows / (time.perf_counter() - started)
    replayer, summary = Replayer(config), Summary.empty()
    started = time.perf_counter()
    for item in read_rows(lines, MADRID, "ES"):
        if not isinstance(item, RowProblem):
            summary.add(replayer.replay(item))
    rate = rows / (time.perf_counter() - started)
    assert summary.rows == rows, summary.rows
    return rate, baseline


async def main(kind: str, cards: int, rows: int) -> None:
    rate, csv_rate = calibrate_figure(rows)
    print(
        f"(o) calibrate: {rate:,.0f} rows/s  (csv.reader alone {csv_rate:,.0f} rows/s, ratio {rate / csv_rate:.3f}); target ≥ 5,000"
    )
    async with database(kind) as (url, connect_args):
        started = time.perf_counter()
        await seed_year(url, connect_args, cards)
        print(f"    seeded {cards:,} cards in {time.perf_counter() - started:.1f} s ({kind})")
        digest, baseline, of_day = await digest_figure(url, connect_args)
        report = create_report_engine(url, connect_args=connect_args)
        main_engine = create_engine(url, connect_args=connect_args)
        try:
            idle = await loop_lag(url, connect_args, report, runs=0)
            off_loop = await loop_lag(url, connect_args, report)
            on_loop = await loop_lag(url, connect_args, main_engine)
        finally:
            await report.dispose()
            await main_engine.dispose()
    print(
        f"(m) digest of {cards:,} cards ({of_day} on the day), {kind}: {digest * 1000:.0f} ms"
        f"  (count(*) of all cards {baseline * 1000:.0f} ms, ratio {digest / baseline:.2f}); target ≤ 2,000 ms"
    )
    print(
        f"(n') event-loop lag p99 while digests run, {kind}: report engine {off_loop:.1f} ms,"
        f" request-path engine {on_loop:.1f} ms  (idle loop {idle:.1f} ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.reports")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--cards", type=int, default=250_000)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(main(args.db, args.cards, args.rows))
