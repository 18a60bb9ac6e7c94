"""Live transfer: a caller on hold in their own conference, put through to the first staff member who
accepts from the card.

The accept is a claim (``CardHandling.accept_transfer``); once it commits, the staff member's phone is
called through ``CallControl``, in the same after-acknowledgement task as the click and never again
for that attempt. A request Twilio refused (a 4xx, a 5xx) or that never reached it ends the attempt;
one whose outcome is unknown (a timeout: the call may exist and ring) keeps it, claim included, and
says so on the card: the staff call's own reports settle it, or, if there is no such call, the hold
runs out. Every Twilio report about the attempt (whisper, key pressed, the staff call's status)
names the card and the attempt number in its URL, so a late report of an old attempt changes
nothing. The caller's wait is bounded by ``TransferHolds``, a sweep over the cards' ``transfer_until``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.escalation import EscalationPolicy
from bot.domain.transfer import ON_HOLD, TransferState, leg_notice
from bot.i18n import t
from bot.ports import CallControl, CallControlError
from bot.services.directory import Org
from bot.services.handling import ActionResult, CardHandling, Requester
from bot.services.outbox import announce_change
from bot.services.runtime import Runtime
from bot.services.served import Served
from bot.store.models import AuditEvent, Call, Card
from cards.actions import CardStatus
from cards.build import priority_label
from cards.notice import Notice

log = logging.getLogger("centralita.transfer")
_CARD_TABLE = Card.__table__  # type: ignore[attr-defined]
_TRANSFER_OF_CALL = select(_CARD_TABLE.c.transfer_state).where(_CARD_TABLE.c.call_sid == bindparam("sid"))


@dataclass(frozen=True)
class Whisper:
    """What the staff member hears before pressing 1, in the organisation's voice."""

    org: Org
    text: str


@dataclass(frozen=True)
class Connect:
    """The staff leg joins this conference (the caller's CallSid)."""

    org: Org
    conference: str


