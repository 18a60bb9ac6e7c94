"""Access and erasure for one phone number (RGPD articles 15 and 17): everything stored about it,
as JSON; and its erasure in the database, in Twilio and in the chat messages that showed it.

An erasure deletes Twilio's copies first (recordings, call logs: what fails stops it before the
database is touched, and running it again finishes it: what is gone already counts as deleted),
then, in one transaction, the cards (their chat messages replaced by "datos eliminados" through the
outbox), the calls and the contact, and an audit event that says it happened, with counts only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.phones import normalize_phone, org_region
from bot.ports import NoTwilioRecords, RecordsError, TwilioRecords
from bot.services.forget import forget_cards, recording_sid, text_erasures
from bot.services.outbox import enqueue_rows
from bot.services.runtime import Runtime
from bot.store.models import (
    AuditEvent,
    Call,
    Callback,
    Card,
    CardPost,
    Contact,
    Conversation,
    ExportLink,
    Message,
    OutboxMessage,
    SentMessage,
)


class PrivacyError(Exception):
    """The request cannot be done; the message says why (nothing was changed)."""


@dataclass
class Erasure:
    """What an erasure found (a dry run) or did: counts, and what the operator must know."""

    cards: int = 0
    calls: int = 0
    contacts: int = 0
    recordings: int = 0
    messages: int = 0
    warnings: list[str] = field(default_factory=list)

    conversations: int = 0
    """SMS and WhatsApp conversations of the number (their messages go with their cards)."""

    @property
    def empty(self) -> bool:
        return not (self.cards or self.calls or self.contacts or self.conversations)

    def counts(self) -> dict[str, int]:
        return {
            "cards": self.cards,
            "calls": self.calls,
            "contacts": self.contacts,
            "recordings": self.recordings,
            "messages": self.messages,
        }


@dataclass(frozen=True)
class _Found:
    org_id: str
    cards: list[Card]
    calls: list[Call]
    contacts: list[Contact]
    conversations: list[Conversation]
    texts: list[Message]
    """The number's SMS and WhatsApp messages on no card of ``cards``."""

    @property
    def any(self) -> bool:
        return bool(self.cards or self.calls or self.contacts or self.conversations or self.texts)


def parse_number(raw: str, region: str = "ES") -> str:
    """The E.164 form of a number as a person writes it.

    Raises: PrivacyError with the reason when it is not a phone number."""
    number = normalize_phone(raw, region)
    if number is None:
        raise PrivacyError(
            f"'{raw}' is not a phone number: write it in international form, like +34600111222"
        )
    return number


class Privacy:
    def __init__(self, rt: Runtime, records: TwilioRecords) -> None:
        self.rt, self.records = rt, records

    def number(self, raw: str) -> str:
        return parse_number(raw, org_region(self.rt.directory.default.config.organization))

    async def export(
        self, number: str, *, orgs: Sequence[str] | None = None, actor: str | None = None
    ) -> dict[str, Any] | None:
        """Every row about ``number`` in the organisations ``orgs`` (default: every one served), as
        JSON-ready data; None when nothing is stored about it. With ``actor``, an audit event of each
        organisation says who exported it (counts only)."""
        async with self.rt.sessions() as session:
            found = [await _find(session, org_id, number) for org_id in orgs or self.rt.directory.ids]
            found = [f for f in found if f.any]
            if not found:
                return None
            exported = [await _export_org(session, f) for f in found]
        if actor is not None:
            await self._audit_export(found, actor)
        return {"number": number, "exported_at": self.rt.clock.now().isoformat(), "organizations": exported}

    async def _audit_export(self, found: list[_Found], actor: str) -> None:
        async with self.rt.unit_of_work() as session:
            for part in found:
                data = {**_planned([part]).counts(), "by": actor}
                session.add(
                    AuditEvent(
                        org_id=part.org_id,
                        at=self.rt.clock.now(),
                        actor=actor[:64],
                        kind="privacy_export",
                        data=data,
                    )
                )

    async def erase(
        self, number: str, actor: str, *, dry_run: bool = False, orgs: Sequence[str] | None = None
    ) -> Erasure:
        """Erase ``number`` in the organisations ``orgs`` (default: everywhere), or, with
        ``dry_run``, count what would be.

        Raises: PrivacyError when Twilio could not delete its copies (nothing changed here)."""
        async with self.rt.sessions() as session:
            found = [await _find(session, org_id, number) for org_id in orgs or self.rt.directory.ids]
        result = _planned(found)
        result.warnings += self._configured_contacts(number, orgs)
        if dry_run or result.empty:
            return result
        result.warnings += await self._twilio(found)
        now = self.rt.clock.now()
        async with self.rt.unit_of_work() as session:
            await _lock_cards(session, [c.id or 0 for part in found for c in part.cards])
            for part in found:
                forgotten = await forget_cards(session, part.org_id, [c.id or 0 for c in part.cards], now)
                result.messages += forgotten.messages
                await _delete(session, Call, [c.id for c in part.calls if c.card_id is None])
                await _delete(session, Contact, [c.id for c in part.contacts])
                await _forget_links(session, part.org_id, number)
                result.messages += await _forget_texts(session, part, now)
                if part.any:
                    data = {**result.counts(), "by": actor}
                    session.add(
                        AuditEvent(
                            org_id=part.org_id, at=now, actor=actor[:64], kind="privacy_erase", data=data
                        )
                    )
        return result

    async def _twilio(self, found: list[_Found]) -> list[str]:
        """Twilio's recordings and call logs of the number deleted; a warning when Twilio REST is not
        configured. Raises: PrivacyError when Twilio refused or could not be reached."""
        recordings = [sid for f in found for c in f.cards if (sid := recording_sid(c.recording_url))]
        calls = [c.call_sid for f in found for c in f.calls]
        if not (recordings or calls):
            return []
        if isinstance(self.records, NoTwilioRecords):
            return [
                f"{NoTwilioRecords.reason}: delete {len(recordings)} recordings and {len(calls)} calls"
                " of this number in Twilio's console"
            ]
        try:
            for sid in recordings:
                await self.records.delete_recording(sid)
            for sid in calls:
                await self.records.delete_call(sid)
        except RecordsError as error:
            raise PrivacyError(
                f"{error}; nothing was changed in the database: run the erasure again"
            ) from error
        return []

    def _configured_contacts(self, number: str, orgs: Sequence[str] | None) -> list[str]:
        return [
            f"{org.id}: contacts[{i}] in the configuration file has this number; remove it there,"
            " or it is written again when the server starts"
            for org in self.rt.directory
            if orgs is None or org.id in orgs
            for i, contact in enumerate(org.config.contacts)
            if contact.phone == number
        ]


