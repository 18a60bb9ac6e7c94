"""Live transfer: a priority caller waits in their own conference while the card offers Accept
transfer; the first to accept is called, hears the whisper, presses 1 and is put through."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import ACCOUNT_SID, FakeTwilio, TwilioRequest
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, button, eventually, new_call_sid

JUAN = "+34911222333"
URGENT = "Hola, soy Juan Pérez, es urgente, se me ha roto la prótesis"


def twilio_env(fake: FakeTwilio) -> dict[str, Any]:
    return {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_API_BASE_URL": fake.url}


def _text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


class Caller:
    """One caller's call, driven the way Twilio drives it."""

    def __init__(self, app: Centralita, number: str = JUAN) -> None:
        self.app, self.sid = app, new_call_sid()
        self.base = {"CallSid": self.sid, "From": number, "To": CLINIC_NUMBER, "AccountSid": ACCOUNT_SID}

    async def says(self, speech: str) -> ET.Element:
        await self.app.twilio_post("/twilio/voice", {**self.base, "CallStatus": "ringing"})
        answer = await self.app.twilio_post("/twilio/voice/gather", {**self.base, "SpeechResult": speech})
        assert answer.status_code == 200, answer.text
        return ET.fromstring(answer.text)

    async def hangs_up(self) -> None:
        ended = await self.app.twilio_post("/twilio/voice/status", {**self.base, "CallStatus": "completed"})
        assert ended.status_code == 204


async def _staff_leg(app: Centralita, url: str, leg_sid: str, **params: str) -> str:
    """Twilio fetching one of the URLs we gave it for the staff call (signed with its query)."""
    split = urlsplit(url)
    path = split.path + (f"?{split.query}" if split.query else "")
    form = {"CallSid": leg_sid, "AccountSid": ACCOUNT_SID, "From": CLINIC_NUMBER, "To": "+34600000001"}
    response = await app.twilio_post(path, {**form, **params})
    assert response.status_code in (200, 204), response.text
    return response.text


