"""Forgetting cards: every row about them deleted, and the chat messages that showed them replaced by
"datos eliminados" through the outbox (``ERASE`` rows, one per message sent, by its stored
reference). The SMS and WhatsApp messages of their customers, either way, get ``ERASE`` rows too, by
MessageSid: their channel redacts and deletes them in Twilio (retried while Twilio is down). The
privacy erasure and the retention of closed cards both end here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, not_, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.outbox import DIRECT, ERASE, THREAD, enqueue_rows, outbox_row, wall_now
from bot.store.models import (
    AuditEvent,
    Call,
    Callback,
    Card,
    CardPost,
    Conversation,
    Message,
    OutboxMessage,
    SentMessage,
)
from cards.notice import Notice

_RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
CHUNK = 500
"""Cards forgotten per statement (an IN list of ids)."""


@dataclass
class Forgotten:
    """What was forgotten, counted, and what is left to delete in Twilio (never the data itself)."""

    cards: int = 0
    calls: int = 0
    messages: int = 0
    recordings: list[str] = field(default_factory=list)
    call_sids: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "cards": self.cards,
            "calls": self.calls,
            "messages": self.messages,
            "recordings": len(self.recordings),
        }


def recording_sid(url: str | None) -> str | None:
    """The Twilio recording sid in a recording URL (``…/Recordings/RE…``)."""
    found = _RECORDING_SID.search(url or "")
    return found.group(0) if found else None


async def forget_cards(
    session: AsyncSession, org_id: str, card_ids: Sequence[int], now: datetime
) -> Forgotten:
    """Delete the cards and every row about them (calls, posts, audit, callbacks, deliveries not in
    flight); queue the replacement of every message they were shown in."""
    done = Forgotten()
    for start in range(0, len(card_ids), CHUNK):
        await _forget_chunk(session, org_id, list(card_ids[start : start + CHUNK]), now, done)
    return done


async def _forget_chunk(
    session: AsyncSession, org_id: str, ids: list[int], now: datetime, done: Forgotten
) -> None:
    cards = (await session.exec(select(Card.id, Card.recording_url).where(col(Card.id).in_(ids)))).all()
    done.recordings += [sid for _, url in cards if (sid := recording_sid(url))]
    calls = (await session.exec(select(Call.call_sid).where(col(Call.card_id).in_(ids)))).all()
    done.call_sids += list(calls)
    refs = await _message_refs(session, ids) + await _texts(session, ids)
    await enqueue_rows(
        session, [_erase_row(org_id, card_id, channel, ref, now) for card_id, channel, ref in refs]
    )
    done.cards, done.calls, done.messages = (
        done.cards + len(cards),
        done.calls + len(calls),
        done.messages + len(refs),
    )
    for model in (AuditEvent, Callback, CardPost, SentMessage, Call, Message):
        await session.exec(delete(model).where(col(model.card_id).in_(ids)))
    await session.exec(update(Conversation).where(col(Conversation.card_id).in_(ids)).values(card_id=None))
    theirs = (col(OutboxMessage.card_id).in_(ids), col(OutboxMessage.kind) != ERASE)
    await session.exec(delete(OutboxMessage).where(*theirs, _not_in_flight()))
    # A row a worker holds keeps going (it has what it sends in memory), but not what it said.
    await session.exec(update(OutboxMessage).where(*theirs, not_(_not_in_flight())).values(payload={}))
    await session.exec(delete(Card).where(col(Card.id).in_(ids)))


def _not_in_flight() -> Any:
    """A delivery a worker holds at this moment is left to finish; the erasure rows written after it
    wait for it (a card's rows go in order), so what it shows is replaced too."""
    return or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < wall_now())


async def _message_refs(session: AsyncSession, ids: list[int]) -> list[tuple[int, str, str]]:
    """(card id, channel, reference) of every message the cards were shown in, each once."""
    posts = select(CardPost.card_id, CardPost.channel, CardPost.external_ref).where(
        col(CardPost.card_id).in_(ids), col(CardPost.external_ref).is_not(None)
    )
    lines = select(OutboxMessage.card_id, OutboxMessage.channel, OutboxMessage.external_ref).where(
        col(OutboxMessage.card_id).in_(ids),
        col(OutboxMessage.kind).in_((THREAD, DIRECT)),
        col(OutboxMessage.external_ref).is_not(None),
    )
    kept = select(SentMessage.card_id, SentMessage.channel, SentMessage.external_ref).where(
        col(SentMessage.card_id).in_(ids)
    )
    found: dict[tuple[str, str], int] = {}
    for statement in (posts, lines, kept):
        for card_id, channel, ref in (await session.exec(statement)).all():
            found.setdefault((channel, ref or ""), card_id or 0)
    return [(card_id, channel, ref) for (channel, ref), card_id in found.items()]


async def _texts(session: AsyncSession, ids: list[int]) -> list[tuple[int, str, str]]:
    """(card id, channel, MessageSid) of the customers' SMS and WhatsApp messages on the cards."""
    found = await session.exec(
        select(Message.card_id, Message.channel, Message.sid).where(
            col(Message.card_id).in_(ids), col(Message.sid).is_not(None)
        )
    )
    return [(card_id or 0, channel, sid or "") for card_id, channel, sid in found.all()]


def text_erasures(org_id: str, texts: Sequence[Message], now: datetime) -> list[dict[str, Any]]:
    """The ``ERASE`` rows of messages that belong to no card (redacted and deleted in Twilio)."""
    return [_erase_row(org_id, m.card_id, m.channel, m.sid, now) for m in texts if m.sid]


def _erase_row(org_id: str, card_id: int | None, channel: str, ref: str, now: datetime) -> dict[str, Any]:
    payload = {"ref": ref, "notice": Notice("privacy.erased").to_payload()}
    return outbox_row(
        org_id=org_id,
        channel=channel,
        kind=ERASE,
        target=ref[:128],
        now=now,
        card_id=card_id,
        payload=payload,
    )