class LiveTransfer:
    def __init__(self, rt: Runtime, handling: CardHandling, calls: CallControl) -> None:
        self.rt = rt
        self.handling = handling
        self.calls = calls

    async def accept(self, card_id: int, who: Requester) -> ActionResult:
        """Accept transfer: claim the card, then ring the person's phone (after the commit)."""
        result = await self.handling.accept_transfer(card_id, who)
        if not result.ok:
            return result
        card, org = await self._read(card_id)
        if card is None or org is None or card.transfer_state != TransferState.RINGING:
            return result
        member = org.config.staff_member(card.transfer_staff_id)
        attempt = card.transfer_attempt
        if member is None or not member.phone:
            await self.attempt_ended(card_id, attempt, "failed")
            return result
        try:
            sid = await self.calls.ring_staff(
                card_id=card_id, attempt=attempt, to=member.phone, from_number=await self._from(card, org)
            )
        except CallControlError as error:
            log.warning("card %s: calling %s for the transfer failed: %s", card_id, member.id, error)
            if error.placed_maybe:
                await self._unconfirmed(card_id, attempt, str(error))
            else:
                await self.attempt_ended(card_id, attempt, "error", error=str(error))
            return result
        await self._leg_started(card_id, attempt, sid)
        return result

    async def _unconfirmed(self, card_id: int, attempt: int, error: str) -> None:
        """The call request's outcome is unknown: the phone may ring, so the attempt (and its claim)
        is kept, and the card says so. Nothing if a report of the call has settled it already."""
        async with self.rt.unit_of_work() as session:
            card = await session.get(Card, card_id, with_for_update=True)
            if card is None or not _current(card, attempt) or card.transfer_leg_sid is not None:
                return
            org = self.rt.directory.get(card.org_id)
            name = org.name_of(card.transfer_staff_id) or ""
            card.transfer_notice = t(org.locale, "transfer.notice.unconfirmed", name=name, error=error)[:200]
            line = Notice("thread.transfer_unconfirmed", text={"name": name, "error": error})
            data = {"attempt": attempt, "error": error}
            await _changed(session, card, org, self.rt.clock.now(), "transfer_unconfirmed", data, line)

    async def whisper(self, card_id: int, attempt: int) -> Whisper | None:
        """The whisper for the staff leg of ``attempt``; None when that attempt is over."""
        card, org = await self._read(card_id)
        if not _current(card, attempt) or org is None or card is None:
            return None
        company = (
            t(org.locale, "voice.transfer_whisper_company", company=card.company) if card.company else ""
        )
        text = t(
            org.locale,
            "voice.transfer_whisper",
            caller=card.caller_name or card.caller_number or t(org.locale, "card.unknown_caller"),
            company=company,
            priority=priority_label(org.locale, card.priority),
            reason=card.summary or "-",
        )
        return Whisper(org, text)

    async def pressed(self, card_id: int, attempt: int, digits: str) -> Connect | Org | None:
        """The staff member answered the whisper: with 1, they join the caller's conference
        (``Connect``); anything else ends the attempt (their ``Org``, for the goodbye). None: the
        attempt is over already (the caller hung up, or the hold ran out)."""
        if digits.strip() != "1":
            return await self.attempt_ended(card_id, attempt, "no_press")
        async with self.rt.unit_of_work() as session:
            card = await session.get(Card, card_id, with_for_update=True)
            if card is None or card.call_sid is None or card.transfer_attempt != attempt:
                return None
            org = self.rt.directory.get(card.org_id)
            if card.transfer_state == TransferState.CONNECTED:  # the same press, reported again
                return Connect(org, card.call_sid)
            if not _current(card, attempt):
                return None
            now = self.rt.clock.now()
            card.transfer_state, card.transfer_connected_at = TransferState.CONNECTED.value, now
            card.transfer_until, card.transfer_notice = None, None
            name = org.name_of(card.transfer_staff_id) or ""
            time = now.astimezone(ZoneInfo(org.timezone)).strftime("%H:%M")
            line = Notice("thread.transfer_connected", text={"name": name, "time": time})
            await _changed(session, card, org, now, "transfer_connected", {"attempt": attempt}, line)
            return Connect(org, card.call_sid)

    async def leg_status(self, card_id: int, attempt: int, status: str, call_sid: str) -> bool:
        """A status report of the staff leg of ``attempt``: busy, no answer, failed, or hung up
        before pressing 1 ends the attempt; any other report of a call whose request timed out
        says it exists. False when the report is about no card we know."""
        notice = leg_notice(status)
        card, _ = await self._read(card_id)
        if card is None:
            return False
        if notice is not None:
            await self.attempt_ended(card_id, attempt, notice)
        elif _current(card, attempt) and card.transfer_leg_sid is None and call_sid:
            await self._confirmed(card_id, attempt, call_sid)
        return True

    async def _confirmed(self, card_id: int, attempt: int, call_sid: str) -> None:
        """The first report of a staff call whose sid we did not get: it exists. Its sid is kept,
        and a card that said the call was unconfirmed says again that the phone is ringing."""
        async with self.rt.unit_of_work() as session:
            card = await session.get(Card, card_id, with_for_update=True)
            if card is None or not _current(card, attempt) or card.transfer_leg_sid is not None:
                return
            card.transfer_leg_sid = call_sid
            if card.transfer_notice is None:
                session.add(card)
                return
            org = self.rt.directory.get(card.org_id)
            card.transfer_notice = None
            line = Notice(
                "thread.transfer_confirmed", text={"name": org.name_of(card.transfer_staff_id) or ""}
            )
            data = {"attempt": attempt, "call_sid": call_sid}
            await _changed(session, card, org, self.rt.clock.now(), "transfer_confirmed", data, line)

    async def attempt_ended(self, card_id: int, attempt: int, key: str, *, error: str = "") -> Org | None:
        """The attempt did not connect: the claim is undone and the card offers the transfer again,
        saying what happened (``transfer.notice.<key>``). Only the first report of the attempt counts."""
        async with self.rt.unit_of_work() as session:
            card = await session.get(Card, card_id, with_for_update=True)
            if card is None or not _current(card, attempt):
                return None
            org = self.rt.directory.get(card.org_id)
            now = self.rt.clock.now()
            name = org.name_of(card.transfer_staff_id) or ""
            notice = t(org.locale, f"transfer.notice.{key}", name=name, error=error)[:200]
            _unclaim(card, org)
            card.transfer_state, card.transfer_notice = TransferState.WAITING.value, notice
            line = Notice("thread.transfer_failed", text={"notice": notice})
            data = {"attempt": attempt, "reason": key, "error": error}
            await _changed(session, card, org, now, "transfer_failed", data, line)
            return org

    async def caller_left(self, call_sid: str) -> bool:
        """The caller's call ended, or they left their conference: if they were still on hold, the
        card says to call them back (once, whichever report comes first). False: no card has
        that call."""
        # Every call's end asks; a read without a lock answers nearly all (no card, not on hold).
        found = await self.rt.execute_alone(_TRANSFER_OF_CALL, {"sid": call_sid})
        if not found:
            return False
        if found[0].transfer_state not in ON_HOLD:
            return True
        async with self.rt.unit_of_work() as session:
            query = select(Card).where(col(Card.call_sid) == call_sid).with_for_update()
            card = (await session.exec(query)).first()
            if card is None:
                return False
            if card.transfer_state not in ON_HOLD:
                return True
            org = self.rt.directory.get(card.org_id)
            _unclaim(card, org)
            card.transfer_state, card.transfer_until = TransferState.ABANDONED.value, None
            line = Notice("thread.transfer_abandoned")
            await _changed(session, card, org, self.rt.clock.now(), "transfer_abandoned", {}, line)
            return True

    async def org_of_card(self, card_id: int) -> Org | None:
        _, org = await self._read(card_id)
        return org

    async def _leg_started(self, card_id: int, attempt: int, sid: str) -> None:
        async with self.rt.unit_of_work() as session:
            card = await session.get(Card, card_id, with_for_update=True)
            if card is not None and card.transfer_attempt == attempt:
                card.transfer_leg_sid = sid
                session.add(card)

    async def _read(self, card_id: int) -> tuple[Card | None, Org | None]:
        async with self.rt.sessions() as session:
            card = await session.get(Card, card_id)
        if card is None or card.org_id not in self.rt.directory.ids:
            return None, None
        return card, self.rt.directory.get(card.org_id)

    async def _from(self, card: Card, org: Org) -> str:
        """The number the staff member sees calling: the organisation's (the one the caller called)."""
        numbers = org.config.organization.phone_numbers
        if numbers:
            return numbers[0]
        async with self.rt.sessions() as session:
            call = (await session.exec(select(Call).where(col(Call.call_sid) == card.call_sid))).first()
        return (call.to_number if call else None) or ""


