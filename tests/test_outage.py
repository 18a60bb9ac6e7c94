"""A database outage: PostgreSQL cut off by a loopback proxy (the server itself keeps running for the
other tests). Callers still hear valid TwiML, what Twilio sent is spooled, and after the database is
back every call has exactly one card, replayed again or not, and the spool is empty."""

from __future__ import annotations

import asyncio
import logging
import sys
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from subprocess import PIPE
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlmodel import select

from bot.store.models import Card
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tcp_proxy import TcpProxy
from tests.processes import CentralitaProcess, psycopg_url
from tests.support import (
    CLINIC_NUMBER,
    Centralita,
    Database,
    FakeClock,
    eventually,
    new_call_sid,
)

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
        assert (
            await app.twilio_post("/twilio/voice/status", {**speaker, "CallStatus": "completed"})
        ).status_code == 204

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
        assert (
            await app.twilio_post("/twilio/voice/status", {**voicemail, "CallStatus": "completed"})
        ).status_code == 204

        silent = {"CallSid": new_call_sid(), "From": "+34600111222", "To": CLINIC_NUMBER}
        assert [v for v, _ in verbs((await app.twilio_post("/twilio/voice", silent)).text)] == [
            "Say",
            "Say",
            "Record",
        ]
        assert (
            await app.twilio_post("/twilio/voice/status", {**silent, "CallStatus": "no-answer"})
        ).status_code == 204

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


async def test_a_repeat_caller_during_an_outage_is_merged_as_they_called_not_as_replayed(
    postgres: Database, slack: FakeSlack, clock: FakeClock, tmp_path: Path
) -> None:
    """A number with an open card calls again while the database is down and leaves a voicemail
    (what an outage offers): after the recovery that call is on their card, at the time it came,
    with its recording; it is not lost behind "called again without leaving a message"."""
    spool = tmp_path / "spool"
    async with (
        TcpProxy(postgres_port(postgres)) as proxy,
        Centralita(through(postgres, proxy), clock, slack.url, CENTRALITA_SPOOL_DIR=str(spool)) as app,
    ):

        async def cut() -> None:
            proxy.cut()

        async def restore() -> None:
            proxy.restore()

        await repeat_call_during_outage(app, postgres, slack, clock, spool, cut, restore)


async def test_a_repeat_caller_during_a_sqlite_lock_is_merged_as_they_called(
    slack: FakeSlack, clock: FakeClock, tmp_path: Path
) -> None:
    """The same on SQLite, the database file locked by another process."""
    db, spool = Database(f"sqlite+aiosqlite:///{tmp_path}/centralita.db"), tmp_path / "spool"
    async with Centralita(db, clock, slack.url, CENTRALITA_SPOOL_DIR=str(spool)) as app:
        holders: list[asyncio.subprocess.Process] = []

        async def cut() -> None:
            holders.append(await hold_lock(tmp_path / "centralita.db"))

        async def restore() -> None:
            holders[0].kill()
            await holders[0].wait()

        try:
            await repeat_call_during_outage(app, db, slack, clock, spool, cut, restore, wait=40)
        finally:
            if holders and holders[0].returncode is None:
                await restore()


async def repeat_call_during_outage(
    app: Centralita,
    db: Database,
    slack: FakeSlack,
    clock: FakeClock,
    spool: Path,
    cut: Callable[[], Awaitable[None]],
    restore: Callable[[], Awaitable[None]],
    wait: float = 15,
) -> None:
    await app.call("+34600111222", "Hola, soy Pedro Gómez, quería pedir cita")
    await eventually(lambda: _posted(slack, 1), timeout=10)
    await cut()
    clock.advance(timedelta(minutes=10))
    called = clock.now()
    again = {"CallSid": new_call_sid(), "From": "+34600111222", "To": CLINIC_NUMBER}
    assert [v for v, _ in verbs((await app.twilio_post("/twilio/voice", again)).text)][-1] == "Record"
    left = {**again, "RecordingUrl": RECORDING + "9"}
    assert (await app.twilio_post("/twilio/voice/voicemail", left)).status_code == 200
    assert (await app.twilio_post("/twilio/voice/recording", left)).status_code == 204
    ended = await app.twilio_post("/twilio/voice/status", {**again, "CallStatus": "completed"})
    assert ended.status_code == 204 and len(spooled_lines(spool)) == 4
    clock.advance(timedelta(minutes=30))  # the database is back half an hour later
    await restore()

    async def merged() -> list[str]:
        lines = [c.args["text"] for c in slack.of("chat.postMessage") if "thread_ts" in c.args]
        return [line for line in lines if RECORDING + "9" in line]

    [line] = await eventually(merged, timeout=wait)
    assert "2.ª vez, 10:10" in line and "mensaje de voz" in line
    [card] = await db.cards()
    assert card.call_count == 2 and card.last_call_at == called
    assert [event.at for event in await db.audit("repeat_call")] == [card.last_call_at]
    assert len(_card_posts(slack)) == 1 and not spooled_lines(spool)


