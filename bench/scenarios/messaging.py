"""(k) A signed WhatsApp message (``POST /twilio/messaging``, each from a new customer, one at a time)
→ its card's ``chat.postMessage`` at the Slack stand-in. Baselines: slack_sdk posting a card straight
to the stand-in; and a call's card on the same server (figure (c)'s path).

(l) *Reply to customer* submitted (the modal's ``view_submission``) → the Messages request at the
Twilio REST stand-in. Baseline: the twilio client creating the same message straight at the stand-in.
The server runs in its own process (bench/served.py)."""

from __future__ import annotations

import json
import time
import uuid

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.parse import modal_context
from bench.constants import CARD_CHANNEL, SLACK_TOKEN
from bench.context import Context
from bench.figure import Figure, Outcome, Target
from bench.served import TIMEOUT, centralita, twilio_client, twilio_settings, twilio_standin
from bench.standin import StandIn
from bench.stats import Summary, samples_ms
from tests.fakes.twilio_api import ACCOUNT_SID, FakeTwilio
from tests.support import CLINIC_NUMBER, PlatformClient, new_call_sid

REPLY = "Sí, mañana a las 10."


async def run(context: Context, kind: str) -> Outcome:
    plan = context.plan
    async with StandIn() as slack, twilio_standin() as twilio, context.databases.fresh(kind, "messaging") as slot:
        async with centralita(context, slot, slack.url, settings=twilio_settings(twilio)) as app:
            for index in range(plan.message_warmup):
                await _card_latency(app, slack, index)
            cards = [await _card_latency(app, slack, plan.message_warmup + i) for i in range(plan.messages)]
            ids = [card.id for card in await app.db.cards() if card.id is not None]
            calls = [await _call_latency(app, slack, i) for i in range(plan.messages)]
            replies = [await _reply_latency(app, twilio, card_id) for card_id in ids[: plan.message_replies]]
        posts = await _direct_posts(slack, plan.messages)
        sends = await _direct_sends(twilio, plan.message_replies)
    return _outcome(plan.messages, plan.message_replies, cards, posts, calls, replies, sends)


def _outcome(
    messages: int, wanted_replies: int, cards: list[float], posts: list[float], calls: list[float],
    replies: list[float], sends: list[float],
) -> Outcome:  # fmt: skip
    card, post, call = Summary.of_seconds(cards), Summary.of_seconds(posts), Summary.of_seconds(calls)
    reply, send = Summary.of_seconds(replies), Summary.of_seconds(sends)
    sdk, harness = "sdk → stand-in", "a call's card, same server"
    return Outcome(
        figures=[
            Figure("k.p50", "(k) WhatsApp message → card, p50", "ms", card.p50, post.p50, sdk, Target("<=", 15)),
            Figure("k.p99", "(k) WhatsApp message → card, p99", "ms", card.p99, post.p99, sdk, Target("<=", 60)),
            Figure("k.call_p50", "(k) … vs a call's card, p50", "ms", card.p50, call.p50, harness),
            Figure("k.call_p99", "(k) … vs a call's card, p99", "ms", card.p99, call.p99, harness),
            Figure("l.p50", "(l) reply to customer → Twilio, p50", "ms", reply.p50, send.p50, "twilio client → stand-in"),
            Figure("l.p99", "(l) reply to customer → Twilio, p99", "ms", reply.p99, send.p99, "twilio client → stand-in",
                   Target("<=", 100)),
        ],
        checks=[(f"(k) {len(cards)}/{messages} message cards, {len(calls)}/{messages} call cards; "
                 f"(l) {len(replies)}/{wanted_replies} replies sent",
                 len(cards) == len(calls) == messages and len(replies) == wanted_replies)],
        raw={"message_card_ms": samples_ms(cards), "call_card_ms": samples_ms(calls), "sdk_post_ms": samples_ms(posts),
             "reply_ms": samples_ms(replies), "sdk_send_ms": samples_ms(sends)},
    )


def _inbound(index: int, text: str) -> dict[str, str]:
    number = f"+3462{index:07d}"
    return {
        "MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": ACCOUNT_SID, "From": f"whatsapp:{number}",
        "To": f"whatsapp:{CLINIC_NUMBER}", "Body": text, "NumMedia": "0", "ProfileName": f"Cliente {index}",
        "WaId": number.removeprefix("+"),
    }  # fmt: skip


async def _card_latency(app: PlatformClient, slack: StandIn, index: int) -> float:
    token = f"ref-msg-{index:05d}"
    form = _inbound(index, f"Hola, quería pedir cita para una limpieza ({token})")
    started = time.perf_counter()
    answer = await app.twilio_post("/twilio/messaging", form)
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + TIMEOUT
    while True:
        posts = slack.fake.of("chat.postMessage")
        found = [c for c in posts if token in json.dumps(c.args, ensure_ascii=False)]
        if found:
            return found[0].at - started
        if time.monotonic() > deadline:
            raise AssertionError(f"the card of {token} never reached the stand-in")
        await slack.fake.wait_for("chat.postMessage", len(posts) + 1, timeout=TIMEOUT)


async def _call_latency(app: PlatformClient, slack: StandIn, index: int) -> float:
    base = {"CallSid": new_call_sid(), "From": f"+3463{index:07d}", "To": CLINIC_NUMBER}
    await app.twilio_post("/twilio/voice", base)
    before = len(slack.fake.of("chat.postMessage"))
    started = time.perf_counter()
    await app.twilio_post("/twilio/voice/gather", {**base, "SpeechResult": "Hola, quería pedir cita"})
    [*_, post] = await slack.fake.wait_for("chat.postMessage", before + 1, timeout=TIMEOUT)
    return post.at - started


async def _reply_latency(app: PlatformClient, twilio: FakeTwilio, card_id: int) -> float:
    before = len(twilio.of("sms"))
    values = {"note": {"note": {"type": "plain_text_input", "value": REPLY}}}
    started = time.perf_counter()
    answer = await app.submit("reply_customer_modal", "U0ANA", values, modal_context(card_id, CARD_CHANNEL))
    assert answer.status_code == 200, answer.text
    [*_, sent] = await twilio.wait_for("sms", before + 1, timeout=TIMEOUT)
    return sent.at - started


async def _direct_posts(slack: StandIn, count: int) -> list[float]:
    client = AsyncWebClient(token=SLACK_TOKEN, base_url=slack.url)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Normal · General*\nHola"}}]
    found = []
    for _ in range(count):
        before = len(slack.fake.of("chat.postMessage"))
        started = time.perf_counter()
        await client.chat_postMessage(channel=CARD_CHANNEL, text="card", blocks=blocks)
        found.append(slack.fake.of("chat.postMessage")[before].at - started)
    return found


async def _direct_sends(twilio: FakeTwilio, count: int) -> list[float]:
    found = []
    async with twilio_client(twilio) as client:
        for _ in range(count):
            before = len(twilio.of("sms"))
            started = time.perf_counter()
            await client.api.account.messages.create_async(
                to="whatsapp:+34620000001", from_=f"whatsapp:{CLINIC_NUMBER}", body=REPLY,
                status_callback="http://127.0.0.1:9/twilio/messaging/status?message=1",
            )  # fmt: skip
            found.append(twilio.of("sms")[before].at - started)
    return found
