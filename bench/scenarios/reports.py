"""The reports of issue 11, on one database holding a year of history (``digest_cards`` cards spread
over the year up to 2026-11-30, each claimed 1–40 minutes after it came in, written set-based):

- (m) the digest of 2026-11-30: the day's figures read on the report engine (warm), the message
  rendered, the chart drawn, in the bench process; baseline: one ``count(*)`` of the organisation's
  cards on the same engine. Target ≤ 2 s.
- (n) *Claim* clicks → 200 (figure (b)'s measure) on a Centralita server on that database, while
  ``centralita digest`` of that day and ``centralita calibrate`` of the (o) file run over and over
  beside it, as a manager and an administrator would run them (their own processes, the same
  database); baseline: the same clicks on the same server just before, with nothing else running.
  Target p99 ≤ 50 ms.
- (o) calibration throughput: ``calibrate_rows`` CSV rows read, replayed through the test clinic's
  rules and counted; baseline: the same lines through ``csv.reader`` alone. Target ≥ 5,000 rows/s.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import random
import sys
import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, text
from sqlmodel import col, select

from bench import bulk
from bench.constants import FIXTURE, REPO
from bench.context import Context
from bench.databases import DbSlot
from bench.figure import Figure, Outcome, Target
from bench.load import LoadResult, sequential
from bench.process import ServerProcess
from bench.scenarios.claims import claimed
from bench.scenarios.slow_slack import seeded_cards
from bench.signed import claim_click
from bench.standin import StandIn
from bot.config import load_config
from bot.domain.calibration import Replayer, RowProblem, Summary, read_rows
from bot.services.digest import DigestReader
from bot.services.digest_message import digest_message
from bot.services.directory import Directory
from bot.store.db import create_engine, create_report_engine, session_factory
from bot.store.migrate import upgrade_async
from bot.store.models import Card
from tests.processes import psycopg_url
from tests.support import FakeClock

MADRID = ZoneInfo("Europe/Madrid")
DAY = date(2026, 11, 30)
MANAGER = "marta"
TEXTS = ("Quería pedir presupuesto", "Es urgente, me duele", "¿Abrís el sábado?", "Soy Juan, por la factura", "")
CARD_COLUMNS = (
    "org_id, source, status, category, priority, team_id, caller_number, summary, created_at, claim_deadline,"
    " outcome, claimed_by, escalation_policy, escalated_to, transfer_allowed, escalation_level, version"
)


async def run(context: Context, kind: str) -> Outcome:
    plan = context.plan
    calls = context.workdir / "calls.csv"
    rate, csv_rate = calibrate_figure(plan.calibrate_rows, calls)
    async with context.databases.fresh(kind, "reports") as slot:
        started = time.perf_counter()
        await seed_year(slot, plan.digest_cards)
        seeded = time.perf_counter() - started
        digest, count, of_day = await digest_figure(slot)
        quiet, busy, done, runs = await busy_clicks(context, slot, calls)
    wanted = 2 * plan.busy_claims
    label = f"(m) digest, {plan.digest_cards:,} cards ({of_day} on the day)"
    return Outcome(
        figures=[
            Figure("m.digest", label, "ms", digest * 1000, count * 1000, "count(*) of the cards", Target("<=", 2000)),
            Figure("n.p50", "(n) claim click → 200 beside reports, p50", "ms", busy.summary().p50,
                   quiet.summary().p50, "nothing beside"),
            Figure("n.p99", "(n) claim click → 200 beside reports, p99", "ms", busy.summary().p99,
                   quiet.summary().p99, "nothing beside", Target("<=", 50)),
            Figure("o.rate", "(o) calibrate, CSV rows/s", "rows/s", rate, csv_rate, "csv.reader alone",
                   Target(">=", 5000)),
        ],
        checks=[
            (f"(m) {plan.digest_cards:,} cards seeded in {seeded:.1f} s, {of_day} on the day", of_day > 0),
            (f"(n) {done}/{wanted} cards claimed; statuses {dict(quiet.statuses)} / {dict(busy.statuses)}; "
             f"{runs['digest']:.0f} digests and {runs['calibrate']:.0f} calibrations ran beside, {runs['failed']:.0f} failed; "
             f"server CPU per click {runs['server_cpu_ms_per_click_quiet']} ms alone, {runs['server_cpu_ms_per_click_busy']} ms beside",
             done == wanted and set(quiet.statuses) == set(busy.statuses) == {200}
             and runs["digest"] > 0 and runs["calibrate"] > 0 and not runs["failed"]),
        ],
        raw={"seed_s": seeded, "digest_ms": digest * 1000, "count_ms": count * 1000, "quiet": quiet.as_dict(),
             "busy": busy.as_dict(), "beside": runs, "calibrate_rows_per_s": rate, "csv_rows_per_s": csv_rate},
    )


async def seed_year(slot: DbSlot, cards: int) -> None:
    """``cards`` resolved calls spread evenly over the year up to ``DAY``, and a claim event each."""
    kind = slot.kind
    await upgrade_async(slot.url, connect_args=slot.connect_args)
    end = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), MADRID).timestamp()
    step = timedelta(days=365).total_seconds() / cards
    at = f"{end:.0f} - n * {step:.6f}"
    values = (
        f"'default', CASE n % 5 WHEN 0 THEN 'voicemail' WHEN 1 THEN 'missed' WHEN 2 THEN 'recado' ELSE 'call' END,"
        f" 'resolved', CASE n % 4 WHEN 0 THEN 'general' WHEN 1 THEN 'lead' WHEN 2 THEN 'urgent' ELSE 'client' END,"
        f" 'normal', 'recepcion', '+3465' || {bulk.padded(kind, 'n', 7)}, 'Quería pedir cita',"
        f" {bulk.moment(kind, at)}, {bulk.moment(kind, f'{at} + 1800')}, 'resolved', 'ana', '{{}}', '[]',"
        f" {bulk.false(kind)}, 0, 1"
    )
    claims = (
        "INSERT INTO auditevent (org_id, card_id, at, actor, kind, data)"
        f" SELECT org_id, id, {bulk.later(kind, 'created_at', '(id % 40) + 1')}, 'ana', 'claimed', '{{}}' FROM card"
    )
    engine = create_engine(slot.url, connect_args=slot.connect_args)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(bulk.insert_series(kind, "card", CARD_COLUMNS, values, cards)))
            await connection.execute(text(claims))
            await bulk.analyze(connection, kind, "card", "auditevent")
    finally:
        await engine.dispose()


async def digest_figure(slot: DbSlot) -> tuple[float, float, int]:
    """(digest seconds, baseline seconds, cards of the day), on the report engine, warm."""
    org = Directory([load_config(FIXTURE)]).default
    marta = org.config.staff_member(MANAGER)
    assert marta is not None
    engine = create_report_engine(slot.url, connect_args=slot.connect_args)
    try:
        sessions = session_factory(engine)
        reader = DigestReader(sessions, Directory([org.config]), FakeClock(datetime(2026, 12, 1, 8, 30, tzinfo=MADRID)))
        # Warm: connections, statements, and the chart process (started once per server, ~3 s).
        await digest_message(org, marta, await reader.figures("default", DAY)).chart_png()
        started = time.perf_counter()
        figures = await reader.figures("default", DAY)
        await digest_message(org, marta, figures).chart_png()
        digest = time.perf_counter() - started
        started = time.perf_counter()
        async with sessions() as session:
            await session.exec(select(func.count()).select_from(Card).where(col(Card.org_id) == "default"))
        return digest, time.perf_counter() - started, sum(figures.totals.values())
    finally:
        await engine.dispose()


def calibrate_figure(rows: int, path: Path) -> tuple[float, float]:
    """(rows/s replayed, rows/s through csv.reader alone); the rows are left in ``path`` for (n)."""
    rng = random.Random(5)
    lines = ["number,text,time,expected\n"]
    for index in range(rows):
        at = datetime(2026, 11, 1, 8) + timedelta(minutes=index % 20_000)
        lines.append(f'+34655{index % 1_000_000:06d},"{rng.choice(TEXTS)}",{at:%Y-%m-%d %H:%M},general\n')
    path.write_text("".join(lines), encoding="utf-8")
    started = time.perf_counter()
    for _ in csv.reader(lines):
        pass
    baseline = rows / (time.perf_counter() - started)
    replayer, summary = Replayer(load_config(FIXTURE)), Summary.empty()
    started = time.perf_counter()
    for item in read_rows(lines, MADRID, "ES"):
        if not isinstance(item, RowProblem):
            summary.add(replayer.replay(item))
    rate = rows / (time.perf_counter() - started)
    assert summary.rows == rows, summary.rows
    return rate, baseline


async def busy_clicks(
    context: Context, slot: DbSlot, calls: Path
) -> tuple[LoadResult, LoadResult, int, dict[str, float]]:
    """(quiet clicks, clicks beside the reports, cards claimed, runs of each report beside them)."""
    count = context.plan.busy_claims
    async with StandIn() as standin, ServerProcess("centralita", slot, log_dir=context.log_dir, slack_url=standin.url) as server:
        card_ids = await seeded_cards(slot, 2 * count + 10)
        await sequential(server.url, [claim_click(card_id) for card_id in card_ids[:10]])  # Bolt's auth.test
        cpu = server.cpu_seconds()
        quiet = await sequential(server.url, [claim_click(card_id) for card_id in card_ids[10 : 10 + count]])
        cpu_quiet, cpu = server.cpu_seconds() - cpu, server.cpu_seconds()
        async with _reports_beside(slot, calls, context.log_dir) as runs:
            await asyncio.sleep(2.0)  # the first digest and calibration under way
            busy = await sequential(server.url, [claim_click(card_id) for card_id in card_ids[10 + count :]])
            cpu_busy = server.cpu_seconds() - cpu
        done = await claimed(slot, card_ids[10:])
    # The server's own CPU per click, each phase: the same with reports beside means they cost the
    # clicks only the machine's cores (waiting to be scheduled), not work in the server.
    runs |= {"server_cpu_ms_per_click_quiet": round(cpu_quiet * 1000 / count, 2),
             "server_cpu_ms_per_click_busy": round(cpu_busy * 1000 / count, 2)}  # fmt: skip
    return quiet, busy, done, runs


@contextlib.asynccontextmanager
async def _reports_beside(slot: DbSlot, calls: Path, log_dir: Path) -> AsyncIterator[dict[str, float]]:
    """``centralita digest`` and ``centralita calibrate`` each run again and again, in their own
    processes on the server's database, until the block ends; yields how many runs of each ended."""
    runs: dict[str, float] = {"digest": 0, "calibrate": 0, "failed": 0}
    env = {**os.environ, "DATABASE_URL": psycopg_url(slot.database()) if slot.schema else slot.url,
           "CENTRALITA_CONFIG": str(FIXTURE)}  # fmt: skip
    commands = {
        "digest": ["digest", "--date", DAY.isoformat(), "--to", MANAGER, "--dry-run"],
        "calibrate": ["calibrate", str(calls)],
    }
    stop = asyncio.Event()

    async def again(name: str) -> None:
        log = (log_dir / f"beside-{name}-{slot.kind}.log").open("ab")
        try:
            while not stop.is_set():
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot.cli", *commands[name], cwd=REPO, env=env,
                    stdout=asyncio.subprocess.DEVNULL, stderr=log,
                )  # fmt: skip
                code = await process.wait()
                runs[name if code == 0 else "failed"] += 1
        finally:
            log.close()

    tasks = [asyncio.create_task(again(name)) for name in commands]
    try:
        yield runs
    finally:
        stop.set()
        await asyncio.gather(*tasks)