async def _offered(slack: FakeSlack) -> list[dict[str, Any]]:
    [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
    blocks: list[dict[str, Any]] = post.args["blocks"]
    return blocks


async def _latest_card(slack: FakeSlack, needle: str) -> str:
    async def found() -> str | None:
        for call in reversed(slack.of("chat.update")):
            text = _text(call.args["blocks"])
            if needle in text:
                return text
        return None

    text: str = await eventually(found)
    return text


async def test_the_whole_transfer_from_hold_to_connected(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        caller = Caller(app)
        hold = await caller.says(URGENT)
        assert [c.tag for c in hold] == ["Say", "Dial"]
        conference = hold.find("Dial/Conference")
        assert conference is not None and conference.text == caller.sid
        assert conference.get("startConferenceOnEnter") == "false"
        wait_url = conference.get("waitUrl") or ""
        events = (conference.get("statusCallback"), conference.get("statusCallbackEvent"))
        assert events == (f"{app.url}/twilio/voice/transfer/conference", "leave")
        assert wait_url.startswith(f"{app.url}/twilio/voice/transfer/wait")

        waiting = ET.fromstring((await app.twilio_post(wait_url.removeprefix(app.url), caller.base)).text)
        assert [c.tag for c in waiting] == ["Say", "Pause"] and waiting[1].get("length") == "20"

        blocks = await _offered(slack)
        assert _action_ids(blocks)[0] == "accept_transfer"
        assert "quedan 45 s" in _text(blocks)
        [card] = await db.cards()
        assert card.transfer_state == "waiting"

        await app.click(button("accept_transfer", card.id), "U0ANA")
        [ring] = await twilio_rest.wait_for("call")
        assert (ring.form["To"], ring.form["From"]) == ("+34600000001", CLINIC_NUMBER)
        assert ring.form["Url"].startswith(f"{app.url}/twilio/voice/transfer/whisper?")
        assert parse_qs(urlsplit(ring.form["Url"]).query) == {"card": [str(card.id)], "attempt": ["1"]}
        assert ring.form["StatusCallback"].startswith(f"{app.url}/twilio/voice/transfer/leg?")
        assert "Llamando a Ana García" in await _latest_card(slack, "Llamando a Ana García")

        whisper = ET.fromstring(await _staff_leg(app, ring.form["Url"], ring.sid or ""))
        gather = whisper.find("Gather")
        assert gather is not None and gather.get("numDigits") == "1"
        said = "".join(s.text or "" for s in gather.iter("Say"))
        assert "Juan Pérez" in said and "Construcciones Pérez" in said and "Urgente" in said
        assert "prótesis" in said and "Pulse 1" in said

        joined = ET.fromstring(await _staff_leg(app, gather.get("action") or "", ring.sid or "", Digits="1"))
        staff_conference = joined.find("Dial/Conference")
        assert staff_conference is not None and staff_conference.text == caller.sid
        assert staff_conference.get("startConferenceOnEnter") == "true"
        assert "Transferida a Ana García: conectada 10:00" in await _latest_card(slack, "conectada")
        [card] = await db.cards()
        assert (card.status, card.claimed_by, card.transfer_state) == ("claimed", "ana", "connected")

        # The call ends normally: nothing more to do, and no second call was ever placed.
        await _staff_leg(app, ring.form["StatusCallback"], ring.sid or "", CallStatus="completed")
        await caller.hangs_up()
        [card] = await db.cards()
        assert card.transfer_state == "connected" and len(twilio_rest.of("call")) == 1


async def test_two_people_accepting_at_once_make_one_call(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        await Caller(app).says(URGENT)
        await _offered(slack)
        [card] = await db.cards()
        await asyncio.gather(
            app.click(button("accept_transfer", card.id), "U0ANA"),
            app.click(button("accept_transfer", card.id), "U0LUIS"),
        )
        [ephemeral] = await slack.wait_for("chat.postEphemeral")
        [ring] = await twilio_rest.wait_for("call")
        winner = {
            "+34600000001": ("ana", "U0LUIS", "Ana García"),
            "+34600000002": ("luis", "U0ANA", "Luis Martín"),
        }
        staff, loser, name = winner[ring.form["To"]]
        assert ephemeral.args["user"] == loser and name in ephemeral.args["text"]
        await asyncio.sleep(0.3)
        assert len(twilio_rest.of("call")) == 1
        [card] = await db.cards()
        assert (card.claimed_by, card.transfer_attempt) == (staff, 1)


@pytest.mark.parametrize(
    ("how", "notice"),
    [
        ("no-answer", "Ana García no contestó"),
        ("busy", "Ana García estaba ocupado/a"),
        ("no-press", "no pulsó 1"),
    ],
)
async def test_a_staff_call_that_does_not_connect_offers_the_transfer_again(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio, how: str, notice: str
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        await Caller(app).says(URGENT)
        await _offered(slack)
        [card] = await db.cards()
        await app.click(button("accept_transfer", card.id), "U0ANA")
        [ring] = await twilio_rest.wait_for("call")
        if how == "no-press":
            whisper = ET.fromstring(await _staff_leg(app, ring.form["Url"], ring.sid or ""))
            action = whisper.find("Gather").get("action")  # type: ignore[union-attr]
            goodbye = await _staff_leg(app, action or "", ring.sid or "", Digits="")
            assert "Hangup" in goodbye
        await _staff_leg(app, ring.form["StatusCallback"], ring.sid or "", CallStatus="ringing")
        final = "completed" if how == "no-press" else how
        await _staff_leg(app, ring.form["StatusCallback"], ring.sid or "", CallStatus=final)

        text = await _latest_card(slack, notice)
        assert "En espera para transferencia" in text and '"accept_transfer"' in text
        [card] = await db.cards()
        assert (card.status, card.claimed_by, card.transfer_state) == ("open", None, "waiting")
        assert len(await db.audit("transfer_failed")) == 1

        # A second accept is a new attempt; a late report of the first one changes nothing.
        await app.click(button("accept_transfer", card.id), "U0LUIS")
        [_, second] = await twilio_rest.wait_for("call", 2)
        assert second.form["To"] == "+34600000002" and "attempt=2" in second.form["Url"]
        await _staff_leg(app, ring.form["StatusCallback"], ring.sid or "", CallStatus="busy")
        [card] = await db.cards()
        assert (card.claimed_by, card.transfer_state, card.transfer_attempt) == ("luis", "ringing", 2)


@pytest.mark.parametrize("status", [400, 503])
async def test_a_twilio_error_is_shown_on_the_card_and_not_retried(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio, status: int
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        twilio_rest.fail("call", status)
        await Caller(app).says(URGENT)
        await _offered(slack)
        [card] = await db.cards()
        await app.click(button("accept_transfer", card.id), "U0ANA")
        text = await _latest_card(slack, "no se pudo llamar a Ana García")
        assert f"Twilio {status}" in text and '"accept_transfer"' in text
        await asyncio.sleep(0.3)
        assert [r.kind for r in twilio_rest.requests] == ["call-refused"]
        [card] = await db.cards()
        assert (card.status, card.transfer_state) == ("open", "waiting")


async def _posted(slack: FakeSlack, needle: str) -> bool:
    return any(needle in (c.args.get("text") or "") for c in slack.of("chat.postMessage"))


async def _timed_out_accept(app: Centralita, slack: FakeSlack, twilio_rest: FakeTwilio) -> TwilioRequest:
    """Ana accepts, and the Calls create reaches Twilio but is answered after the client's timeout."""
    twilio_rest.slow("call", 1.5)
    await Caller(app).says(URGENT)
    await _offered(slack)
    [card] = await app.db.cards()
    await app.click(button("accept_transfer", card.id), "U0ANA")
    [ring] = await twilio_rest.wait_for("call")
    text = await _latest_card(slack, "Twilio no confirmó la llamada a Ana García")
    assert "Llamando a Ana García" in text and '"accept_transfer"' not in text
    [card] = await app.db.cards()
    assert (card.status, card.claimed_by, card.transfer_state) == ("claimed", "ana", "ringing")
    # The claim is kept: nobody else can accept while Ana's phone may ring, so no second call.
    await app.click(button("accept_transfer", card.id), "U0LUIS")
    [refused] = await slack.wait_for("chat.postEphemeral", user="U0LUIS")
    assert "Ana García" in refused.args["text"]
    await asyncio.sleep(1.3)  # the stand-in answers meanwhile, to nobody
    assert len(twilio_rest.of("call")) == 1 and len(await app.db.audit("transfer_unconfirmed")) == 1
    return ring


async def test_a_timed_out_call_request_is_kept_and_its_late_reports_connect_it(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, TWILIO_TIMEOUT_SECONDS=0.5, **twilio_env(twilio_rest)) as app:
        ring = await _timed_out_accept(app, slack, twilio_rest)
        # Twilio did place it: its reports arrive with its sid, and Ana takes the call.
        await _staff_leg(app, ring.form["StatusCallback"], ring.sid or "", CallStatus="initiated")
        await eventually(lambda: _posted(slack, "Twilio confirmó la llamada a Ana García"))
        assert "no confirmó" not in _text(slack.of("chat.update")[-1].args["blocks"])
        whisper = ET.fromstring(await _staff_leg(app, ring.form["Url"], ring.sid or ""))
        action = whisper.find("Gather").get("action")  # type: ignore[union-attr]
        joined = ET.fromstring(await _staff_leg(app, action or "", ring.sid or "", Digits="1"))
        assert joined.find("Dial/Conference") is not None
        await _latest_card(slack, "conectada")
        [card] = await db.cards()
        assert (card.claimed_by, card.transfer_state, card.transfer_leg_sid) == (
            "ana",
            "connected",
            ring.sid or "",
        )
        assert len(twilio_rest.of("call")) == 1


async def test_a_timed_out_call_request_that_never_rang_ends_with_the_hold(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, TWILIO_TIMEOUT_SECONDS=0.5, **twilio_env(twilio_rest)) as app:
        ring = await _timed_out_accept(app, slack, twilio_rest)
        # No report ever comes: the hold runs out as for any attempt, and the caller gets voicemail.
        clock.advance(timedelta(seconds=46))
        await twilio_rest.wait_for("update")
        await _latest_card(slack, "Devolución pendiente")
        [card] = await db.cards()
        assert (card.status, card.claimed_by, card.transfer_state) == ("open", None, "voicemail")
        # A report that comes after all changes nothing, and no call was placed twice.
        await _staff_leg(app, ring.form["StatusCallback"], ring.sid or "", CallStatus="no-answer")
        [card] = await db.cards()
        assert card.transfer_state == "voicemail" and len(await db.audit("transfer_failed")) == 0
        assert len(twilio_rest.of("call")) == 1 and len(twilio_rest.of("update")) == 1


async def test_nobody_within_the_hold_time_sends_the_caller_to_voicemail_once(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        caller = Caller(app)
        await caller.says(URGENT)
        await _offered(slack)
        [card] = await db.cards()
        # A failed attempt does not restart the hold: it counts from when the caller was put on hold.
        await app.click(button("accept_transfer", card.id), "U0ANA")
        [ring] = await twilio_rest.wait_for("call")
        clock.advance(timedelta(seconds=30))
        await _staff_leg(app, ring.form["StatusCallback"], ring.sid or "", CallStatus="no-answer")
        await _latest_card(slack, "no contestó")
        clock.advance(timedelta(seconds=16))

        [redirect] = await twilio_rest.wait_for("update")
        assert redirect.call_sid == caller.sid
        document = ET.fromstring(redirect.form["Twiml"])
        assert [c.tag for c in document] == ["Say", "Record"]
        assert document.find("Record").get("action") == f"{app.url}/twilio/voice/voicemail"  # type: ignore[union-attr]
        text = await _latest_card(slack, "Devolución pendiente")
        assert '"accept_transfer"' not in text and '"claim"' in text
        [card] = await db.cards()
        assert (card.status, card.transfer_state, card.escalate_at is not None) == ("open", "voicemail", True)

        # Taken out to voicemail, the caller leaves the conference: that is not hanging up on hold.
        assert (await _left_conference(app, caller.sid, caller.sid)).status_code == 204
        await asyncio.sleep(0.4)  # more sweeps: the caller is redirected once
        assert len(twilio_rest.of("update")) == 1 and len(await db.audit("transfer_timeout")) == 1
        assert await db.audit("transfer_abandoned") == []


async def test_a_caller_who_hangs_up_while_waiting_is_to_be_called_back(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        caller = Caller(app)
        await caller.says(URGENT)
        await _offered(slack)
        [card] = await db.cards()
        await app.click(button("accept_transfer", card.id), "U0ANA")
        [ring] = await twilio_rest.wait_for("call")
        await caller.hangs_up()
        text = await _latest_card(slack, "Colgó mientras esperaba")
        assert '"claim"' in text
        # Ana answers after all: the caller is gone, she is told so and nothing changes.
        whisper = await _staff_leg(app, ring.form["Url"], ring.sid or "")
        assert "Hangup" in whisper
        [card] = await db.cards()
        assert (card.status, card.claimed_by, card.transfer_state) == ("open", None, "abandoned")


async def _left_conference(app: Centralita, conference: str, call_sid: str, **form: str) -> Any:
    """Twilio reporting that ``call_sid`` left the conference named ``conference``."""
    event = {"ConferenceSid": "CF" + "0" * 32, "FriendlyName": conference, "CallSid": call_sid}
    event |= {"AccountSid": ACCOUNT_SID, "StatusCallbackEvent": "participant-leave", **form}
    return await app.twilio_post("/twilio/voice/transfer/conference", event)


async def test_a_caller_who_leaves_the_conference_on_hold_is_to_be_called_back(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        caller = Caller(app)
        await caller.says(URGENT)
        await _offered(slack)
        # Signed like every Twilio webhook; a staff leg leaving, or a conference we do not know, changes nothing.
        path = "/twilio/voice/transfer/conference"
        form = {"FriendlyName": caller.sid, "CallSid": caller.sid, "StatusCallbackEvent": "participant-leave"}
        assert (await app.twilio_post(path, form, sign=False)).status_code == 403
        assert (await app.twilio_post(path, {"CallSid": caller.sid})).status_code == 400
        assert (await _left_conference(app, caller.sid, new_call_sid())).status_code == 204
        assert (await _left_conference(app, new_call_sid(), new_call_sid())).status_code == 204
        joined = await _left_conference(app, caller.sid, caller.sid, StatusCallbackEvent="participant-join")
        assert joined.status_code == 204
        [card] = await db.cards()
        assert card.transfer_state == "waiting"

        # The caller hangs up while waiting: their conference says so (whatever the number's own
        # status callback does), once.
        assert (await _left_conference(app, caller.sid, caller.sid)).status_code == 204
        text = await _latest_card(slack, "Colgó mientras esperaba")
        assert '"accept_transfer"' not in text
        await caller.hangs_up()
        [card] = await db.cards()
        assert card.transfer_state == "abandoned" and len(await db.audit("transfer_abandoned")) == 1


async def test_staff_without_a_phone_are_told_why_they_cannot_accept(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        await Caller(app).says(URGENT)
        await _offered(slack)
        [card] = await db.cards()
        await app.click(button("accept_transfer", card.id), "U0MARTA")
        [ephemeral] = await slack.wait_for("chat.postEphemeral", user="U0MARTA")
        assert "teléfono" in ephemeral.args["text"]
        [card] = await db.cards()
        assert (card.status, card.transfer_state) == ("open", "waiting") and twilio_rest.requests == []


async def test_without_anyone_with_a_phone_a_transfer_rule_takes_a_message(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(
        db, clock, slack.url, config="clinic_no_phones.yaml", **twilio_env(twilio_rest)
    ) as app:
        answer = await Caller(app).says(URGENT)
        assert [c.tag for c in answer] == ["Say", "Hangup"]
        blocks = await _offered(slack)
        assert "accept_transfer" not in _action_ids(blocks)
        [card] = await db.cards()
        assert card.transfer_state is None


async def test_outside_office_hours_a_transfer_rule_takes_a_voicemail(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    clock.advance(timedelta(hours=11))  # 21:00: closed
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        caller = Caller(app)
        answer = await app.twilio_post("/twilio/voice", caller.base)
        assert [c.tag for c in ET.fromstring(answer.text)] == ["Say", "Say", "Record"]


async def test_transfer_webhooks_are_signed_and_unknown_calls_get_safe_twiml(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        form = {"CallSid": new_call_sid(), "AccountSid": ACCOUNT_SID}
        path = "/twilio/voice/transfer/whisper?card=99&attempt=1"
        unsigned = await app.twilio_post(path, form, sign=False)
        assert unsigned.status_code == 403
        forged = await app.twilio_post(path, form, signature="bm90IGEgc2lnbmF0dXJl")
        assert forged.status_code == 403
        for step in ("whisper", "press"):
            answer = await app.twilio_post(f"/twilio/voice/transfer/{step}?card=99&attempt=1", form)
            assert answer.status_code == 200 and [c.tag for c in ET.fromstring(answer.text)] == [
                "Say",
                "Say",
                "Hangup",
            ]
        status = await app.twilio_post(
            "/twilio/voice/transfer/leg?card=99&attempt=1", {**form, "CallStatus": "busy"}
        )
        assert status.status_code == 204
        bad = await app.twilio_post("/twilio/voice/transfer/leg?card=x", {**form, "CallStatus": "busy"})
        assert bad.status_code == 400
        assert await db.count("card") == 0 and await db.count("auditevent") == 0
