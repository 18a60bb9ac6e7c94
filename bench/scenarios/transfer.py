"""(i) *Accept transfer* click (signed ``block_actions``, a caller on hold per card) → the staff
call's ``Calls.json`` request arriving at the Twilio REST stand-in. Baseline: the twilio client
creating the same call straight at the stand-in, send → arrival. The server runs in its own process
(bench/served.py)."""

from __future__ import annotations

import time

from bench.context import Context
from bench.figure import Figure, Outcome, Target
from bench.served import TIMEOUT, centralita, twilio_client, twilio_settings, twilio_standin
from bench.standin import StandIn
from bench.stats import Summary, samples_ms
from tests.fakes.twilio_api import FakeTwilio
from tests.support import CLINIC_NUMBER, PlatformClient, button, new_call_sid

URGENT = "Hola, soy Juan Pérez, es urgente, se me ha roto la prótesis"


async def run(context: Context, kind: str) -> Outcome:
    count = context.plan.accepts
    async with StandIn() as slack, twilio_standin() as twilio, context.databases.fresh(kind, "accept") as slot:
        async with centralita(context, slot, slack.url, settings=twilio_settings(twilio)) as app:
            card_ids = await _callers_on_hold(app, slack, count)
            clicks = [await _accept(app, twilio, card_id) for card_id in card_ids]
        direct = await _direct_calls(twilio, count)
    ours, floor = Summary.of_seconds(clicks), Summary.of_seconds(direct)
    label = "twilio client → stand-in"
    return Outcome(
        figures=[
            Figure("i.p50", "(i) accept transfer → REST call, p50", "ms", ours.p50, floor.p50, label),
            Figure("i.p99", "(i) accept transfer → REST call, p99", "ms", ours.p99, floor.p99, label,
                   Target("<=", 100)),
        ],
        checks=[(f"(i) {len(clicks)}/{count} accepted transfers rang the staff phone", len(clicks) == count)],
        raw={"accept_ms": samples_ms(clicks), "direct_ms": samples_ms(direct)},
    )


async def _callers_on_hold(app: PlatformClient, slack: StandIn, count: int) -> list[int]:
    for index in range(count):
        base = {"CallSid": new_call_sid(), "From": f"+3460{index:07d}", "To": CLINIC_NUMBER}
        await app.twilio_post("/twilio/voice", base)
        await app.twilio_post("/twilio/voice/gather", {**base, "SpeechResult": URGENT})
    await slack.fake.wait_for("chat.postMessage", count, timeout=TIMEOUT, channel="C0RECEP")
    return [card.id for card in await app.db.cards() if card.id is not None]


async def _accept(app: PlatformClient, twilio: FakeTwilio, card_id: int) -> float:
    before = len(twilio.of("call"))
    started = time.perf_counter()
    await app.click(button("accept_transfer", card_id), "U0ANA")
    [*_, ring] = await twilio.wait_for("call", before + 1, timeout=TIMEOUT)
    return ring.at - started


async def _direct_calls(twilio: FakeTwilio, count: int) -> list[float]:
    found = []
    async with twilio_client(twilio) as client:
        for _ in range(count):
            before = len(twilio.of("call"))
            started = time.perf_counter()
            await client.calls.create_async(
                to="+34600000001", from_=CLINIC_NUMBER, url="http://127.0.0.1:9/w", status_callback="http://127.0.0.1:9/s"
            )
            found.append(twilio.of("call")[before].at - started)
    return found