class TransferHolds:
    """The sweep that bounds a caller's wait: past ``transfer_until`` with nobody connected, the card
    needs a callback (its escalation runs) and the caller is offered voicemail. Each card once: the
    state change is written before the caller is redirected, and only for cards still on hold."""

    def __init__(self, rt: Runtime, calls: CallControl, *, batch: int = 100) -> None:
        self.rt = rt
        self.calls = calls
        self.batch = batch
        self._served = Served(rt, col(Card.org_id), "%d caller(s) on hold of organisation %r, not served")

    async def sweep(self, now: datetime | None = None) -> int:
        now = now or self.rt.clock.now()
        redirects: list[tuple[str, Org]] = []
        async with self.rt.unit_of_work() as session:
            query = (
                select(Card)
                .where(
                    col(Card.transfer_state).in_([s.value for s in ON_HOLD]),
                    col(Card.transfer_until) <= now,
                    self._served.filter,
                )
                .order_by(col(Card.transfer_until))
                .limit(self.batch)
            )
            if self.rt.postgres:
                query = query.with_for_update(skip_locked=True)
            for card in (await session.exec(query)).all():
                org = self.rt.directory.get(card.org_id)
                await self._hold_over(session, card, org, now)
                if card.call_sid:
                    redirects.append((card.call_sid, org))
        for call_sid, org in redirects:
            await self._to_voicemail(call_sid, org)
        return len(redirects)

    async def _hold_over(self, session: AsyncSession, card: Card, org: Org, now: datetime) -> None:
        _unclaim(card, org)
        card.transfer_state, card.transfer_until = TransferState.VOICEMAIL.value, None
        seconds = org.config.voice.hold_seconds
        line = Notice("thread.transfer_voicemail", text={"seconds": str(seconds)})
        await _changed(session, card, org, now, "transfer_timeout", {"hold_seconds": seconds}, line)

    async def _to_voicemail(self, call_sid: str, org: Org) -> None:
        try:
            await self.calls.to_voicemail(call_sid, org.config)
        except CallControlError as error:  # the card says to call back already
            log.warning("call %s: could not offer voicemail after the hold: %s", call_sid, error)


def _current(card: Card | None, attempt: int) -> bool:
    """The card's transfer is still ringing for ``attempt`` (not an older, finished one)."""
    return (
        card is not None and card.transfer_state == TransferState.RINGING and card.transfer_attempt == attempt
    )


def _unclaim(card: Card, org: Org) -> None:
    """A claim made by accepting the transfer is undone: the card is open again, and its escalation
    carries on from the step it had reached."""
    if card.status != CardStatus.CLAIMED or card.transfer_state != TransferState.RINGING:
        return
    policy = EscalationPolicy.from_snapshot(card.escalation_policy)
    started = card.escalation_started_at or card.created_at
    card.status, card.claimed_by, card.claimed_at = CardStatus.OPEN.value, None, None
    card.escalate_at = policy.due_at(card.escalation_level, started, org.calendar)


async def _changed(
    session: AsyncSession, card: Card, org: Org, now: datetime, kind: str, data: dict[str, Any], line: Notice
) -> None:
    """A new version of the card, its audit event, and its re-render with ``line`` in its thread."""
    card.version += 1
    session.add(card)
    session.add(AuditEvent(org_id=org.id, card_id=card.id, at=now, actor="system", kind=kind, data=data))
    await announce_change(session, card, line, now)
