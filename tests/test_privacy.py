"""Data protection: the daily retention purge, and access and erasure for one phone number."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, String, Text, text
from sqlmodel import SQLModel, select

import bot.store.models  # noqa: F401  (every table registered)
from bot.app import Services
from bot.store.models import AuditEvent, Callback, Card, Contact, RetentionRun
from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support import Centralita, Database, FakeClock, outbox_settled

CALLER = "+34600111222"
TRACES = (CALLER, "600111222", "+34 600 11 12 22", "Pedro Gómez", "me duele una muela")
SAID = "Hola, soy Pedro Gómez, me duele una muela"
RECORDING = "RE" + "a" * 32


def _app(db: Database, clock: FakeClock, slack: FakeSlack, twilio_rest: FakeTwilio) -> Centralita:
    return Centralita(
        db,
        clock,
        slack.url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_BASE_URL=twilio_rest.url,
    )


def _services(app: Centralita) -> Services:
    services: Services = app.app.state.services
    return services


async def _card_with_recording(app: Centralita, db: Database) -> Card:
    """A call whose card is posted in Slack, with a voicemail recording on it."""
    await app.call(CALLER, SAID)
    await outbox_settled(db)
    url = f"https://api.twilio_rest.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{RECORDING}"
    await db.run(f"UPDATE card SET recording_url = '{url}'")
    [card] = await db.cards()
    return card


# Retention -----------------------------------------------------------------------------------
async def test_retention_purges_what_expired_once_and_rerenders_the_posted_card(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest) as app:
        await _card_with_recording(app, db)
        retention = _services(app).retention
        await retention.sweep()  # today's purge: nothing expired yet
        [started] = await db.audit("retention")
        assert started.data["transcripts"] == 0 and twilio_rest.requests == []
        assert SAID in (await db.cards())[0].summary

        clock.advance(timedelta(days=91))  # past the clinic's 90 days of transcripts and 30 of recordings
        updates_before = len(slack.of("chat.update"))
        results = await asyncio.gather(retention.sweep(), retention.sweep())
        assert results == [None, None]
        await retention.sweep()  # the same day again: nothing more happens

        [card] = await db.cards()
        assert card.summary == "" and card.recording_url is None
        assert twilio_rest.sids("delete-recording") == [RECORDING]
        runs = await db.query(select(RetentionRun).order_by(RetentionRun.id))
        assert [r.day for r in runs] == ["2026-11-24", "2027-02-23"]
        purges = await db.audit("retention")
        assert len(purges) == 2 and purges[1].data["transcripts"] == 1
        [deleted] = await db.audit("retention_recordings")
        assert deleted.data == {"deleted": 1, "failed": 0}
        assert all(SAID not in json.dumps(e.data, ensure_ascii=False) for e in await db.audit())

        await slack.wait_for("chat.update", count=updates_before + 1)
        await outbox_settled(db)  # every render shows the card as it is when sent: the last one counts
        shown = json.dumps(slack.of("chat.update")[-1].args, ensure_ascii=False)
        assert "me duele una muela" not in shown and RECORDING not in shown
        assert "Pedro Gómez" in shown  # the caller's name stays until the card is closed and old


async def test_retention_a_recording_twilio_refuses_stays_for_the_next_day(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest) as app:
        await _card_with_recording(app, db)
        await _services(app).retention.sweep()  # today's: nothing expired yet
        clock.advance(timedelta(days=31))
        twilio_rest.fail("delete-recording", 503)
        await _services(app).retention.sweep()
        assert (await db.cards())[0].recording_url is not None
        [failed] = await db.audit("retention_recordings")
        assert failed.data == {"deleted": 0, "failed": 1}
        clock.advance(timedelta(days=1))
        await _services(app).retention.sweep()
        assert (await db.cards())[0].recording_url is None and twilio_rest.sids("delete-recording") == [RECORDING]


async def test_retention_deletes_old_closed_cards_and_old_deliveries(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest) as app:
        await app.call(CALLER, SAID)
        await outbox_settled(db)
        await app.claim(1, "U0ANA")
        await outbox_settled(db)
        await db.run(f"UPDATE card SET status = 'resolved', resolved_at = '{_sql_time(clock.now(), db)}'")
        await _services(app).retention.sweep()  # today's: nothing expired yet
        clock.advance(timedelta(days=731))
        await _services(app).retention.sweep()
        assert await db.count("card") == 0 and await db.count("cardpost") == 0
        assert len(twilio_rest.of("delete-call")) == 1  # the call's log in Twilio goes with it
        erased = await slack.wait_for("chat.update", count=1, text="Datos eliminados.")
        assert all(call.args["blocks"] in ([], "[]") for call in erased)
        await outbox_settled(db)
        assert await _traces(db) == []


# Export and erasure --------------------------------------------------------------------------
async def _planted(app: Centralita, db: Database, clock: FakeClock) -> dict[str, Any]:
    """A call with a card, a note, a callback and the caller as a contact: every kind of row."""
    card = await _card_with_recording(app, db)
    await app.claim(card.id or 0, "U0ANA")
    await outbox_settled(db)
    now = clock.now()
    note = AuditEvent(
        org_id="default", card_id=card.id, at=now, actor="ana", kind="note", data={"note": "llamar tarde"}
    )
    callback = Callback(
        org_id="default",
        card_id=card.id or 0,
        due_at=now,
        assignee_id="ana",
        note="a las 5",
        created_by="ana",
        created_at=now,
    )
    contact = Contact(org_id="default", name="Pedro Gómez", phone=CALLER)
    await db.add(note, callback, contact)
    return {"card": card.id, "note": "llamar tarde", "callback": "a las 5", "contact": "Pedro Gómez"}


async def test_export_holds_every_row_about_the_number(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest) as app:
        planted = await _planted(app, db, clock)
        data = await _services(app).privacy.export(CALLER)
    assert data is not None and data["number"] == CALLER
    [org] = data["organizations"]
    [card] = org["cards"]
    assert card["id"] == planted["card"] and card["summary"] == SAID and RECORDING in card["recording_url"]
    assert [c["from_number"] for c in org["calls"]] == [CALLER]
    assert [c["name"] for c in org["contacts"]] == ["Pedro Gómez"]
    assert [c["note"] for c in card["callbacks"]] == ["a las 5"]
    assert {"created", "claimed", "note"} <= {e["kind"] for e in card["audit"]}
    assert any(e["data"] == {"note": "llamar tarde"} for e in card["audit"])
    assert {p["channel"] for p in card["posts"]} == {"slack"} and card["posts"][0]["external_ref"]
    assert {"card", "thread"} <= {o["kind"] for o in card["outbox"]}
    assert await _services_export_none(db, clock, slack, twilio_rest)


async def _services_export_none(db: Database, clock: FakeClock, slack: FakeSlack, twilio_rest: FakeTwilio) -> bool:
    async with _app(db, clock, slack, twilio_rest) as app:
        return await _services(app).privacy.export("+34699000000") is None


async def test_erase_leaves_no_trace_and_edits_twilio_and_slack(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest) as app:
        await _planted(app, db, clock)
        privacy = _services(app).privacy
        planned = await privacy.erase(CALLER, "cli", dry_run=True)
        assert planned.counts() == {"cards": 1, "calls": 1, "contacts": 1, "recordings": 1, "messages": 0}
        assert await _traces(db) != [] and twilio_rest.requests == []  # a dry run changes nothing

        shown = await _message_refs(db)
        assert len(shown) >= 2  # the card, "claimed" in its thread, and any direct message about it
        done = await privacy.erase(CALLER, "cli")
        assert done.cards == 1 and done.messages >= len(shown)
        edited = await slack.wait_for("chat.update", count=done.messages, text="Datos eliminados.")
        assert shown <= {f"{c.args['channel']}:{c.args['ts']}" for c in edited}
        await outbox_settled(db)

    assert twilio_rest.sids("delete-recording") == [RECORDING] and len(twilio_rest.of("delete-call")) == 1
    assert await _traces(db) == []
    [erasure] = await db.audit("privacy_erase")
    assert erasure.card_id is None and erasure.data["cards"] == 1


async def _message_refs(db: Database) -> set[str]:
    """The Slack references of every message sent about the caller's card."""
    rows = await db.query(
        text(
            "SELECT external_ref FROM cardpost UNION SELECT external_ref FROM outboxmessage WHERE kind IN ('thread', 'direct')"
        )
    )
    return {r[0] for r in rows if r[0]}


