"""Calls that belong together: the same number calling again while its card is open updates it."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.fakes.slack_api import FakeSlack
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, eventually, new_call_sid

PEDRO = "+34600111222"
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE"


async def leave_voicemail(app: Centralita, caller: str, url: str) -> None:
    """A call that says nothing and leaves a recording: Twilio posts it to the ``<Record>`` action and
    to its status callback, then ends the call."""
    base = {"CallSid": new_call_sid(), "From": caller, "To": CLINIC_NUMBER}
    assert (await app.twilio_post("/twilio/voice", base)).status_code == 200
    left = {**base, "RecordingUrl": url}
    assert (await app.twilio_post("/twilio/voice/voicemail", left)).status_code == 200
    assert (await app.twilio_post("/twilio/voice/recording", left)).status_code == 204
    ended = await app.twilio_post("/twilio/voice/status", {**base, "CallStatus": "completed"})
    assert ended.status_code == 204


async def test_a_repeat_caller_is_merged_into_the_open_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await app.call(PEDRO, "hola soy pedro gómez, quería información")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        clock.advance(timedelta(minutes=20))
        await app.call(PEDRO, "soy Pedro otra vez, sigo esperando")
        clock.advance(timedelta(minutes=21))
        await app.call(PEDRO, None)  # hangs up without a word

        async def three_calls() -> str | None:
            for update in slack.of("chat.update"):
                text = json.dumps(update.args["blocks"], ensure_ascii=False)
                if "ha llamado 3 veces, la última a las 10:41" in text:
                    return text
            return None

        await eventually(three_calls)
        [card] = await db.cards()
        assert (card.call_count, card.caller_name, card.summary) == (
            3,
            "Pedro Gómez",
            "hola soy pedro gómez, quería información",
        )
        ts = slack.of("chat.update")[0].args["ts"]
        lines = [c.args["text"] for c in await slack.wait_for("chat.postMessage", 2, thread_ts=ts)]
        assert any("sigo esperando" in line and "2.ª vez, 10:20" in line for line in lines)
        assert len(await db.audit("repeat_call")) == 2

        # Past the merge window (2 h by default) the number gets a card of its own.
        clock.advance(timedelta(hours=2, minutes=1))
        await app.call(PEDRO, "soy Pedro Gómez, ya es otro asunto")
        await slack.wait_for("chat.postMessage", 2, channel="C0RECEP")
        assert [c.call_count for c in await db.cards()] == [3, 1]


async def test_with_a_zero_merge_window_every_call_has_its_own_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url, config="clinic_no_merge.yaml") as app:
        await app.call(PEDRO, "soy Pedro Gómez, quería información")
        await app.call(PEDRO, "soy Pedro Gómez, otra vez")
        await slack.wait_for("chat.postMessage", 2, channel="C0RECEP")
        assert [c.call_count for c in await db.cards()] == [1, 1]


async def test_a_repeat_callers_voicemail_is_in_the_thread_and_the_first_one_stays_on_the_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await leave_voicemail(app, PEDRO, RECORDING + "1")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        clock.advance(timedelta(minutes=5))
        await leave_voicemail(app, PEDRO, RECORDING + "2")

        async def second_voicemail() -> list[str]:
            lines = [c.args for c in slack.of("chat.postMessage") if "thread_ts" in c.args]
            return [line["text"] for line in lines if RECORDING + "2" in line["text"]]

        [line] = await eventually(second_voicemail)
        assert "2.ª vez, 10:05" in line and "mensaje de voz" in line and "sin dejar mensaje" not in line
        [card] = await db.cards()
        assert (card.call_count, card.source, card.recording_url) == (2, "voicemail", RECORDING + "1")
        [repeat] = await db.audit("repeat_call")
        assert repeat.data["url"] == RECORDING + "2"
        assert await db.audit("recording") == [], "the status callback's copy of it adds nothing"
