"""Requests that are not what they claim to be are refused, and leave nothing behind."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import urlencode

import pytest
from starlette.datastructures import ImmutableMultiDict

from tests.fakes.slack_api import FakeSlack
from tests.support import (
    CLINIC_NUMBER,
    Centralita,
    Database,
    FakeClock,
    block_actions,
    button,
    command_body,
    new_call_sid,
    outbox_settled,
    submission_body,
)

ACCOUNT = "AC" + "0" * 32


async def _nothing_stored(db: Database) -> None:
    for table in ("call", "card", "auditevent", "outboxmessage", "callback"):
        assert await db.count(table) == 0, table


def _incoming(sid: str | None = None) -> dict[str, str]:
    params = {"From": "+34600111222", "To": CLINIC_NUMBER, "AccountSid": ACCOUNT, "CallStatus": "ringing"}
    return params | ({"CallSid": sid} if sid else {})


async def _card_after_a_call(app: Centralita, slack: FakeSlack, db: Database) -> int:
    await app.call("+34600111222", "Hola, soy Pedro Gómez, quería una consulta")
    await slack.wait_for("chat.postMessage", channel="C0RECEP")
    await outbox_settled(db)
    [card] = await db.cards()
    assert card.id is not None
    return card.id


def _claim_body(card_id: int, user: str = "U0ANA") -> str:
    return urlencode({"payload": json.dumps(block_actions(button("claim", card_id), user, "C0RECEP"))})


async def _assert_untouched(db: Database, slack: FakeSlack, calls_before: int) -> None:
    await asyncio.sleep(0.3)  # a refused click must not have background work either
    [card] = await db.cards()
    assert (card.status, card.claimed_by, card.version) == ("open", None, 1)
    assert await db.audit("claimed") == []
    assert len(_sent(slack)) == calls_before


def _sent(slack: FakeSlack) -> list[object]:
    """What the app told Slack (Bolt's own one-off ``auth.test`` aside)."""
    return [c for c in slack.calls if c.method != "auth.test"]


async def test_slack_clicks_with_a_wrong_secret_or_a_stale_timestamp_are_refused(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card_id = await _card_after_a_call(app, slack, db)
        before = len(_sent(slack))
        outbox_rows = await db.count("outboxmessage")

        wrong = await app.slack_post(_claim_body(card_id), secret_ok=False)
        assert wrong.status_code == 401
        stale = await app.slack_post(_claim_body(card_id), timestamp=int(time.time()) - 6 * 60)
        assert stale.status_code == 401
        future = await app.slack_post(_claim_body(card_id), timestamp=int(time.time()) + 6 * 60)
        assert future.status_code == 401
        unsigned = await app.http.post(
            "/slack/events",
            content=_claim_body(card_id),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert unsigned.status_code == 401

        await _assert_untouched(db, slack, before)
        assert await db.count("outboxmessage") == outbox_rows

        # The same click, properly signed, does go through: the refusals above were about the signature.
        accepted = await app.slack_post(_claim_body(card_id))
        assert accepted.status_code == 200
        await slack.wait_for("chat.update")
        assert (await db.cards())[0].claimed_by == "ana"


async def test_recados_with_a_wrong_secret_or_a_stale_timestamp_store_nothing(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    """The Slack requests that create cards: the slash command with text, and the modal's submission."""
    recado = command_body("Juan Pérez +34 600 111 222 para Ana urgente: quiere presupuesto", "U0ROCIO")
    values = {
        "phone": {"phone": {"type": "plain_text_input", "value": "600 555 666"}},
        "reason": {"reason": {"type": "plain_text_input", "value": "Quiere cambiar la cita"}},
    }
    submission = submission_body(
        "recado_modal", "U0ROCIO", values, json.dumps({"card": None, "channel": "C0RECEP"})
    )
    async with Centralita(db, clock, slack.url) as app:
        for body in (recado, submission):
            wrong = await app.slack_post(body, secret_ok=False)
            stale = await app.slack_post(body, timestamp=int(time.time()) - 6 * 60)
            assert (wrong.status_code, stale.status_code) == (401, 401)
        await asyncio.sleep(0.3)
        await _nothing_stored(db)
        assert _sent(slack) == []

        # Properly signed, the same submission makes its card: the refusals were about the signature.
        accepted = await app.slack_post(submission)
        assert accepted.status_code == 200
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        assert await db.count("card") == 1


async def test_slack_clicks_that_name_no_card_change_nothing(
    db: Database, slack: FakeSlack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card_id = await _card_after_a_call(app, slack, db)
        before = len(_sent(slack))

        caplog.clear()
        garbled = {**button("claim", card_id), "value": "not-a-card"}
        response = await app.click(garbled, "U0ANA")
        assert response.status_code == 400 and "not a card id" in response.json()["error"]
        [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert warning.levelno == logging.WARNING and "not a card id" in warning.getMessage()
        await _assert_untouched(db, slack, before)

        missing = await app.claim(card_id + 1000, "U0ANA")
        assert missing.status_code == 200
        [ephemeral] = await slack.wait_for("chat.postEphemeral", user="U0ANA")
        assert ephemeral.args["text"] == "Esta tarjeta ya no existe."
        [card] = await db.cards()
        assert (card.status, card.version) == ("open", 1)


async def test_a_card_id_beyond_the_databases_integers_is_a_card_that_does_not_exist(
    db: Database, slack: FakeSlack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """2**40 in a signed click or modal: PostgreSQL's INTEGER cannot hold it, so it is refused when
    parsed, and the person hears what they would for a card that is gone."""
    async with Centralita(db, clock, slack.url) as app:
        await _card_after_a_call(app, slack, db)
        caplog.clear()

        clicked = await app.claim(2**40, "U0ANA")
        assert clicked.status_code == 200
        [ephemeral] = await slack.wait_for("chat.postEphemeral", user="U0ANA")
        assert ephemeral.args["text"] == "Esta tarjeta ya no existe."

        values = {"note": {"note": {"type": "plain_text_input", "value": "Llamado"}}}
        metadata = json.dumps({"card": 2**40, "channel": "C0RECEP"})
        noted = await app.submit("add_note_modal", "U0LUIS", values, metadata)
        assert noted.status_code == 200
        [ephemeral] = await slack.wait_for("chat.postEphemeral", user="U0LUIS")
        assert ephemeral.args["text"] == "Esta tarjeta ya no existe."

        assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
        [card] = await db.cards()
        assert (card.status, card.version) == ("open", 1)
        assert await db.audit("claimed") == [] and await db.audit("note") == []


async def test_malformed_slack_requests_are_refused_without_a_server_error(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        not_json = await app.slack_post("payload=not-json")
        assert not_json.status_code == 400 and "malformed" in not_json.text
        empty = await app.slack_post("payload=")
        assert empty.status_code == 400
        unsigned = await app.http.post(
            "/slack/events",
            content="payload={oops",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert unsigned.status_code in (400, 401)
        no_action = await app.slack_post(urlencode({"payload": json.dumps({"type": "block_actions"})}))
        assert no_action.status_code == 400
        nothing_we_handle = await app.slack_post(urlencode({"payload": json.dumps({"type": "shortcut"})}))
        assert nothing_we_handle.status_code == 404
        await asyncio.sleep(0.2)
        await _nothing_stored(db)
        assert _sent(slack) == []


async def test_twilio_requests_without_a_valid_signature_are_refused(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        unsigned = await app.twilio_post("/twilio/voice", _incoming(new_call_sid()), sign=False)
        assert unsigned.status_code == 403
        assert "X-Twilio-Signature" in unsigned.json()["detail"]
        await _nothing_stored(db)

        wrong_sig = "bm90LWEtc2lnbmF0dXJl"
        wrong = await app.twilio_post("/twilio/voice", _incoming(new_call_sid()), signature=wrong_sig)
        assert wrong.status_code == 403
        assert "Wrong X-Twilio-Signature" in wrong.json()["detail"]
        await _nothing_stored(db)

        params = _incoming(new_call_sid())
        elsewhere = app.twilio.compute_signature("https://centralita.example.com/twilio/voice", params)
        other_url = await app.twilio_post("/twilio/voice", params, signature=elsewhere)
        assert other_url.status_code == 403
        await _nothing_stored(db)

        # A signature over other parameters than those sent (a tampered body) is refused too.
        signed_for = app.twilio.compute_signature(app.url + "/twilio/voice", params)
        tampered = await app.twilio_post(
            "/twilio/voice", {**params, "From": "+34699999999"}, signature=signed_for
        )
        assert tampered.status_code == 403
        await _nothing_stored(db)

        for path in ("/twilio/voice/gather", "/twilio/voice/status", "/twilio/voice/recording"):
            refused = await app.twilio_post(path, {**params, "SpeechResult": "urgente"}, sign=False)
            assert refused.status_code == 403, path
        await asyncio.sleep(0.2)
        await _nothing_stored(db)
        assert slack.of("chat.postMessage") == []

        # A call that did begin: forged follow-ups about it open no card and change nothing.
        started = await app.twilio_post("/twilio/voice", params)
        assert started.status_code == 200
        forged = {**params, "SpeechResult": "urgente", "RecordingUrl": "https://example.com/r.mp3"}
        for path in ("/twilio/voice/gather", "/twilio/voice/status", "/twilio/voice/recording"):
            refused = await app.twilio_post(path, {**forged, "CallStatus": "completed"}, signature=wrong_sig)
            assert refused.status_code == 403, path
        await asyncio.sleep(0.2)
        assert await db.count("call") == 1
        for table in ("card", "auditevent", "outboxmessage"):
            assert await db.count(table) == 0, table
        assert slack.of("chat.postMessage") == []


async def test_twilio_signatures_accepted_as_the_sdk_accepts_them(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    """Twilio signs the URL with or without its port; both are accepted, as the SDK's ``validate``
    does, and so are repeated fields."""
    async with Centralita(db, clock, slack.url) as app:
        params = _incoming(new_call_sid())
        without_port = app.url.rsplit(":", 1)[0] + "/twilio/voice"
        signature = app.twilio.compute_signature(without_port, params)
        assert app.twilio.validate(app.url + "/twilio/voice", params, signature)
        answered = await app.twilio_post("/twilio/voice", params, signature=signature)
        assert answered.status_code == 200, answered.text

        repeated = [*_incoming(new_call_sid()).items(), ("Extra", "b"), ("Extra", "a")]
        body = urlencode(repeated)
        signature = app.twilio.compute_signature(app.url + "/twilio/voice", ImmutableMultiDict(repeated))
        headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
        accepted = await app.http.post("/twilio/voice", content=body, headers=headers)
        assert accepted.status_code == 200, accepted.text
        assert await db.count("call") == 2


async def test_twilio_requests_that_are_signed_but_malformed_are_refused(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        no_sid = await app.twilio_post("/twilio/voice", _incoming())
        assert no_sid.status_code == 400
        assert "CallSid" in no_sid.json()["detail"]
        await _nothing_stored(db)

        bad_sid = await app.twilio_post(
            "/twilio/voice/gather", {**_incoming("not-a-sid"), "SpeechResult": "hola"}
        )
        assert bad_sid.status_code == 400 and "CallSid" in bad_sid.json()["detail"]
        await _nothing_stored(db)

        params = _incoming(new_call_sid())
        as_json = await app.http.post(
            "/twilio/voice",
            content=json.dumps(params),
            headers={
                "Content-Type": "application/json",
                "X-Twilio-Signature": app.twilio.compute_signature(app.url + "/twilio/voice", params),
            },
        )
        assert as_json.status_code in (403, 415)
        assert "form-encoded" in as_json.json()["detail"] or "Signature" in as_json.json()["detail"]
        await asyncio.sleep(0.2)
        await _nothing_stored(db)
        assert slack.of("chat.postMessage") == []


async def test_a_repeated_call_sid_makes_one_card_and_one_post(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        sid = new_call_sid()
        base = {"CallSid": sid, "From": "+34600111222", "To": CLINIC_NUMBER, "AccountSid": ACCOUNT}
        for _ in range(2):
            answer = await app.twilio_post("/twilio/voice", {**base, "CallStatus": "ringing"})
            assert answer.status_code == 200 and "<Gather" in answer.text
        for _ in range(2):
            said = await app.twilio_post(
                "/twilio/voice/gather", {**base, "SpeechResult": "Soy Pedro Gómez, una consulta"}
            )
            assert said.status_code == 200 and "Hemos tomado nota" in said.text
        for _ in range(2):
            ended = await app.twilio_post("/twilio/voice/status", {**base, "CallStatus": "completed"})
            assert ended.status_code == 204

        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        await outbox_settled(db)
        await asyncio.sleep(0.3)
        assert len(slack.of("chat.postMessage")) == 1
        [card] = await db.cards()
        assert (card.call_sid, card.caller_name, card.source) == (sid, "Pedro Gómez", "call")
        assert await db.count("call") == 1 and await db.count("card") == 1
        assert len(await db.audit("created")) == 1
