"""What callers hear, and what every kind of call leaves behind: voicemail, missed call, rejection."""

from __future__ import annotations

import asyncio
import json
import logging
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, new_call_sid

RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE123"


def _verbs(twiml: str) -> list[str]:
    return [child.tag for child in ET.fromstring(twiml)]


async def test_after_hours_the_caller_leaves_a_voicemail_that_becomes_a_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    clock.advance(timedelta(hours=11))  # Tuesday 21:00 Madrid: closed
    async with Centralita(db, clock, slack.url) as app:
        base = {"CallSid": new_call_sid(), "From": "+34911222333", "To": CLINIC_NUMBER}
        answer = await app.twilio_post("/twilio/voice", base)
        assert _verbs(answer.text) == ["Say", "Say", "Record"]
        record = ET.fromstring(answer.text).find("Record")
        assert record is not None and record.get("action") == f"{app.url}/twilio/voice/voicemail"
        assert "fuera del horario" in answer.text

        done = await app.twilio_post("/twilio/voice/voicemail", {**base, "RecordingUrl": RECORDING})
        assert _verbs(done.text) == ["Say", "Hangup"]
        await app.twilio_post("/twilio/voice/status", {**base, "CallStatus": "completed"})
        await app.twilio_post("/twilio/voice/recording", {**base, "RecordingUrl": RECORDING})

        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        blocks = json.dumps(post.args["blocks"], ensure_ascii=False)
        assert RECORDING in blocks and "Juan Pérez" in blocks and "Construcciones Pérez" in blocks
        [card] = await db.cards()
        assert (card.source, card.recording_url, card.category) == ("voicemail", RECORDING, "client")


async def test_a_caller_who_hangs_up_without_a_word_leaves_a_missed_call_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        sid = await app.call("+34 612 345 678", None)
        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        assert "Llamada perdida" in json.dumps(post.args["blocks"], ensure_ascii=False)
        [card] = await db.cards()
        assert (card.source, card.call_sid, card.caller_number) == ("missed", sid, "+34612345678")

        # The recording report arrives after the hang-up: the same card now carries it.
        base = {"CallSid": sid, "From": "+34612345678", "To": CLINIC_NUMBER}
        await app.twilio_post("/twilio/voice/recording", {**base, "RecordingUrl": RECORDING})
        [update] = await slack.wait_for("chat.update")
        assert RECORDING in json.dumps(update.args["blocks"])
        [card] = await db.cards()
        assert card.source == "voicemail"


async def test_speech_reported_after_the_hang_up_goes_on_the_missed_call_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    """Twilio's status callback can beat the gather webhook: what the caller said is not lost."""
    async with Centralita(db, clock, slack.url) as app:
        base = {"CallSid": new_call_sid(), "From": "+34612345678", "To": CLINIC_NUMBER}
        await app.twilio_post("/twilio/voice", base)
        await app.twilio_post("/twilio/voice/status", {**base, "CallStatus": "completed"})
        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        assert "Llamada perdida" in json.dumps(post.args["blocks"], ensure_ascii=False)

        speech = "Hola, soy Marta Ruiz, quiero cambiar mi cita"
        answer = await app.twilio_post("/twilio/voice/gather", {**base, "SpeechResult": speech})
        assert _verbs(answer.text) == ["Say", "Hangup"]
        [update] = await slack.wait_for("chat.update")
        assert speech in json.dumps(update.args["blocks"], ensure_ascii=False)
        [card] = await db.cards()
        assert (card.summary, card.caller_name, card.source) == (speech, "Marta Ruiz", "call")
        [line] = await slack.wait_for("chat.postMessage", thread_ts=update.args["ts"])
        assert speech in line.args["text"]


async def test_silence_at_the_prompt_offers_a_voicemail(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        base = {"CallSid": new_call_sid(), "From": "+34612345678", "To": CLINIC_NUMBER}
        await app.twilio_post("/twilio/voice", base)
        answer = await app.twilio_post("/twilio/voice/gather", {**base, "SpeechResult": ""})
        assert _verbs(answer.text) == ["Say", "Record"]
        assert await db.count("card") == 0


async def test_a_blocked_caller_is_rejected_and_leaves_no_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        base = {"CallSid": new_call_sid(), "From": "+34699999999", "To": CLINIC_NUMBER}
        answer = await app.twilio_post("/twilio/voice", base)
        assert _verbs(answer.text) == ["Reject"]
        await app.twilio_post("/twilio/voice/status", {**base, "CallStatus": "completed"})
        assert await db.count("card") == 0
        assert await db.count("outboxmessage") == 0


async def test_a_number_that_belongs_to_no_organisation_stores_nothing(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        base = {"CallSid": new_call_sid(), "From": "+34612345678", "To": "+34919999999"}
        answer = await app.twilio_post("/twilio/voice", base)
        assert _verbs(answer.text) == ["Say", "Say", "Hangup"]
        assert "no está configurado" in answer.text and "is not configured" in answer.text
        await app.twilio_post("/twilio/voice/status", {**base, "CallStatus": "completed"})
        assert await db.count("call") == 0 and await db.count("card") == 0


async def test_health_reports_database_scheduler_and_outbox(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        response = await app.http.get("/healthz")
        body = response.json()
        assert response.status_code == 200
        assert (body["status"], body["database"], body["scheduler"], body["channel"]) == (
            "ok",
            "ok",
            "running",
            "slack",
        )
        assert body["outbox"]["pending"] == 0


async def test_without_slack_credentials_cards_go_to_the_console(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="centralita.console")
    async with Centralita(db, clock, None) as app:
        await app.call("+34600111222", "Soy María Ruiz, quería pedir presupuesto")
        for _ in range(100):
            if "María Ruiz" in caplog.text:
                break
            await asyncio.sleep(0.05)
        assert (
            "Cliente potencial" in caplog.text and "María Ruiz" in caplog.text and "[Reclamar]" in caplog.text
        )
        assert (await app.http.get("/healthz")).json()["channel"] == "console"


async def test_the_same_call_reported_five_times_at_once_makes_one_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        base = {"CallSid": new_call_sid(), "From": "+34612345678", "To": CLINIC_NUMBER}
        await app.twilio_post("/twilio/voice", base)
        gathered = {**base, "SpeechResult": "Soy Eva Gil, quería una primera cita"}
        answers = await asyncio.gather(*(app.twilio_post("/twilio/voice/gather", gathered) for _ in range(5)))
        assert [a.status_code for a in answers] == [200] * 5
        await slack.wait_for("chat.postMessage", channel="C0VENTAS")
        await asyncio.sleep(0.3)
        assert await db.count("card") == 1
        assert len(slack.of("chat.postMessage")) == 1
