"""A database outage: PostgreSQL cut off by a loopback proxy (the server itself keeps running for the
other tests). Callers still hear valid TwiML, what Twilio sent is spooled, and after the database is
back every call has exactly one card, replayed again or not, and the spool is empty."""

from __future__ import annotations

import asyncio
import json
import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlmodel import select

from bot.store.models import Card
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tcp_proxy import TcpProxy
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, eventually, new_call_sid

RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE"


def through(db: Database, proxy: TcpProxy) -> Database:
    """The same database, reached through the proxy."""
    parts = urlsplit(db.url)
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    return Database(urlunsplit(parts._replace(netloc=netloc)), db.connect_args, db.name)


def postgres_port(db: Database) -> int:
    return urlsplit(db.url).port or 5432


def verbs(twiml: str) -> list[tuple[str, dict[str, str]]]:
    """The document's verbs and their attributes; it must be a TwiML ``<Response>``."""
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    return [(child.tag, child.attrib) for child in root]


def spooled_lines(spool: Path) -> list[str]:
    return [line for path in sorted(spool.glob("*.jsonl")) for line in path.read_text().splitlines()]


async def cards_by_call(db: Database) -> dict[str, list[Card]]:
    found: dict[str, list[Card]] = {}
    for card in await db.query(select(Card)):
        found.setdefault(card.call_sid or "", []).append(card)
    return found


async def test_an_outage_costs_no_call_and_no_card_is_made_twice(
    postgres: Database, slack: FakeSlack, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    spool = tmp_path / "spool"
    async with (
        TcpProxy(postgres_port(postgres)) as proxy,
        Centralita(through(postgres, proxy), clock, slack.url, CENTRALITA_SPOOL_DIR=str(spool)) as app,
    ):
        assert (await app.http.get("/healthz")).status_code == 200
        speaker = {"CallSid": new_call_sid(), "From": "+34612345678", "To": CLINIC_NUMBER}
        ask = verbs((await app.twilio_post("/twilio/voice", speaker)).text)
        assert [verb for verb, _ in ask] == ["Gather"]  # the call began before the outage

        proxy.cut()
        said = "Hola, soy Marta Ruiz, quería pedir presupuesto"
        taken = verbs((await app.twilio_post("/twilio/voice/gather", {**speaker, "SpeechResult": said})).text)
        assert [verb for verb, _ in taken] == ["Say", "Hangup"]
        assert taken[0][1]["language"] == "es-ES"
        assert (await app.twilio_post("/twilio/voice/status", {**speaker, "CallStatus": "completed"})).status_code == 204

        voicemail = {"CallSid": new_call_sid(), "From": "+34911222333", "To": CLINIC_NUMBER}
        answer = await app.twilio_post("/twilio/voice", voicemail)
        assert answer.status_code == 200 and "no podemos atenderle" in answer.text
        outage = verbs(answer.text)
        assert [verb for verb, _ in outage] == ["Say", "Say", "Record"]
        assert all(attrs["language"] == "es-ES" for verb, attrs in outage if verb == "Say")
        record = outage[2][1]
        assert record["action"] == f"{app.url}/twilio/voice/voicemail"
        assert record["recordingStatusCallback"] == f"{app.url}/twilio/voice/recording"
        left = {**voicemail, "RecordingUrl": RECORDING + "1"}
        done = verbs((await app.twilio_post("/twilio/voice/voicemail", left)).text)
        assert [verb for verb, _ in done] == ["Say", "Hangup"]
        assert (await app.twilio_post("/twilio/voice/recording", left)).status_code == 204
        assert (await app.twilio_post("/twilio/voice/status", {**voicemail, "CallStatus": "completed"})).status_code == 204

        silent = {"CallSid": new_call_sid(), "From": "+34600111222", "To": CLINIC_NUMBER}
        assert [v for v, _ in verbs((await app.twilio_post("/twilio/voice", silent)).text)] == ["Say", "Say", "Record"]
        assert (await app.twilio_post("/twilio/voice/status", {**silent, "CallStatus": "no-answer"})).status_code == 204

        blocked = {"CallSid": new_call_sid(), "From": "+34699999999", "To": CLINIC_NUMBER}
        assert [v for v, _ in verbs((await app.twilio_post("/twilio/voice", blocked)).text)] == ["Reject"]

        lines = spooled_lines(spool)
        assert len(lines) == 9  # gather, status; voice, voicemail, recording, status; voice, status; voice
        health = await app.http.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert "database unreachable" in health.json()["reason"]
        assert "9 webhooks spooled, waiting for the database" in health.json()["reason"]
        await asyncio.sleep(1.5)  # several sweeps, delivery rounds and replays fail meanwhile

        proxy.restore()

        async def recovered() -> bool:
            health = await app.http.get("/healthz")
            return health.status_code == 200 and not spooled_lines(spool) and len(await db_cards()) == 3

        async def db_cards() -> list[Card]:
            return await postgres.cards()

        await eventually(recovered, timeout=15)
        by_call = await cards_by_call(postgres)
        assert sorted(by_call) == sorted([speaker["CallSid"], voicemail["CallSid"], silent["CallSid"]])
        assert all(len(cards) == 1 for cards in by_call.values())
        [spoken], [recorded], [missed] = (by_call[c["CallSid"]] for c in (speaker, voicemail, silent))
        assert (spoken.summary, spoken.caller_name, spoken.category) == (said, "Marta Ruiz", "lead")
        assert (recorded.source, recorded.recording_url) == ("voicemail", RECORDING + "1")
        assert missed.source == "missed"
        await eventually(lambda: _posted(slack, 3), timeout=10)
        outbox, audit = await postgres.count("outboxmessage"), await postgres.count("auditevent")

        # The same lines replayed again (as if a process died after replaying them, before removing
        # its file): nothing changes.
        (spool / "00000000000000000001-elsewhere-1.jsonl").write_text("\n".join(lines) + "\n")
        await eventually(lambda: _empty(spool), timeout=10)
        await asyncio.sleep(0.5)
        assert {sid: len(cards) for sid, cards in (await cards_by_call(postgres)).items()} == {
            sid: 1 for sid in by_call
        }
        assert (await postgres.count("outboxmessage"), await postgres.count("auditevent")) == (outbox, audit)
        assert len(_card_posts(slack)) == 3
        assert not (spool / "failed.txt").exists()

    failures = [r for r in caplog.records if r.name.startswith("centralita.") and r.levelno >= logging.ERROR]
    assert all(r.exc_info is None for r in failures), "an outage is one line per job, not a traceback"
    per_job = [r.getMessage().split(" failed:")[0] for r in failures]
    assert len(per_job) == len(set(per_job)), per_job


def _card_posts(slack: FakeSlack) -> list[object]:
    return [c for c in slack.of("chat.postMessage") if "thread_ts" not in c.args and "blocks" in c.args]


async def _posted(slack: FakeSlack, count: int) -> bool:
    return len(_card_posts(slack)) >= count


async def _empty(spool: Path) -> bool:
    return not list(spool.glob("*.jsonl"))


def _summary(lines: list[str]) -> list[str]:
    return [json.loads(line)["kind"] for line in lines]
