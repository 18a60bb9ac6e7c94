"""A phone call becomes a Slack card; staff claim it; a second claimer is told who has it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlmodel import select

from bot.store.models import CardPost
from tests.fakes.slack_api import FakeSlack
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, new_call_sid, outbox_settled


def _action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_a_call_becomes_a_card_in_the_routed_channel(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        sid = new_call_sid()
        base = {"CallSid": sid, "From": "+34 600 111 222", "To": CLINIC_NUMBER}
        answer = await app.twilio_post("/twilio/voice", base)
        root = ET.fromstring(answer.text)
        gather = root.find("Gather")
        assert gather is not None and gather.get("language") == "es-ES" and gather.get("input") == "speech"
        assert gather.get("action") == f"{app.url}/twilio/voice/gather"
        assert "Clínica Dental Sonrisa" in "".join(s.text or "" for s in gather.iter("Say"))

        taken = await app.twilio_post(
            "/twilio/voice/gather", {**base, "SpeechResult": "Soy María Ruiz, URGÉNCIA, me duele"}
        )
        assert "Hemos tomado nota" in taken.text and ET.fromstring(taken.text).find("Hangup") is not None

        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        text = json_text(post.args["blocks"])
        assert "Urgente" in text and "María Ruiz" in text and "+34 600 11 12 22" in text
        assert _action_ids(post.args["blocks"]) == [
            "claim",
            "schedule_callback",
            "add_note",
            "reassign",
            "resolve",
        ]
        [card] = await db.cards()
        assert (card.category, card.priority, card.team_id, card.status) == (
            "urgent",
            "urgent",
            "recepcion",
            "open",
        )
        # The rows written with the card: its audit event, its post (with the message's reference)
        # and the outbox row that posted it.
        await outbox_settled(db)
        [created] = await db.audit("created")
        assert (created.card_id, created.actor, created.data["source"]) == (card.id, "caller", "call")
        [card_post] = await db.query(select(CardPost))
        assert (card_post.card_id, card_post.channel, card_post.target) == (card.id, "slack", "C0RECEP")
        assert (card_post.external_ref or "").startswith("C0RECEP:")
        [row] = await db.outbox()
        assert (row.card_id, row.kind, row.target, row.status, row.attempts) == (
            card.id,
            "card",
            str(card_post.id),
            "sent",
            1,
        )


async def test_claim_updates_the_card_and_a_second_claimer_is_refused(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34911222333", "Quería hablar con Ana sobre la obra")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        [card] = await db.cards()
        assert card.caller_name == "Juan Pérez" and card.addressee_id == "ana"

        response = await app.claim(card.id, "U0ANA")
        assert response.status_code == 200
        [update] = await slack.wait_for("chat.update")
        assert "Reclamada por Ana García" in json_text(update.args["blocks"])
        assert "release" in _action_ids(update.args["blocks"]) and "claim" not in _action_ids(
            update.args["blocks"]
        )
        await slack.wait_for("chat.postMessage", thread_ts=update.args["ts"])

        await app.claim(card.id, "U0LUIS")
        [ephemeral] = await slack.wait_for("chat.postEphemeral", user="U0LUIS")
        assert "Ana García" in ephemeral.args["text"]
        [card] = await db.cards()
        assert card.claimed_by == "ana" and card.status == "claimed"


def json_text(blocks: list[dict]) -> str:
    import json

    return json.dumps(blocks, ensure_ascii=False)