async def test_erase_stops_before_the_database_when_twilio_refuses(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    from bot.services.privacy import PrivacyError

    async with _app(db, clock, slack, twilio_rest) as app:
        await _card_with_recording(app, db)
        twilio_rest.fail("delete-recording", 500)
        with pytest.raises(PrivacyError, match="nothing was changed"):
            await _services(app).privacy.erase(CALLER, "cli")
        assert len(await db.cards()) == 1
        await _services(app).privacy.erase(CALLER, "cli")  # again: it finishes
        assert await db.cards() == []


async def test_erase_of_a_number_that_matches_nothing_changes_nothing(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest) as app:
        await app.call(CALLER, SAID)
        await outbox_settled(db)
        done = await _services(app).privacy.erase("+34699000000", "cli")
        assert done.empty and len(await db.cards()) == 1 and await db.audit("privacy_erase") == []


async def _traces(db: Database) -> list[str]:
    """Every text and JSON value in every table that shows the caller (any form of the number, the
    name, what they said)."""
    found: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        columns = [c.name for c in table.columns if _is_text(c.type)]
        if not columns:
            continue
        quoted = ", ".join(f'CAST("{c}" AS TEXT)' for c in columns)
        for row in await db.query(text(f'SELECT {quoted} FROM "{table.name}"')):
            for column, value in zip(columns, row, strict=True):
                if value is not None and any(trace in _decoded(value) for trace in TRACES):
                    found.append(f"{table.name}.{column}: {value[:80]}")
    return found


def _is_text(kind: Any) -> bool:
    """A text or JSON column (SQLModel's ``AutoString`` wraps a ``String``)."""
    return isinstance(kind, String | Text | JSON) or isinstance(getattr(kind, "impl_instance", None), String)


def _decoded(value: str) -> str:
    try:
        return json.dumps(json.loads(value), ensure_ascii=False)
    except ValueError:
        return value


def _sql_time(at: datetime, db: Database) -> str:
    value = at.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S") + ("" if db.name == "sqlite" else "+00")
