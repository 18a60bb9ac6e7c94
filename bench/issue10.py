"""Issue 10's figures: ``python -m bench.issue10 [--quick] [--db sqlite|postgres|both]``.

(i) *Accept transfer* click → the staff call's request arriving at the Twilio REST stand-in (p50,
p99; target p99 ≤ 100 ms). Baseline, same run: the twilio client creating the same call straight at
the stand-in (send → arrival).

(j) Callback reminder lateness: ``callbacks`` scheduled callbacks written straight into the
database, ``due`` of them due at the same moment 3 s ahead; lateness = ``fired_at − due_at`` of each
reminder (its audit event); target p99 ≤ 1 s. Baseline, same server and table: one callback falling
due alone, ``lone`` times.

Unlike ``python -m bench``, the server runs in this process (the tests' loopback server, with the
real FastAPI app, the real twilio and slack_sdk clients and the stand-ins of ``tests/fakes``), so
the figures include the load generator's share of the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.databases import KINDS, Databases, DbSlot, postgres_problem
from bench.stats import Summary
from bot.domain.escalation import EscalationPolicy
from bot.ports import SystemClock
from bot.store.db import create_engine
from bot.store.migrate import upgrade_async
from bot.store.models import Callback, Card, row_values
from tests.conftest import TUESDAY_10
from tests.fakes.server import LoopbackServer
from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, button, new_call_sid

URGENT = "Hola, soy Juan Pérez, es urgente, se me ha roto la prótesis"
DUE_IN = 3.0
TIMEOUT = 120.0
DEFAULTS = {"CENTRALITA_SWEEP_SECONDS": 0.5, "CENTRALITA_OUTBOX_POLL_SECONDS": 1.0}  # as a server runs


@dataclass(frozen=True)
class Plan:
    accepts: int = 100
    callbacks: int = 10_000
    due: int = 1_000
    lone: int = 5


FULL, QUICK = Plan(), Plan(accepts=30, callbacks=2_000, due=200, lone=3)


async def accept_figure(slot: DbSlot, plan: Plan) -> tuple[Summary, Summary]:
    """(i): the accept clicks, then the baseline."""
    slack, twilio = FakeSlack(), FakeTwilio()
    clock = FakeClock(TUESDAY_10)  # office hours, and no hold runs out while the figure runs
    async with LoopbackServer(slack.app) as slack_url, LoopbackServer(twilio.app) as twilio_url:
        twilio.url = twilio_url
        env = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_API_BASE_URL": twilio_url, **DEFAULTS}
        db = Database(slot.url, slot.connect_args, slot.kind)
        async with Centralita(db, clock, slack_url + "/api/", **env) as app:
            card_ids = await _callers_on_hold(app, slack, plan.accepts)
            clicks = [await _accept(app, twilio, card_id) for card_id in card_ids]
        direct = await _direct_calls(twilio, plan.accepts)
    return Summary.of_seconds(clicks), Summary.of_seconds(direct)


async def _callers_on_hold(app: Centralita, slack: FakeSlack, count: int) -> list[int]:
    for index in range(count):
        base = {"CallSid": new_call_sid(), "From": f"+3460{index:07d}", "To": CLINIC_NUMBER}
        await app.twilio_post("/twilio/voice", base)
        await app.twilio_post("/twilio/voice/gather", {**base, "SpeechResult": URGENT})
    await slack.wait_for("chat.postMessage", count, timeout=TIMEOUT, channel="C0RECEP")
    return [card.id for card in await app.db.cards() if card.id is not None]


async def _accept(app: Centralita, twilio: FakeTwilio, card_id: int) -> float:
    before = len(twilio.of("call"))
    started = time.perf_counter()
    await app.click(button("accept_transfer", card_id), "U0ANA")
    [*_, ring] = await twilio.wait_for("call", before + 1, timeout=TIMEOUT)
    return ring.at - started


async def _direct_calls(twilio: FakeTwilio, count: int) -> list[float]:
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=AsyncTwilioHttpClient(timeout=10))
    client.api.base_url = twilio.url
    found = []
    try:
        for _ in range(count):
            before = len(twilio.of("call"))
            started = time.perf_counter()
            await client.calls.create_async(
                to="+34600000001",
                from_=CLINIC_NUMBER,
                url="http://127.0.0.1:9/w",
                status_callback="http://127.0.0.1:9/s",
            )
            found.append(twilio.of("call")[before].at - started)
    finally:
        await client.http_client.close()  # type: ignore[attr-defined]
    return found


async def reminder_figure(slot: DbSlot, plan: Plan) -> tuple[Summary, Summary]:
    """(j): ``plan.due`` reminders due at once among ``plan.callbacks``, then ``plan.lone`` alone."""
    slack = FakeSlack()
    async with LoopbackServer(slack.app) as slack_url:
        db = Database(slot.url, slot.connect_args, slot.kind)
        await upgrade_async(slot.url, connect_args=slot.connect_args)
        far = datetime.now(UTC) + timedelta(days=1)
        await _seed(slot, plan.callbacks - plan.due - plan.lone, far)
        async with Centralita(db, SystemClock(), slack_url + "/api/", **DEFAULTS) as app:  # type: ignore[arg-type]
            await app.http.get("/healthz")
            lone: list[float] = []
            for _ in range(plan.lone):
                lone += await _lateness(slot, db, 1, datetime.now(UTC) + timedelta(seconds=1))
            crowd = await _lateness(slot, db, plan.due, datetime.now(UTC) + timedelta(seconds=DUE_IN))
    return Summary.of_seconds(crowd), Summary.of_seconds(lone)


async def _lateness(slot: DbSlot, db: Database, count: int, due: datetime) -> list[float]:
    seeded = set(await _seed(slot, count, due))
    deadline = time.monotonic() + TIMEOUT
    while True:
        events = [e for e in await db.audit("callback_due") if e.data.get("callback") in seeded]
        if len(events) >= count or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    return [
        (
            datetime.fromisoformat(e.data["fired_at"]) - datetime.fromisoformat(e.data["due_at"])
        ).total_seconds()
        for e in events
    ]


async def _seed(slot: DbSlot, count: int, due: datetime) -> list[int]:
    """``count`` callback cards (a card each, claimed by Ana) due at ``due``; the callbacks' ids."""
    engine = create_engine(slot.url, connect_args=slot.connect_args)
    now = datetime.now(UTC)
    policy = EscalationPolicy.from_snapshot({"claim_within": 60, "business_hours_only": False, "steps": []})
    try:
        async with engine.begin() as connection:
            cards = [
                row_values(
                    Card,
                    org_id="default",
                    source="call",
                    status="callback",
                    category="general",
                    priority="normal",
                    team_id="recepcion",
                    caller_number=f"+3461{i:07d}",
                    summary="callback",
                    created_at=now,
                    claimed_by="ana",
                    callback_at=due,
                    escalation_policy=policy.snapshot(),
                )
                for i in range(count)
            ]
            card_ids = [row[0] for row in await _insert(connection, Card, cards)]
            callbacks = [
                row_values(
                    Callback,
                    org_id="default",
                    card_id=card_id,
                    due_at=due,
                    assignee_id="ana",
                    created_by="ana",
                    created_at=now,
                    escalate_at=due + timedelta(days=7),
                )
                for card_id in card_ids
            ]
            return [row[0] for row in await _insert(connection, Callback, callbacks)]
    finally:
        await engine.dispose()


