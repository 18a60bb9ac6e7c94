"""What the fuzz test found, one case each: callers who are not phone numbers, text a database cannot
store, and Slack requests that are not what they should be."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import text

from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, eventually, outbox_settled, submission_body

SIP = "sip:recepcion@clinica-ejemplo.sip.twilio.com"
LONG_SIP = "sip:" + "r" * 180 + "@clinica-ejemplo.sip.twilio.com"
OVERLONG = "sip:" + "x" * 300 + "@example.com"


async def test_sip_client_and_overlong_callers_each_get_their_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    callers = [SIP, "client:agent_ana", LONG_SIP, OVERLONG]
    async with Centralita(db, clock, slack.url) as app:
        for caller in callers:
            await app.call(caller, "Hola, soy Pedro Gómez, quería una consulta")
        await slack.wait_for("chat.postMessage", count=len(callers), channel="C0RECEP")
        await outbox_settled(db)
    cards = await db.cards()
    assert [c.caller_name for c in cards] == ["Pedro Gómez"] * len(callers)
    stored = [row[0] for row in await db.query(text("SELECT from_number FROM call ORDER BY id"))]
    assert stored == [SIP, "client:agent_ana", LONG_SIP, OVERLONG[:255]]


async def test_speech_with_a_nul_and_control_characters_is_kept_without_them(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", "Hola, soy Juan\x00 Pérez,\x07 es urgente 😀")
        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
    [card] = await db.cards()
    assert card.summary == "Hola, soy Juan Pérez, es urgente 😀"
    assert card.caller_name == "Juan Pérez" and card.priority == "urgent"
    assert "Juan Pérez" in json.dumps(post.args["blocks"], ensure_ascii=False)


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "centralita.slack"
    ]


async def test_slack_requests_that_cannot_be_signed_get_401_and_no_traceback(
    db: Database, slack: FakeSlack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        now = str(int(time.time()))
        sent = [
            (b"payload=\xff\xfe", {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=00"}),
            (b"payload=%7B%7D", {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}),
            (b"payload=%7B%7D", {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=00"}),
            (b"payload=%7B%7D", {}),
        ]
        for body, headers in sent:
            headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
            refused = await app.http.post("/slack/events", content=body, headers=headers)
            assert refused.status_code == 401 and set(refused.json()) == {"error"}, refused.text
    assert _errors(caplog) == []
    assert [c for c in slack.calls if c.method != "auth.test"] == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=" + json.dumps([1, 2]), "application/x-www-form-urlencoded"),
        ("payload=123", "application/x-www-form-urlencoded"),
        (json.dumps([{"type": "block_actions"}]), "application/json"),
        (
            submission_body("add_note_modal", "U0ANA", {}, json.dumps(["not", "ours"])),
            "application/x-www-form-urlencoded",
        ),
        (
            urlencode({"payload": json.dumps({"type": "block_actions", "actions": 5})}),
            "application/x-www-form-urlencoded",
        ),
    ],
)
async def test_signed_slack_payloads_that_are_not_ours_get_400_and_one_warning(
    db: Database,
    slack: FakeSlack,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    body: str,
    content_type: str,
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        caplog.clear()
        refused = await app.slack_post(body, content_type=content_type)
        assert refused.status_code == 400 and "malformed" in refused.json()["error"]
        await asyncio.sleep(0.2)
        assert len(_warnings(caplog)) == 1 and _errors(caplog) == []
        for table in ("call", "card", "auditevent", "outboxmessage", "callback"):
            assert await db.count(table) == 0, table


async def test_recados_with_characters_a_database_cannot_store_are_posted_without_them(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    """The command's text, and a modal's inputs with a lone surrogate (JSON lets Slack send one)."""
    values = {
        "name": {"name": {"type": "plain_text_input", "value": "Marta\ud800 Ruiz\x00"}},
        "reason": {"reason": {"type": "plain_text_input", "value": "Quiere\udfff cambiar\x1b la cita"}},
    }
    async with Centralita(db, clock, slack.url) as app:
        answer = await app.command(
            "Juan\x00 Pérez +34 600 111 222 para Ana: quiere\x1b presupuesto", "U0ROCIO"
        )
        assert answer.status_code == 200, answer.text
        submitted = await app.submit("recado_modal", "U0ROCIO", values, json.dumps({"card": None}))
        assert submitted.status_code == 200, submitted.text

        async def two_cards() -> list[object]:
            cards = await db.cards()
            return cards if len(cards) == 2 else []

        cards = await eventually(two_cards)
    # Both are acknowledged before their cards are written: either may be written first.
    assert sorted((card.caller_name, card.summary) for card in cards) == [
        ("Juan Pérez", "quiere presupuesto"),
        ("Marta Ruiz", "Quiere cambiar la cita"),
    ]
