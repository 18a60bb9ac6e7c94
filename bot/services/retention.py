"""The daily retention purge of each organisation (``retention:`` in its file): what is older than
its organisation keeps it is redacted or deleted, the cards already posted are re-rendered without
it, and an audit event counts what went (never the data).

Once a day per organisation, whatever the number of processes: the purge runs in the transaction
that writes the day's unique ``RetentionRun`` row, so a second process (or a restart) finds the day
taken, and a purge that fails leaves the day free for the next beat. Recordings are deleted in
Twilio after that transaction, each link removed only once Twilio has deleted it; what fails stays
for the next day's run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, cast, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.org import RetentionConfig
from bot.ports import RecordsError, TwilioRecords
from bot.services.directory import Org
from bot.services.forget import Forgotten, forget_cards, recording_sid
from bot.services.outbox import DIRECT, THREAD, add_row, pending_renders, posts_by_card, render_rows
from bot.services.runtime import Runtime
from bot.store.db import execute
from bot.store.models import AuditEvent, Callback, Card, OutboxMessage, RetentionRun, SentMessage
from bot.store.upsert import insert_ignore

log = logging.getLogger("centralita.retention")
NOTE_KINDS = ("note", "resolved", "callback_scheduled")
"""Audit events whose details carry a staff note."""
KEPT_KINDS = ("retention", "retention_recordings", "privacy_erase", "privacy_export")
"""Audit events of the purges themselves: counts only, kept with their details."""
BATCH = 500


class Retention:
    def __init__(self, rt: Runtime, records: TwilioRecords) -> None:
        self.rt, self.records = rt, records

    async def sweep(self) -> None:
        """Each organisation's purge of today, where it has not run yet."""
        for org in self.rt.directory:
            await self.run(org)

    async def run(self, org: Org) -> bool:
        """Today's purge of ``org``; False when it had run already (here or in another process)."""
        now = self.rt.clock.now()
        day = now.astimezone(ZoneInfo(org.timezone)).date().isoformat()
        async with self.rt.unit_of_work() as session:
            if not await insert_ignore(session, RetentionRun, {"org_id": org.id, "day": day, "at": now}):
                return False
            counts, forgotten = await _purge(session, org, org.config.retention, now)
            _audit(session, org, now, "retention", {"day": day, **counts})
        await self._twilio_of_forgotten(forgotten)
        await self._recordings(org, now - org.config.retention.recordings, now)
        return True

    async def _twilio_of_forgotten(self, forgotten: Forgotten) -> None:
        """What Twilio keeps of the closed cards deleted (their rows are gone: one try, logged)."""
        for delete, sids in (
            (self.records.delete_recording, forgotten.recordings),
            (self.records.delete_call, forgotten.call_sids),
        ):
            for sid in sids:
                try:
                    await delete(sid)
                except RecordsError as error:
                    log.warning("%s of a deleted closed card not deleted in Twilio: %s", sid, error)

    async def _recordings(self, org: Org, cutoff: datetime, now: datetime) -> None:
        async with self.rt.sessions() as session:
            due = (
                await session.exec(
                    select(Card.id, Card.recording_url)
                    .where(
                        Card.org_id == org.id, col(Card.recording_url).is_not(None), Card.created_at < cutoff
                    )
                    .limit(BATCH)
                )
            ).all()
        if not due:
            return
        gone, failed = [], 0
        for card_id, url in due:
            sid = recording_sid(url)
            try:
                if sid is not None:
                    await self.records.delete_recording(sid)
                gone.append(card_id or 0)
            except RecordsError as error:
                failed += 1
                log.warning(
                    "recording of card %s not deleted in Twilio (tried again tomorrow): %s", card_id, error
                )
        async with self.rt.unit_of_work() as session:
            await _forget_recordings(session, gone, now)
            _audit(session, org, now, "retention_recordings", {"deleted": len(gone), "failed": failed})


async def _purge(
    session: AsyncSession, org: Org, keep: RetentionConfig, now: datetime
) -> tuple[dict[str, int], Forgotten]:
    counts = {
        "transcripts": await _transcripts(session, org.id, now - keep.transcripts, now),
        "notes": await _notes(session, org.id, now - keep.notes),
        "audit_details": await _audit_details(session, org.id, now - keep.audit_details),
        "delivered_outbox": await _delivered(session, org.id, now - keep.delivered_outbox),
    }
    closed = await _ids(session, Card.org_id == org.id, col(Card.resolved_at) < now - keep.closed_cards)
    forgotten = await forget_cards(session, org.id, closed, now)
    counts["closed_cards"] = forgotten.cards
    return counts, forgotten


