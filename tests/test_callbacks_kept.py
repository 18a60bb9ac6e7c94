"""Every callback promised is kept: the caller told by SMS, a reminder with Call now, click-to-call
bridged from the organisation's number, and a callback nobody made escalating once per step."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from bot.store.models import Callback
from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import ACCOUNT_SID, FakeTwilio
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, button, eventually

JUAN = "+34911222333"


def twilio_env(fake: FakeTwilio) -> dict[str, Any]:
    return {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_API_BASE_URL": fake.url}


def _values(when: datetime, *, tell: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "when": {"when": {"type": "datetimepicker", "selected_date_time": int(when.timestamp())}},
        "assignee": {"assignee": {"type": "users_select", "selected_user": "U0ANA"}},
        "note": {"note": {"type": "plain_text_input", "value": "Confirmar la obra"}},
    }
    chosen = {"value": "yes"} if tell else None
    values["tell_caller"] = {"tell_caller": {"type": "static_select", "selected_option": chosen}}
    return values


async def _scheduled(app: Centralita, slack: FakeSlack, db: Database, *, tell: bool) -> tuple[int, datetime]:
    """Juan Pérez's call, and a callback for Ana at 11:00 scheduled from the card."""
    await app.call(JUAN, "Soy Juan Pérez, quería hablar de la obra")
    await slack.wait_for("chat.postMessage", channel="C0RECEP")
    [card] = await db.cards()
    await app.click(button("schedule_callback", card.id), "U0ANA")
    [opened] = await slack.wait_for("views.open")
    due = app.clock.now() + timedelta(hours=1)
    metadata = opened.args["view"]["private_metadata"]
    submitted = await app.submit("schedule_callback_modal", "U0ANA", _values(due, tell=tell), metadata)
    assert submitted.status_code == 200 and "errors" not in submitted.text
    await eventually(lambda: _callbacks(db))
    assert card.id is not None
    return card.id, due


async def _callbacks(db: Database) -> list[Callback]:
    return await db.query(select(Callback).order_by(Callback.id))


async def _reminder(slack: FakeSlack, count: int = 1) -> list[dict[str, Any]]:
    """The ``count``-th DM to Ana that offers actions (the first DM she gets says the card is hers)."""

    async def with_actions() -> list[Any] | None:
        found = [c for c in slack.of("chat.postMessage", channel="U0ANA") if c.args.get("blocks")]
        return found if len(found) >= count else None

    calls = await eventually(with_actions)
    blocks: list[dict[str, Any]] = calls[count - 1].args["blocks"]
    return blocks


def _buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def _twilio(app: Centralita, url: str, **params: str) -> str:
    split = urlsplit(url)
    form = {"CallSid": "CA" + "9" * 32, "AccountSid": ACCOUNT_SID, **params}
    response = await app.twilio_post(f"{split.path}?{split.query}", form)
    assert response.status_code in (200, 204), response.text
    return response.text


async def _thread_line(slack: FakeSlack, needle: str) -> str:
    async def found() -> str | None:
        return next(
            (c.args["text"] for c in slack.of("chat.postMessage") if needle in c.args.get("text", "")), None
        )

    line: str = await eventually(found)
    return line