async def _insert(connection: Any, model: Any, rows: list[dict[str, Any]]) -> list[Any]:
    table = model.__table__
    found: list[Any] = []
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        result = await connection.execute(insert(table).returning(table.c.id), chunk)
        found += list(result.all())
    return found


def _line(label: str, value: Summary, baseline: Summary, target_ms: float) -> str:
    ratio = value.p99 / baseline.p99 if baseline.p99 else float("nan")
    met = "yes" if value.p99 <= target_ms else "NO"
    return (
        f"{label:<44} p50 {value.p50:8.1f} ms  p99 {value.p99:8.1f} ms  | baseline p50 {baseline.p50:7.1f} ms"
        f" p99 {baseline.p99:7.1f} ms  | p99 ratio {ratio:6.2f}×  | target p99 ≤ {target_ms:g} ms: {met}"
    )


async def _main(plan: Plan, kinds: Sequence[str]) -> int:
    if "postgres" in kinds and (problem := await postgres_problem()) is not None:
        print(f"PostgreSQL is not reachable ({problem})", file=sys.stderr)
        kinds = [k for k in kinds if k != "postgres"]
    lines = []
    with tempfile.TemporaryDirectory(prefix="centralita-bench10-") as workdir:
        databases = Databases(Path(workdir), uuid.uuid4().hex[:8])
        for kind in kinds:
            async with databases.fresh(kind, "accept") as slot:
                accepted, direct = await accept_figure(slot, plan)
            lines.append(_line(f"(i) {kind}: accept → REST call at stand-in", accepted, direct, 100))
            async with databases.fresh(kind, "reminders") as slot:
                crowd, lone = await reminder_figure(slot, plan)
            label = f"(j) {kind}: {plan.due} of {plan.callbacks} reminders due"
            lines.append(_line(label, crowd, lone, 1000))
            lines.append(
                f"    (i) n={accepted.n}, baseline = twilio client → stand-in; (j) n={crowd.n}, baseline = 1 due alone"
            )
    print("\n".join(lines))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.issue10")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--db", choices=(*KINDS, "both"), default="both")
    args = parser.parse_args(argv)
    kinds = list(KINDS) if args.db == "both" else [args.db]
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: maximum number of running instances"
    return asyncio.run(_main(QUICK if args.quick else FULL, kinds))


if __name__ == "__main__":
    raise SystemExit(main())