async def hold_lock(path: Path) -> asyncio.subprocess.Process:
    """Another process holding the SQLite file's write lock, until it is killed."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LOCK, str(path), stdin=PIPE, stdout=PIPE
    )
    assert holder.stdout is not None and await holder.stdout.readline() == b"locked\n"
    return holder


async def test_a_server_started_while_the_database_is_unreachable_answers_and_catches_up(
    postgres: Database, slack: FakeSlack, clock: FakeClock, tmp_path: Path
) -> None:
    """The schema is not even there yet: migrations and the config sync run when the database
    answers, then the spool is replayed."""
    spool = tmp_path / "spool"
    async with TcpProxy(postgres_port(postgres)) as proxy:
        proxy.cut()
        async with Centralita(
            through(postgres, proxy), clock, slack.url, CENTRALITA_SPOOL_DIR=str(spool)
        ) as app:
            health = await app.http.get("/healthz")
            assert health.status_code == 503 and "database unreachable" in health.json()["reason"]
            call = {"CallSid": new_call_sid(), "From": "+34911222333", "To": CLINIC_NUMBER}
            answer = verbs((await app.twilio_post("/twilio/voice", call)).text)
            assert [verb for verb, _ in answer] == ["Say", "Say", "Record"]
            left = {**call, "RecordingUrl": RECORDING + "5"}
            assert [v for v, _ in verbs((await app.twilio_post("/twilio/voice/voicemail", left)).text)] == [
                "Say",
                "Hangup",
            ]
            assert (
                await app.twilio_post("/twilio/voice/status", {**call, "CallStatus": "completed"})
            ).status_code == 204

            proxy.restore()

            async def recovered() -> bool:
                return (await app.http.get("/healthz")).status_code == 200 and bool(
                    await _cards_or_none(postgres)
                )

            await eventually(recovered, timeout=20)
            [card] = await postgres.cards()
            assert (card.call_sid, card.recording_url) == (call["CallSid"], RECORDING + "5")
            await eventually(lambda: _posted(slack, 1), timeout=10)
            assert await postgres.count("staff") == 4, "the configuration was synced once it could be"


async def test_when_even_the_spool_cannot_be_written_the_caller_is_asked_to_call_back_later(
    postgres: Database, slack: FakeSlack, clock: FakeClock, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.write_text("a file where the spool directory should be\n")  # mkdir fails, even as root
    async with (
        TcpProxy(postgres_port(postgres)) as proxy,
        Centralita(through(postgres, proxy), clock, slack.url, CENTRALITA_SPOOL_DIR=str(spool)) as app,
    ):
        proxy.cut()
        call = {"CallSid": new_call_sid(), "From": "+34911222333", "To": CLINIC_NUMBER}
        answer = await app.twilio_post("/twilio/voice", call)
        assert [verb for verb, _ in verbs(answer.text)] == ["Say", "Hangup"]
        assert "vuelva a llamar más tarde" in answer.text
        ended = await app.twilio_post("/twilio/voice/status", {**call, "CallStatus": "completed"})
        assert ended.status_code == 503 and "spool" in ended.json()["detail"]


async def _cards_or_none(db: Database) -> list[Card]:
    """The cards, or none while the table does not exist yet."""
    try:
        return await db.cards()
    except Exception:
        return []


def _card_posts(slack: FakeSlack) -> list[object]:
    return [c for c in slack.of("chat.postMessage") if "thread_ts" not in c.args and "blocks" in c.args]


async def _posted(slack: FakeSlack, count: int) -> bool:
    return len(_card_posts(slack)) >= count


async def _empty(spool: Path) -> bool:
    return not _spool_files(spool)


def _spool_files(spool: Path) -> list[Path]:
    return list(spool.glob("*.jsonl"))


def serve_through(db: Database, proxy: TcpProxy, spool: Path, workdir: Path) -> CentralitaProcess:
    """A real ``centralita serve`` in its own process, on PostgreSQL through the proxy."""
    return CentralitaProcess(psycopg_url(db, proxy.port), workdir, spool=spool)


async def test_a_process_killed_during_an_outage_leaves_its_spool_to_the_next_start(
    postgres: Database, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    async with TcpProxy(postgres_port(postgres)) as proxy, httpx.AsyncClient(timeout=15) as http:
        first, second = (serve_through(postgres, proxy, spool, tmp_path) for _ in range(2))
        try:
            await first.start(http, until="healthy")
            proxy.cut()
            calls = [
                {"CallSid": new_call_sid(), "From": f"+3461234567{i}", "To": CLINIC_NUMBER} for i in range(3)
            ]
            for index, call in enumerate(calls):
                answer = await first.post(http, "/twilio/voice", call)
                assert [verb for verb, _ in verbs(answer.text)] == ["Say", "Say", "Record"]
                recorded = {**call, "RecordingUrl": f"{RECORDING}{index}"}
                done = await first.post(http, "/twilio/voice/voicemail", recorded)
                assert [verb for verb, _ in verbs(done.text)] == ["Say", "Hangup"]
                ended = await first.post(http, "/twilio/voice/status", {**call, "CallStatus": "completed"})
                assert ended.status_code == 204
            assert len(spooled_lines(spool)) == 9
            first.kill()
            proxy.restore()
            assert await postgres.count("card") == 0 and len(spooled_lines(spool)) == 9

            await second.start(http, until="healthy")

            async def replayed() -> bool:
                return not spooled_lines(spool) and await postgres.count("card") == 3

            await eventually(replayed, timeout=20)
            by_call = await cards_by_call(postgres)
            assert sorted(by_call) == sorted(call["CallSid"] for call in calls)
            assert [len(cards) for cards in by_call.values()] == [1, 1, 1]
            assert {cards[0].recording_url for cards in by_call.values()} == {
                f"{RECORDING}{i}" for i in range(3)
            }
            assert (await http.get(f"{second.url}/healthz")).status_code == 200
        finally:
            first.stop()
            second.stop()


HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


async def test_a_sqlite_file_locked_by_another_process_is_an_outage_too(
    slack: FakeSlack, clock: FakeClock, tmp_path: Path
) -> None:
    """Another process holds the write lock: the first webhook waits a few seconds, the others not
    at all; when the lock is gone the spool is replayed, and the first webhook's own late write and
    its replay make one call, one card."""
    db, spool = Database(f"sqlite+aiosqlite:///{tmp_path}/centralita.db"), tmp_path / "spool"
    async with Centralita(db, clock, slack.url, CENTRALITA_SPOOL_DIR=str(spool)) as app:
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLD_LOCK, f"{tmp_path}/centralita.db", stdin=PIPE, stdout=PIPE
        )
        try:
            assert holder.stdout is not None and await holder.stdout.readline() == b"locked\n"
            call = {"CallSid": new_call_sid(), "From": "+34911222333", "To": CLINIC_NUMBER}
            answer = verbs((await app.twilio_post("/twilio/voice", call)).text)
            assert [verb for verb, _ in answer] == ["Say", "Say", "Record"]
            left = {**call, "RecordingUrl": RECORDING + "7"}
            assert [v for v, _ in verbs((await app.twilio_post("/twilio/voice/voicemail", left)).text)] == [
                "Say",
                "Hangup",
            ]
            assert (
                await app.twilio_post("/twilio/voice/status", {**call, "CallStatus": "completed"})
            ).status_code == 204
            health = await app.http.get("/healthz")
            assert health.status_code == 503
            assert "3 webhooks spooled, waiting for the database" in health.json()["reason"]
        finally:
            holder.kill()
            await holder.wait()

        async def recovered() -> bool:
            return (await app.http.get("/healthz")).status_code == 200 and await db.count("card") == 1

        await eventually(recovered, timeout=40)
        [card] = await db.cards()
        assert (card.call_sid, card.source, card.recording_url) == (
            call["CallSid"],
            "voicemail",
            RECORDING + "7",
        )
        assert await db.count("call") == 1 and not spooled_lines(spool)
        await eventually(lambda: _posted(slack, 1), timeout=10)
        await asyncio.sleep(0.5)
        assert len(_card_posts(slack)) == 1
