"""Figures (p) and (r) of issue 14, each against a baseline measured in the same run, on real
``centralita serve`` processes (the ones tests/test_processes.py starts):

- (p) PostgreSQL: call → card p99 and signed ``POST /twilio/voice`` req/s with 1,000,000 historical
  (resolved) cards in the database, against the same server on the empty database just before
  the cards were written (set-based SQL, ``generate_series``); target within 1.2×.
- (r) SQLite: RSS of the server with 100 organisations configured (a directory of 100 files, one
  call to each organisation's number), against one organisation (one call); target ≤ 200 MB.

``python -m bench --only p`` or ``--only r`` (``--quick``: 100,000 cards instead of 1,000,000)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psutil

from bot.store.migrate import upgrade_async
from tests.conftest import POSTGRES_URL, _postgres_schema
from tests.fakes.server import LoopbackServer
from tests.fakes.slack_api import FakeSlack
from tests.processes import CentralitaProcess, psycopg_url
from tests.support import CLINIC_NUMBER, FIXTURES

ALWAYS_OPEN = FIXTURES / "always_open.yaml"
HISTORY = 1_000_000
WEBHOOKS, IN_FLIGHT, LATENCY_CALLS, ROUNDS = 300, 20, 15, 3
ORGS = 100


@asynccontextmanager
async def _standin() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    async with LoopbackServer(fake.app) as url:
        fake.url = url + "/api/"  # type: ignore[attr-defined]
        yield fake


@asynccontextmanager
async def _serving(
    database_url: str, workdir: Path, slack: FakeSlack, config: Path, http: httpx.AsyncClient
) -> AsyncIterator[CentralitaProcess]:
    server = CentralitaProcess(database_url, workdir, slack_url=slack.url, config=config)  # type: ignore[attr-defined]
    try:
        await server.start(http)
        yield server
    finally:
        server.stop()


async def _call(http: httpx.AsyncClient, server: CentralitaProcess, to: str, say: str) -> float:
    """One answered call; returns the moment (perf_counter) just before the request that makes the card."""
    sid = "CA" + uuid.uuid4().hex
    base = {"CallSid": sid, "From": "+34612000333", "To": to}
    await server.post(http, "/twilio/voice", base)
    sent = time.perf_counter()
    await server.post(http, "/twilio/voice/gather", {**base, "SpeechResult": say})
    await server.post(http, "/twilio/voice/status", {**base, "CallStatus": "completed"})
    return sent


async def _card_latencies(
    http: httpx.AsyncClient, server: CentralitaProcess, slack: FakeSlack, tag: str
) -> list[float]:
    """Call → card at the stand-in, one call after another, in ms."""
    found: list[float] = []
    for index in range(LATENCY_CALLS):
        token = f"ref {tag}-{index:04d}"
        sent = await _call(http, server, CLINIC_NUMBER, f"Hola, quería información ({token})")
        arrived = await _arrival(slack, token)
        found.append((arrived - sent) * 1000)
    return found


async def _arrival(slack: FakeSlack, token: str, timeout: float = 20) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in slack.of("chat.postMessage"):
            if "thread_ts" not in call.args and token in json.dumps(call.args, ensure_ascii=False):
                return call.at
        await asyncio.sleep(0.005)
    raise AssertionError(f"no card with {token!r} reached the stand-in")


async def _webhook_rate(http: httpx.AsyncClient, server: CentralitaProcess) -> float:
    """Signed ``POST /twilio/voice`` per second, ``IN_FLIGHT`` at a time (each a new call)."""
    forms = [
        {"CallSid": "CA" + uuid.uuid4().hex, "From": "+34612000444", "To": CLINIC_NUMBER}
        for _ in range(WEBHOOKS)
    ]
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(form: dict[str, str]) -> None:
        async with gate:
            answer = await server.post(http, "/twilio/voice", form)
            assert answer.status_code == 200, answer.text

    started = time.perf_counter()
    await asyncio.gather(*(one(form) for form in forms))
    return WEBHOOKS / (time.perf_counter() - started)


SEED = """
INSERT INTO card (org_id, source, call_sid, status, category, priority, summary, created_at,
                  claimed_by, claimed_at, resolved_at, resolved_by, outcome, escalation_policy,
                  escalation_level, escalated_to, transfer_allowed, version)