async def _ids(session: AsyncSession, *where: Any) -> list[int]:
    return [i for i in (await session.exec(select(Card.id).where(*where))).all() if i is not None]


async def _transcripts(session: AsyncSession, org_id: str, cutoff: datetime, now: datetime) -> int:
    """What callers said: the card's text (it shows what kind of card it is instead), the speech in
    its history."""
    ids = await _ids(session, Card.org_id == org_id, Card.created_at < cutoff, Card.summary != "")
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        await execute(
            session,
            update(Card).where(col(Card.id).in_(chunk)).values(summary="", version=col(Card.version) + 1),
        )
        await _rerender(session, chunk, now)
    await _clear_details(session, org_id, cutoff, col(AuditEvent.kind) == "speech")
    return len(ids)


async def _forget_recordings(session: AsyncSession, ids: list[int], now: datetime) -> None:
    if not ids:
        return
    await execute(
        session,
        update(Card).where(col(Card.id).in_(ids)).values(recording_url=None, version=col(Card.version) + 1),
    )
    await execute(
        session,
        update(AuditEvent)
        .where(col(AuditEvent.card_id).in_(ids), col(AuditEvent.kind) == "recording")
        .values(data={}),
    )
    await _rerender(session, ids, now)


async def _rerender(session: AsyncSession, ids: list[int], now: datetime) -> None:
    """Each changed card re-rendered on every channel it was posted to (a pending render is reused)."""
    cards = (await session.exec(select(Card).where(col(Card.id).in_(ids)))).all()
    posts, waiting = await posts_by_card(session, ids), await pending_renders(session, ids)
    for card in cards:
        for row in render_rows(card, posts.get(card.id or 0, []), waiting, now):
            add_row(session, row)


async def _notes(session: AsyncSession, org_id: str, cutoff: datetime) -> int:
    cleared = await _clear_details(session, org_id, cutoff, col(AuditEvent.kind).in_(NOTE_KINDS))
    result = await execute(
        session,
        update(Callback)
        .where(col(Callback.org_id) == org_id, col(Callback.created_at) < cutoff, col(Callback.note) != "")
        .values(note=""),
    )
    return cleared + int(result.rowcount)


async def _audit_details(session: AsyncSession, org_id: str, cutoff: datetime) -> int:
    return await _clear_details(session, org_id, cutoff, col(AuditEvent.kind).not_in(KEPT_KINDS))


async def _clear_details(session: AsyncSession, org_id: str, cutoff: datetime, which: Any) -> int:
    """Audit events older than ``cutoff`` keep who did what and when; their details go."""
    result = await execute(
        session,
        update(AuditEvent)
        .where(
            col(AuditEvent.org_id) == org_id,
            col(AuditEvent.at) < cutoff,
            which,
            cast(col(AuditEvent.data), Text) != "{}",
        )
        .values(data={}),
    )
    return int(result.rowcount)


async def _delivered(session: AsyncSession, org_id: str, cutoff: datetime) -> int:
    """Deliveries sent or given up before ``cutoff`` deleted; the references of the messages they
    sent about a card kept (``SentMessage``), for an erasure to edit them later."""
    old = (
        col(OutboxMessage.org_id) == org_id,
        col(OutboxMessage.status).in_(("sent", "dead")),
        col(OutboxMessage.created_at) < cutoff,
    )
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    columns = ["org_id", "card_id", "channel", "external_ref", "sent_at"]
    kept = sa_select(*(table.c[name] for name in columns)).where(
        *old,
        col(OutboxMessage.card_id).is_not(None),
        col(OutboxMessage.external_ref).is_not(None),
        col(OutboxMessage.kind).in_((THREAD, DIRECT)),
    )
    await execute(session, insert(SentMessage).from_select(columns, kept))
    result = await execute(session, table.delete().where(*old))
    return int(result.rowcount)


def _audit(session: AsyncSession, org: Org, now: datetime, kind: str, data: dict[str, Any]) -> None:
    session.add(AuditEvent(org_id=org.id, card_id=None, at=now, actor="system", kind=kind, data=data))