async def test_scheduled_sms_reminder_call_now_and_the_bridge(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        card_id, _ = await _scheduled(app, slack, db, tell=True)
        [sms] = await twilio_rest.wait_for("sms")
        assert (sms.form["To"], sms.form["From"]) == (JUAN, CLINIC_NUMBER)
        assert sms.form["Body"] == "Clínica Dental Sonrisa: le llamaremos el martes 24 a las 11:00."

        clock.advance(timedelta(hours=1))
        blocks = await _reminder(slack)
        assert _buttons(blocks) == ["call_now", "reschedule_callback", "callback_done"]
        assert "Juan Pérez" in json.dumps(blocks, ensure_ascii=False)

        await app.click(button("call_now", card_id), "U0ANA", channel="D0ANA")
        [ring] = await twilio_rest.wait_for("call")
        assert (ring.form["To"], ring.form["From"]) == ("+34600000001", CLINIC_NUMBER)
        query = parse_qs(urlsplit(ring.form["Url"]).query)
        assert urlsplit(ring.form["Url"]).path == "/twilio/voice/callback/whisper" and query["attempt"] == [
            "1"
        ]

        whisper = ET.fromstring(await _twilio(app, ring.form["Url"]))
        gather = whisper.find("Gather")
        assert gather is not None and "Devolución de llamada a Juan Pérez" in "".join(gather.itertext())
        bridge = ET.fromstring(await _twilio(app, gather.get("action") or "", Digits="1"))
        dial = bridge.find("Dial")
        assert dial is not None and dial.get("callerId") == CLINIC_NUMBER
        assert dial.findtext("Number") == JUAN

        await _twilio(app, dial.get("action") or "", DialCallStatus="completed", DialCallDuration="125")
        assert "contestó (2 min)" in await _thread_line(slack, "devolvió la llamada")
        [callback] = await _callbacks(db)
        assert (callback.status, callback.escalate_at) == ("done", None)
        clock.advance(timedelta(hours=2))  # far past the grace: a done callback never escalates
        await _reminder(slack)
        assert await db.audit("callback_escalated") == []


async def test_no_answer_is_recorded_and_offers_rescheduling(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        card_id, _ = await _scheduled(app, slack, db, tell=False)
        assert twilio_rest.of("sms") == []
        clock.advance(timedelta(hours=1))
        await _reminder(slack)
        await app.click(button("call_now", card_id), "U0ANA", channel="D0ANA")
        [ring] = await twilio_rest.wait_for("call")
        gather = ET.fromstring(await _twilio(app, ring.form["Url"])).find("Gather")
        dial = ET.fromstring(await _twilio(app, gather.get("action") or "", Digits="1")).find("Dial")  # type: ignore[union-attr]
        await _twilio(app, dial.get("action") or "", DialCallStatus="no-answer")  # type: ignore[union-attr]
        assert "no contestó" in await _thread_line(slack, "no contestó")
        offer = await _reminder(slack, 2)
        assert _buttons(offer) == ["reschedule_callback", "callback_done"]
        [callback] = await _callbacks(db)
        assert callback.status == "reminded" and "no contestó" in (callback.last_result or "")


@pytest.mark.parametrize("status", [400, 503])
async def test_a_twilio_error_on_call_now_is_recorded_and_not_retried(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio, status: int
) -> None:
    async with Centralita(db, clock, slack.url, **twilio_env(twilio_rest)) as app:
        card_id, _ = await _scheduled(app, slack, db, tell=False)
        clock.advance(timedelta(hours=1))
        await _reminder(slack)
        twilio_rest.fail("call", status)
        await app.click(button("call_now", card_id), "U0ANA", channel="D0ANA")
        line = await _thread_line(slack, "No se pudo llamar a Ana García")
        assert f"Twilio {status}" in line
        await asyncio.sleep(0.3)
        assert [r.kind for r in twilio_rest.requests] == ["call-refused"]
        [callback] = await _callbacks(db)
        assert (callback.status, callback.last_result_attempt) == ("reminded", 1)


async def test_a_call_now_that_times_out_is_not_placed_again_and_its_late_result_counts(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with Centralita(db, clock, slack.url, TWILIO_TIMEOUT_SECONDS=0.5, **twilio_env(twilio_rest)) as app:
        card_id, _ = await _scheduled(app, slack, db, tell=False)
        clock.advance(timedelta(hours=1))
        await _reminder(slack)
        twilio_rest.slow("call", 1.5)
        await app.click(button("call_now", card_id), "U0ANA", channel="D0ANA")
        [ring] = await twilio_rest.wait_for("call")
        assert "si su teléfono suena" in await _thread_line(
            slack, "Twilio no confirmó la llamada a Ana García"
        )
        await asyncio.sleep(1.3)  # the stand-in answers meanwhile, to nobody: no second request
        assert len(twilio_rest.requests) == 1
        [callback] = await _callbacks(db)
        assert (callback.status, callback.call_attempt, callback.last_result_attempt) == ("reminded", 1, 0)

        # Twilio had placed it: Ana answers, presses 1, Juan is dialled and answers; that result counts.
        gather = ET.fromstring(await _twilio(app, ring.form["Url"])).find("Gather")
        dial = ET.fromstring(await _twilio(app, gather.get("action") or "", Digits="1")).find("Dial")  # type: ignore[union-attr]
        assert dial is not None and dial.findtext("Number") == JUAN
        await _twilio(app, dial.get("action") or "", DialCallStatus="completed", DialCallDuration="65")
        assert "contestó (1 min)" in await _thread_line(slack, "devolvió la llamada")
        [callback] = await _callbacks(db)
        assert (callback.status, callback.last_result_attempt) == ("done", 1)
        assert len(twilio_rest.of("call")) == 1


async def test_an_overdue_callback_escalates_owner_team_managers_once_each(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await _scheduled(app, slack, db, tell=False)
        clock.advance(timedelta(hours=1))
        await _reminder(slack)
        for level, minutes in ((1, 16), (2, 15), (3, 15)):
            clock.advance(timedelta(minutes=minutes))

            async def stepped(level: int = level) -> bool:
                return len(await db.audit("callback_escalated")) >= level

            await eventually(stepped)
        await _thread_line(slack, "nivel 3")
        clock.advance(timedelta(hours=3))
        await slack.wait_for("chat.postMessage", channel="U0MARTA")
        events = await db.audit("callback_escalated")
        assert [e.data["level"] for e in events] == [1, 2, 3]
        assert [sorted(e.data["to"]) for e in events] == [["ana"], ["ana", "luis"], ["marta"]]
        overdue = [
            c for c in slack.of("chat.postMessage", channel="U0ANA") if "fuera de plazo" in c.args["text"]
        ]
        assert len(overdue) == 2  # as owner, then as a member of the team


async def test_a_due_reminder_is_sent_after_a_restart_exactly_once(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await _scheduled(app, slack, db, tell=False)
    clock.advance(timedelta(hours=1, minutes=1))  # the reminder fell due while nothing was running
    async with Centralita(db, clock, slack.url):
        await _reminder(slack)
    async with Centralita(db, clock, slack.url) as again:
        await again.http.get("/healthz")
        [callback] = await _callbacks(db)
    reminders = [c for c in slack.of("chat.postMessage", channel="U0ANA") if c.args.get("blocks")]
    assert len(reminders) == 1 and callback.status == "reminded"
