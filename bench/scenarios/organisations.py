"""Issue 14's figures on real ``centralita serve`` processes (``tests/processes.py``, the ones the
process tests start), with the always-open clinic of those tests, the Slack stand-in and the real clock.

- (p) PostgreSQL: call → card p99 and signed ``POST /twilio/voice`` req/s with ``history_cards``
  historical (resolved) cards in the database, against a server on an empty database. Both servers
  run at once and are loaded in alternating rounds, so a slow moment of the machine does not fall
  on one side only. Target within 1.2×.
- (r) SQLite: RSS of a server with ``organisations`` organisations configured (a directory of files,
  one call to each organisation's number), against one organisation (one call). Target ≤ 200 MB.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psutil
from sqlalchemy import text

from bench import bulk
from bench.context import Context
from bench.databases import DbSlot
from bench.figure import Figure, Outcome, Target
from bench.standin import StandIn
from bench.stats import percentile
from bot.store.db import create_engine
from bot.store.migrate import upgrade_async
from tests.processes import CentralitaProcess, psycopg_url
from tests.support import CLINIC_NUMBER, FIXTURES

ALWAYS_OPEN = FIXTURES / "always_open.yaml"
WEBHOOKS, IN_FLIGHT, LATENCY_CALLS, ROUNDS = 300, 20, 30, 5
"""Five rounds of 30 calls: with 45 calls, the p99 was their slowest one, and once a card took ~10 ms
one hiccup of the machine decided the ratio."""
HISTORY_COLUMNS = (
    "org_id, source, call_sid, status, category, priority, summary, created_at, claimed_by, claimed_at,"
    " resolved_at, resolved_by, outcome, escalation_policy, escalation_level, escalated_to, transfer_allowed, version"
)


@asynccontextmanager
async def _serving(
    database_url: str, workdir: Path, slack: StandIn, config: Path, http: httpx.AsyncClient
) -> AsyncIterator[CentralitaProcess]:
    server = CentralitaProcess(database_url, workdir, slack_url=slack.url, config=config)
    try:
        await server.start(http)
        yield server
    finally:
        server.stop()


CALLERS = itertools.count(1)
"""A caller of their own per call: a repeat caller's calls are merged into one card."""


async def _call(http: httpx.AsyncClient, server: CentralitaProcess, to: str, say: str) -> float:
    """One answered call; the moment (perf_counter) just before the request that makes the card."""
    base = {"CallSid": "CA" + uuid.uuid4().hex, "From": f"+3461{next(CALLERS):07d}", "To": to}
    await server.post(http, "/twilio/voice", base)
    sent = time.perf_counter()
    await server.post(http, "/twilio/voice/gather", {**base, "SpeechResult": say})
    await server.post(http, "/twilio/voice/status", {**base, "CallStatus": "completed"})
    return sent


async def _card_latencies(http: httpx.AsyncClient, server: CentralitaProcess, slack: StandIn, tag: str) -> list[float]:
    """Call → card at the stand-in, one call after another, in ms."""
    found: list[float] = []
    for index in range(LATENCY_CALLS):
        token = f"ref {tag}-{index:04d}"
        sent = await _call(http, server, CLINIC_NUMBER, f"Hola, quería información ({token})")
        found.append((await _arrival(slack, token) - sent) * 1000)
    return found


async def _arrival(slack: StandIn, token: str, timeout: float = 20) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in slack.fake.of("chat.postMessage"):
            if "thread_ts" not in call.args and token in json.dumps(call.args, ensure_ascii=False):
                return call.at
        await asyncio.sleep(0.005)
    raise AssertionError(f"no card with {token!r} reached the stand-in")


async def _webhook_rate(http: httpx.AsyncClient, server: CentralitaProcess) -> float:
    """Signed ``POST /twilio/voice`` per second, ``IN_FLIGHT`` at a time (each a new call)."""
    forms = [{"CallSid": "CA" + uuid.uuid4().hex, "From": "+34612000444", "To": CLINIC_NUMBER} for _ in range(WEBHOOKS)]
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(form: dict[str, str]) -> None:
        async with gate:
            answer = await server.post(http, "/twilio/voice", form)
            assert answer.status_code == 200, answer.text

    started = time.perf_counter()
    await asyncio.gather(*(one(form) for form in forms))
    return WEBHOOKS / (time.perf_counter() - started)


