"""Issue 13's figures: ``python -m bench.messaging [--quick] [--db sqlite|postgres|both]``.

(k) A signed inbound WhatsApp message (``POST /twilio/messaging``, each from a new customer, one at a
time) → its card's ``chat.postMessage`` arriving at the Slack stand-in; p50, p99; target p50 ≤ 15 ms,
p99 ≤ 60 ms. Baselines, same run: slack_sdk posting a card straight to the stand-in (send → arrival),
and a call's card on the same server and harness (figure (c)'s path: ``/twilio/voice/gather`` →
its card), which tells what the harness costs.

(l) *Reply to customer* submitted (the Slack modal's ``view_submission``) → the Messages request
arriving at the Twilio REST stand-in; p99 target ≤ 100 ms. Baseline, same run: the twilio client
creating the same message straight at the stand-in.

As ``bench.issue10`` does, the server runs in this process (the tests' loopback server with the real
FastAPI app, the real twilio and slack_sdk clients and the stand-ins of ``tests/fakes``), so the
figures include the load generator's share of the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.parse import modal_context
from bench.databases import KINDS, Databases, DbSlot, postgres_problem
from bench.stats import Summary
from tests.conftest import TUESDAY_10
from tests.fakes.server import LoopbackServer
from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, new_call_sid

TIMEOUT = 60.0
DEFAULTS = {"CENTRALITA_SWEEP_SECONDS": 0.5, "CENTRALITA_OUTBOX_POLL_SECONDS": 1.0}  # as a server runs


@dataclass(frozen=True)
class Plan:
    messages: int = 100
    replies: int = 100
    warmup: int = 5


FULL, QUICK = Plan(), Plan(messages=30, replies=30, warmup=3)


def _customer(index: int) -> str:
    return f"+3462{index:07d}"


def _inbound(index: int, text: str) -> dict[str, str]:
    number = _customer(index)
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{number}",
        "To": f"whatsapp:{CLINIC_NUMBER}",
        "Body": text,
        "NumMedia": "0",
        "ProfileName": f"Cliente {index}",
        "WaId": number.removeprefix("+"),
    }


@dataclass(frozen=True)
class Figures:
    cards: Summary
    posts: Summary
    calls: Summary
    replies: Summary
    sends: Summary


async def message_figure(slot: DbSlot, plan: Plan) -> Figures:
    """(k) and (l) on one server: the messages, the replies to their cards, then both baselines."""
    slack, twilio = FakeSlack(), FakeTwilio()
    clock = FakeClock(TUESDAY_10)  # office hours, and no escalation or window runs out meanwhile
    async with LoopbackServer(slack.app) as slack_url, LoopbackServer(twilio.app) as twilio_url:
        twilio.url = twilio_url
        env = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_API_BASE_URL": twilio_url, **DEFAULTS}
        db = Database(slot.url, slot.connect_args, slot.kind)
        async with Centralita(db, clock, slack_url + "/api/", **env) as app:
            for index in range(plan.warmup):
                await _card_latency(app, slack, index)
            cards = [await _card_latency(app, slack, plan.warmup + i) for i in range(plan.messages)]
            ids = [card.id for card in await db.cards() if card.id is not None]
            calls = [await _call_latency(app, slack, i) for i in range(plan.messages)]
            replies = [await _reply_latency(app, twilio, card_id) for card_id in ids[: plan.replies]]
        posts = await _direct_posts(slack, slack_url + "/api/", plan.messages)
        sends = await _direct_sends(twilio, plan.replies)
    return Figures(*(Summary.of_seconds(v) for v in (cards, posts, calls, replies, sends)))


async def _card_latency(app: Centralita, slack: FakeSlack, index: int) -> float:
    token = f"ref-msg-{index:05d}"
    form = _inbound(index, f"Hola, quería pedir cita para una limpieza ({token})")
    started = time.perf_counter()
    answer = await app.twilio_post("/twilio/messaging", form)
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = [c for c in slack.of("chat.postMessage") if token in json.dumps(c.args, ensure_ascii=False)]
        if found:
            return found[0].at - started
        if time.monotonic() > deadline:
            raise AssertionError(f"the card of {token} never reached the stand-in")
        await slack.wait_for("chat.postMessage", len(slack.of("chat.postMessage")) + 1, timeout=TIMEOUT)


async def _call_latency(app: Centralita, slack: FakeSlack, index: int) -> float:
    base = {"CallSid": new_call_sid(), "From": f"+3463{index:07d}", "To": CLINIC_NUMBER}
    await app.twilio_post("/twilio/voice", base)
    before = len(slack.of("chat.postMessage"))
    started = time.perf_counter()
    await app.twilio_post("/twilio/voice/gather", {**base, "SpeechResult": "Hola, quería pedir cita"})
    [*_, post] = await slack.wait_for("chat.postMessage", before + 1, timeout=TIMEOUT)
    return post.at - started


async def _reply_latency(app: Centralita, twilio: FakeTwilio, card_id: int) -> float:
    before = len(twilio.of("sms"))
    values = {"note": {"note": {"type": "plain_text_input", "value": "Sí, mañana a las 10."}}}
    started = time.perf_counter()
    answer = await app.submit("reply_customer_modal", "U0ANA", values, modal_context(card_id, "C0RECEP"))
    assert answer.status_code == 200, answer.text
    [*_, sent] = await twilio.wait_for("sms", before + 1, timeout=TIMEOUT)
    return sent.at - started


async def _direct_posts(slack: FakeSlack, url: str, count: int) -> list[float]:
    client = AsyncWebClient(token="xoxb-bench", base_url=url)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Normal · General*\nHola"}}]
    found = []
    for _ in range(count):
        before = len(slack.of("chat.postMessage"))
        started = time.perf_counter()
        await client.chat_postMessage(channel="C0RECEP", text="card", blocks=blocks)
        found.append(slack.of("chat.postMessage")[before].at - started)
    return found


async def _direct_sends(twilio: FakeTwilio, count: int) -> list[float]:
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=AsyncTwilioHttpClient(timeout=10))
    client.api.base_url = twilio.url
    found = []
    try:
        for _ in range(count):
            before = len(twilio.of("sms"))
            started = time.perf_counter()
            await client.api.account.messages.create_async(
                to="whatsapp:+34620000001",
                from_=f"whatsapp:{CLINIC_NUMBER}",
                body="Sí, mañana a las 10.",
                status_callback="http://127.0.0.1:9/twilio/messaging/status?message=1",
            )
            found.append(twilio.of("sms")[before].at - started)
    finally:
        await client.http_client.close()  # type: ignore[attr-defined]
    return found


def _line(label: str, value: Summary, baseline: Summary, targets: str) -> str:
    ratio = value.p99 / baseline.p99 if baseline.p99 else float("nan")
    return (
        f"{label:<46} p50 {value.p50:7.1f} ms  p99 {value.p99:7.1f} ms  | baseline p50 {baseline.p50:6.1f} ms"
        f" p99 {baseline.p99:6.1f} ms  | p99 ratio {ratio:5.2f}×  | target {targets}"
    )


def _met(value: Summary, p50: float | None, p99: float) -> str:
    ok = value.p99 <= p99 and (p50 is None or value.p50 <= p50)
    return "yes" if ok else "NO"


async def _main(plan: Plan, kinds: Sequence[str]) -> int:
    if "postgres" in kinds and (problem := await postgres_problem()) is not None:
        print(f"PostgreSQL is not reachable ({problem})", file=sys.stderr)
        kinds = [k for k in kinds if k != "postgres"]
    lines = []
    with tempfile.TemporaryDirectory(prefix="centralita-bench13-") as workdir:
        databases = Databases(Path(workdir), uuid.uuid4().hex[:8])
        for kind in kinds:
            async with databases.fresh(kind, "messaging") as slot:
                found = await message_figure(slot, plan)
            k = f"p50 ≤ 15 ms, p99 ≤ 60 ms: {_met(found.cards, 15, 60)}"
            lines.append(_line(f"(k) {kind}: WhatsApp message → card", found.cards, found.posts, k))
            lines.append(_line("    baseline 2: a call's card, same harness", found.calls, found.posts, "—"))
            l_target = f"p99 ≤ 100 ms: {_met(found.replies, None, 100)}"
            lines.append(
                _line(f"(l) {kind}: reply submitted → Twilio request", found.replies, found.sends, l_target)
            )
            lines.append(
                f"    (k) n={found.cards.n}, baseline = slack_sdk → stand-in; (l) n={found.replies.n},"
                " baseline = twilio client → stand-in"
            )
    print("\n".join(lines))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.messaging")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--db", choices=(*KINDS, "both"), default="both")
    args = parser.parse_args(argv)
    kinds = list(KINDS) if args.db == "both" else [args.db]
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    return asyncio.run(_main(QUICK if args.quick else FULL, kinds))


if __name__ == "__main__":
    raise SystemExit(main())