def _planned(found: list[_Found]) -> Erasure:
    return Erasure(
        cards=sum(len(f.cards) for f in found),
        calls=sum(len(f.calls) for f in found),
        contacts=sum(len(f.contacts) for f in found),
        recordings=sum(1 for f in found for c in f.cards if recording_sid(c.recording_url)),
        conversations=sum(len(f.conversations) for f in found),
    )


async def _forget_texts(session: AsyncSession, found: _Found, now: datetime) -> int:
    """The number's conversations, and its messages on no card (those on its cards went with
    them), deleted; each message redacted and deleted in Twilio through the outbox."""
    rows = text_erasures(found.org_id, found.texts, now)
    await enqueue_rows(session, rows)
    await _delete(session, Message, [m.id for m in found.texts])
    await _delete(session, Conversation, [c.id for c in found.conversations])
    return len(rows)


async def _find(session: AsyncSession, org_id: str, number: str) -> _Found:
    calls = list(
        (await session.exec(select(Call).where(Call.from_number == number, Call.org_id == org_id))).all()
    )
    by_call = [c.card_id for c in calls if c.card_id is not None]
    cards = (
        await session.exec(select(Card).where(Card.caller_number == number, Card.org_id == org_id))
    ).all()
    ids = {c.id for c in cards}
    more = [i for i in by_call if i not in ids]
    if more:
        cards = [*cards, *(await session.exec(select(Card).where(col(Card.id).in_(more)))).all()]
        ids = {c.id for c in cards}
    card_ids = [c.id for c in cards]
    if card_ids:
        known = {c.id for c in calls}
        extra = (await session.exec(select(Call).where(col(Call.card_id).in_(card_ids)))).all()
        calls += [c for c in extra if c.id not in known]
    contacts = (
        await session.exec(select(Contact).where(Contact.phone == number, Contact.org_id == org_id))
    ).all()
    conversations = (
        await session.exec(
            select(Conversation).where(Conversation.customer == number, Conversation.org_id == org_id)
        )
    ).all()
    texts = (
        await session.exec(select(Message).where(Message.customer == number, Message.org_id == org_id))
    ).all()
    loose = [m for m in texts if m.card_id not in ids or m.card_id is None]
    return _Found(org_id, list(cards), calls, list(contacts), list(conversations), loose)


async def _export_org(session: AsyncSession, found: _Found) -> dict[str, Any]:
    ids = [c.id for c in found.cards]
    cards = []
    for card in found.cards:
        related = {
            name: await _rows(session, model, card.id)
            for name, model in (
                ("posts", CardPost),
                ("audit", AuditEvent),
                ("callbacks", Callback),
                ("outbox", OutboxMessage),
                ("messages", SentMessage),
                ("texts", Message),
            )
        }
        cards.append({**_json(card), **related})
    return {
        "organization": found.org_id,
        "contacts": [_json(c) for c in found.contacts],
        "conversations": [_json(c) for c in found.conversations],
        "texts": [_json(m) for m in found.texts],
        "calls": [_json(c) for c in found.calls],
        "cards": cards,
        "card_ids": ids,
    }


async def _rows(session: AsyncSession, model: Any, card_id: int | None) -> list[dict[str, Any]]:
    rows = (await session.exec(select(model).where(model.card_id == card_id).order_by(model.id))).all()
    return [_json(row) for row in rows]


def _json(row: SQLModel) -> dict[str, Any]:
    return row.model_dump(mode="json")


async def _lock_cards(session: AsyncSession, card_ids: list[int]) -> None:
    """The cards and their callbacks locked (PostgreSQL) before they are erased: a reminder or an
    escalation being written for them at this moment (its sweep holds the rows) is committed first,
    and erased with them, instead of landing after the erasure with the caller's name in it."""
    if card_ids:
        await session.exec(select(Card.id).where(col(Card.id).in_(card_ids)).with_for_update())
        await session.exec(select(Callback.id).where(col(Callback.card_id).in_(card_ids)).with_for_update())


async def _forget_links(session: AsyncSession, org_id: str, number: str) -> None:
    """Download links of the number's export not used yet: they would export nothing, but hold it."""
    await session.exec(
        delete(ExportLink).where(col(ExportLink.org_id) == org_id, col(ExportLink.number) == number)
    )


async def _delete(session: AsyncSession, model: Any, ids: Sequence[int | None]) -> None:
    if ids:
        await session.exec(delete(model).where(col(model.id).in_(list(ids))))