SELECT 'default', 'call', 'CAhist' || n, 'resolved', 'general', 'normal',
       'Llamada histórica ' || n, now() - (n || ' minutes')::interval,
       'ana', now() - (n || ' minutes')::interval, now() - (n || ' minutes')::interval, 'ana', 'done',
       '{}', 0, '[]', false, 3
FROM generate_series(1, {count}) AS n
"""


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def history_figures(workdir: Path, count: int) -> list[tuple[str, float, float, str, bool]]:
    """Two servers at once, one on an empty schema and one on a schema holding ``count`` historical
    cards, loaded in alternating rounds (empty, full, empty, full…), so that a slow moment of the
    machine does not fall on one side only."""
    async with (
        _postgres_schema() as empty,
        _postgres_schema() as full,
        _standin() as slack,
        httpx.AsyncClient(timeout=30) as http,
    ):
        for db in (empty, full):
            await upgrade_async(POSTGRES_URL, connect_args=db.connect_args)
        started = time.monotonic()
        await full.run(SEED.replace("{count}", str(count)))
        await full.run("ANALYZE card")
        print(f"(p) {count:,} historical cards written in {time.monotonic() - started:.0f} s")
        latencies: dict[str, list[float]] = {"empty": [], "full": []}
        rates: dict[str, list[float]] = {"empty": [], "full": []}
        async with (
            _serving(psycopg_url(empty), workdir, slack, ALWAYS_OPEN, http) as on_empty,
            _serving(psycopg_url(full), workdir, slack, ALWAYS_OPEN, http) as on_full,
        ):
            for name, server in (("empty", on_empty), ("full", on_full)):
                await _card_latencies(http, server, slack, f"warm-{name}")
            for round_ in range(ROUNDS):
                for name, server in (("empty", on_empty), ("full", on_full)):
                    latencies[name] += await _card_latencies(http, server, slack, f"{name}-{round_}")
                    rates[name].append(await _webhook_rate(http, server))
        assert await full.count("card") >= count
    empty_p99, full_p99 = _p99(latencies["empty"]), _p99(latencies["full"])
    empty_rate, full_rate = statistics.median(rates["empty"]), statistics.median(rates["full"])
    return [
        ("call → card p99", full_p99, empty_p99, "ms", full_p99 <= 1.2 * empty_p99),
        ("webhook req/s", full_rate, empty_rate, "req/s", full_rate >= empty_rate / 1.2),
    ]


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


async def rss_figures(workdir: Path) -> list[tuple[str, float, float, str, bool]]:
    many = workdir / "orgs"
    many.mkdir()
    _org_files(many, ORGS)
    found: dict[str, float] = {}
    async with _standin() as slack, httpx.AsyncClient(timeout=30) as http:
        for name, config, numbers in (
            ("one", ALWAYS_OPEN, [CLINIC_NUMBER]),
            ("many", many, [f"+3491{i:07d}" for i in range(ORGS)]),
        ):
            url = f"sqlite+aiosqlite:///{workdir}/{name}.db"
            async with _serving(url, workdir, slack, config, http) as server:
                for number in numbers:
                    await _call(http, server, number, "Hola, quería información")
                await asyncio.sleep(2)  # the cards delivered, the sweeps run
                assert server.process is not None
                found[name] = psutil.Process(server.process.pid).memory_info().rss / 2**20
    return [(f"RSS, {ORGS} organisations", found["many"], found["one"], "MB", found["many"] <= 200)]


def render(figure: str, rows: list[tuple[str, float, float, str, bool]], baseline: str) -> None:
    for name, value, base, unit, ok in rows:
        ratio = value / base if base else float("inf")
        print(
            f"({figure}) {name:<22} {value:10.1f} {unit:<6} {base:10.1f} {unit} ({baseline})  {ratio:5.2f}×  {'yes' if ok else 'NO'}"
        )


async def run(which: str, quick: bool, workdir: Path) -> int:
    """``--only p`` or ``--only r``; 0 when the figure's own checks passed (targets aside)."""
    if which == "p":
        rows = await history_figures(workdir, HISTORY // 10 if quick else HISTORY)
        render("p", rows, "empty database")
    else:
        render("r", await rss_figures(workdir), "1 organisation")
    print(f"(PostgreSQL: {POSTGRES_URL})" if which == "p" else "")
    return 0