async def seed_history(slot: DbSlot, count: int) -> float:
    """``count`` resolved calls, one a minute back from now, in one statement; seconds taken."""
    at = bulk.moment("postgres", "extract(epoch FROM now()) - n * 60")
    values = (
        f"'default', 'call', 'CAhist' || n, 'resolved', 'general', 'normal', 'Llamada histórica ' || n, {at},"
        f" 'ana', {at}, {at}, 'ana', 'done', '{{}}', 0, '[]', false, 3"
    )
    engine = create_engine(slot.url, connect_args=slot.connect_args)
    started = time.monotonic()
    try:
        async with engine.begin() as connection:
            await connection.execute(text(bulk.insert_series("postgres", "card", HISTORY_COLUMNS, values, count)))
            await bulk.analyze(connection, "postgres", "card")
    finally:
        await engine.dispose()
    return time.monotonic() - started


async def history(context: Context, kind: str) -> Outcome:
    """(p), PostgreSQL."""
    count = context.plan.history_cards
    latencies: dict[str, list[float]] = {"empty": [], "full": []}
    rates: dict[str, list[float]] = {"empty": [], "full": []}
    async with (
        context.databases.fresh(kind, "history-empty") as empty,
        context.databases.fresh(kind, "history-full") as full,
        StandIn() as slack,
        httpx.AsyncClient(timeout=30) as http,
    ):
        for slot in (empty, full):
            await upgrade_async(slot.url, connect_args=slot.connect_args)
        seeded = await seed_history(full, count)
        async with (
            _serving(psycopg_url(empty.database()), context.workdir, slack, ALWAYS_OPEN, http) as on_empty,
            _serving(psycopg_url(full.database()), context.workdir, slack, ALWAYS_OPEN, http) as on_full,
        ):
            servers = {"empty": on_empty, "full": on_full}
            for name, server in servers.items():
                await _card_latencies(http, server, slack, f"warm-{name}")
            for round_ in range(ROUNDS):
                for name, server in servers.items():
                    latencies[name] += await _card_latencies(http, server, slack, f"{name}-{round_}")
                    rates[name].append(await _webhook_rate(http, server))
        rows = await full.database().count("card")
    p99 = {name: percentile(values, 99) for name, values in latencies.items()}
    rate = {name: statistics.median(values) for name, values in rates.items()}
    label = f"(p) {count:,} historical cards:"
    return Outcome(
        figures=[
            Figure("p.p99", f"{label} call → card p99", "ms", p99["full"], p99["empty"], "empty database",
                   Target("<=", 1.2, of_baseline=True)),
            Figure("p.rps", f"{label} webhook req/s", "req/s", rate["full"], rate["empty"], "empty database",
                   Target(">=", 0.833, of_baseline=True)),
        ],
        checks=[(f"(p) {rows:,} cards in the full database (seeded in {seeded:.0f} s)", rows >= count)],
        raw={"seed_s": seeded, "latency_ms": latencies, "webhook_rps": rates},
    )


def _org_files(directory: Path, count: int) -> None:
    """``count`` organisations: the test clinic under other ids, numbers and workspaces."""
    clinic = ALWAYS_OPEN.read_text(encoding="utf-8")
    for index in range(count):
        text = clinic.replace('phone_numbers: ["+34910000000"]', f'phone_numbers: ["+3491{index:07d}"]')
        text = text.replace(
            "  name: Clínica Dental Sonrisa",
            f"  id: org{index:03d}\n  name: Clínica {index}\n  slack_team_id: T{index:08d}",
        )
        (directory / f"org{index:03d}.yaml").write_text(text, encoding="utf-8")


async def organisations(context: Context, kind: str) -> Outcome:
    """(r), SQLite."""
    count = context.plan.organisations
    many = context.workdir / "orgs"
    many.mkdir(exist_ok=True)
    _org_files(many, count)
    found: dict[str, float] = {}
    async with StandIn() as slack, httpx.AsyncClient(timeout=30) as http:
        for name, config, numbers in (
            ("one", ALWAYS_OPEN, [CLINIC_NUMBER]),
            ("many", many, [f"+3491{i:07d}" for i in range(count)]),
        ):
            async with context.databases.fresh(kind, f"orgs-{name}") as slot, _serving(slot.url, context.workdir, slack, config, http) as server:
                for number in numbers:
                    await _call(http, server, number, "Hola, quería información")
                await asyncio.sleep(2)  # the cards delivered, the sweeps run
                assert server.process is not None
                found[name] = psutil.Process(server.process.pid).memory_info().rss / 2**20
    cards = len([c for c in slack.fake.of("chat.postMessage") if "thread_ts" not in c.args])
    return Outcome(
        figures=[Figure("r.rss", f"(r) RSS, {count} organisations", "MB", found["many"], found["one"],
                        "1 organisation", Target("<=", 200))],
        checks=[(f"(r) {cards}/{count + 1} cards posted (one call per organisation)", cards >= count + 1)],
        raw={"rss_mb": found},
    )
