"""Callbacks that are kept: the caller told (``bot.services.confirmations``), click-to-call from the
reminder, and the escalation of a callback nobody made.

Click-to-call rings the person who clicked (``CallControl.ring_for_callback``, once per attempt,
after the click's acknowledgement, never again: after a timeout the phone may be ringing), whispers
whom they are calling, and on 1 dials the customer with the organisation's number as caller ID; the
Dial's result comes back to ``dialled``. Only the newest attempt can dial the customer. A callback not
done within ``callbacks.grace`` of its time climbs owner → team → managers (``OverdueCallbacks``):
the due time is on the row, each step is written once with its DMs (their dedupe keys carry the
callback and the step), and a callback that was done, rescheduled or cancelled leaves the sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.org import StaffMember
from bot.i18n import t
from bot.ports import CallControl, CallControlError
from bot.services.directory import Org
from bot.services.escalation import notify_targets
from bot.services.outbox import add_row, announce_change
from bot.services.runtime import Runtime
from bot.services.served import Served
from bot.services.telling import direct_rows
from bot.store.models import AuditEvent, Callback, Card
from cards.actions import ActionId
from cards.notice import Notice

log = logging.getLogger("centralita.callbacks")
OPEN_CALLBACK = ("scheduled", "reminded")
"""A callback in these states is still to be made."""
LADDER = ("owner", "team", "managers")
"""Whom an overdue callback reaches, one step per ``callbacks.grace``."""
REMINDER_ACTIONS = (ActionId.CALL_NOW, ActionId.RESCHEDULE_CALLBACK, ActionId.CALLBACK_DONE)
UNCONFIRMED = "unconfirmed"
"""A click-to-call whose request timed out: Twilio may have placed it."""


@dataclass(frozen=True)
class Dialling:
    """What the whisper and the bridge of a click-to-call need."""

    org: Org
    whisper: str
    customer: str
    caller_id: str


class KeptCallbacks:
    def __init__(self, rt: Runtime, calls: CallControl) -> None:
        self.rt = rt
        self.calls = calls

    async def call_now(self, card_id: int, who_channel: str, who_user: str) -> str | None:
        """Click-to-call for the card's callback: ring the clicker's phone. None when it rings; else
        the catalogue key of why not (told to the clicker by the caller of this method)."""
        async with self.rt.unit_of_work() as session:
            found = await self._open_callback(session, card_id)
            if found is None:
                return "ephemeral.callback_gone"
            callback, card = found
            org = self.rt.directory.get(card.org_id)
            member = org.staff_on(who_channel, who_user)
            if member is None:
                return "ephemeral.unknown_staff"
            if not member.phone:
                return "ephemeral.transfer_no_phone"
            if not card.caller_number:
                return "ephemeral.callback_no_number"
            callback.call_attempt += 1
            callback.calling_staff_id = member.id
            session.add(callback)
            attempt, phone, callback_id = callback.call_attempt, member.phone, callback.id or 0
        try:
            await self.calls.ring_for_callback(
                callback_id=callback_id, attempt=attempt, to=phone, from_number=_org_number(org)
            )
        except CallControlError as error:
            result = UNCONFIRMED if error.placed_maybe else "error"
            await self.record(callback_id, attempt, result, error=str(error))
        return None

    async def dialling(self, callback_id: int, attempt: int) -> Dialling | None:
        """The whisper and the customer's number for ``attempt``; None when it is not the current one."""
        async with self.rt.sessions() as session:
            callback = await session.get(Callback, callback_id)
            card = await session.get(Card, callback.card_id) if callback else None
        if callback is None or card is None or callback.call_attempt != attempt or not card.caller_number:
            return None
        if callback.status not in OPEN_CALLBACK or card.org_id not in self.rt.directory.ids:
            return None
        org = self.rt.directory.get(card.org_id)
        caller = card.caller_name or card.caller_number
        whisper = t(
            org.locale, "voice.callback_whisper", caller=caller, reason=card.summary or callback.note or "-"
        )
        return Dialling(org, whisper, card.caller_number, _org_number(org))

    async def record(
        self, callback_id: int, attempt: int, result: str, *, seconds: int = 0, error: str = ""
    ) -> bool:
        """The result of a click-to-call (``answered``, ``no_answer``, ``busy``, ``failed``,
        ``error``), on the card and its thread. Answered: the callback is done. No answer: the
        caller is offered a Reschedule. Only the first result of an attempt counts; ``unconfirmed``
        (the call request timed out: the phone may ring) is said but settles nothing, so the
        attempt's own result still counts when it comes."""
        async with self.rt.unit_of_work() as session:
            callback = await session.get(Callback, callback_id, with_for_update=True)
            if (
                callback is None
                or callback.call_attempt != attempt
                or callback.last_result_attempt >= attempt
            ):
                return False
            card = await session.get(Card, callback.card_id, with_for_update=True)
            if card is None or card.org_id not in self.rt.directory.ids:
                return False
            org = self.rt.directory.get(card.org_id)
            now = self.rt.clock.now()
            name = org.name_of(callback.calling_staff_id) or ""
            values = {"name": name, "minutes": str(max(1, seconds // 60)), "error": error}
            line_key = f"thread.callback_call.{result}"
            line = Notice(line_key, text=values)
            callback.last_result = t(org.locale, line_key, **values)[:200]
            if result != UNCONFIRMED:
                callback.last_result_attempt = attempt
            if result == "answered":
                callback.status, callback.escalate_at = "done", None
            session.add(callback)
            card.version += 1
            session.add(card)
            data = {"callback": callback_id, "result": result, "seconds": seconds, "error": error}
            session.add(
                AuditEvent(
                    org_id=org.id,
                    card_id=card.id,
                    at=now,
                    actor=callback.calling_staff_id or "system",
                    kind="callback_call",
                    data=data,
                )
            )
            await announce_change(session, card, line, now)
            if result in ("no_answer", "busy") and callback.calling_staff_id:
                self._offer_reschedule(session, org, card, callback, line, now)
            return True

    def _offer_reschedule(
        self, session: AsyncSession, org: Org, card: Card, callback: Callback, line: Notice, now: datetime
    ) -> None:
        """The person who called gets a DM offering Reschedule (and Done)."""
        actions = (ActionId.RESCHEDULE_CALLBACK, ActionId.CALLBACK_DONE)
        staff_id = callback.calling_staff_id or ""
        for row in direct_rows(self.rt, org, staff_id, line, card.id, now, actions=actions):
            add_row(session, row)

    async def _open_callback(self, session: AsyncSession, card_id: int) -> tuple[Callback, Card] | None:
        query = (
            select(Callback)
            .where(col(Callback.card_id) == card_id, col(Callback.status).in_(OPEN_CALLBACK))
            .order_by(col(Callback.id).desc())
            .limit(1)
            .with_for_update()
        )
        callback = (await session.exec(query)).first()
        card = await session.get(Card, card_id) if callback else None
        if callback is None or card is None or card.org_id not in self.rt.directory.ids:
            return None
        return callback, card


class OverdueCallbacks:
    """Callbacks not done ``callbacks.grace`` after their time: one step up the ladder per grace."""

    def __init__(self, rt: Runtime, *, batch: int = 200) -> None:
        self.rt = rt
        self.batch = batch
        self._served = Served(
            rt, col(Callback.org_id), "%d overdue callback(s) of organisation %r, not served"
        )

    async def sweep(self, now: datetime | None = None) -> int:
        now = now or self.rt.clock.now()
        async with self.rt.unit_of_work() as session:
            query = (
                select(Callback)
                .where(
                    col(Callback.status).in_(OPEN_CALLBACK),
                    col(Callback.escalate_at) <= now,
                    self._served.filter,
                )
                .order_by(col(Callback.escalate_at))
                .limit(self.batch)
            )
            if self.rt.postgres:
                query = query.with_for_update(skip_locked=True)
            fired = 0
            for callback in (await session.exec(query)).all():
                fired += await self._step(session, callback, now)
        return fired

    async def _step(self, session: AsyncSession, callback: Callback, now: datetime) -> int:
        org = self.rt.directory.get(callback.org_id)
        level = callback.escalation_level
        grace = org.config.callbacks.grace
        next_at = now + grace if level + 1 < len(LADDER) and grace else None
        moved = await session.exec(
            update(Callback)
            .where(col(Callback.id) == callback.id, col(Callback.escalation_level) == level)
            .values(escalation_level=level + 1, escalate_at=next_at)
        )
        card = await session.get(Card, callback.card_id, with_for_update=True)
        if moved.rowcount != 1 or card is None:
            return 0
        people = _reached(org, card, callback, LADDER[level])
        names = ", ".join(p.name for p in people)
        caller = card.caller_name or card.caller_number or ""
        notice = Notice(
            "dm.callback_overdue", text={"caller": caller}, names={"owner": (callback.assignee_id,)}
        )
        for person in people:
            key = f"cbesc:{callback.id}:{level + 1}:{person.id}"
            for row in direct_rows(
                self.rt, org, person.id, notice, card.id, now, actions=REMINDER_ACTIONS, dedupe=key
            ):
                add_row(session, row)
        data = {"callback": callback.id, "level": level + 1, "to": [p.id for p in people]}
        session.add(
            AuditEvent(
                org_id=org.id, card_id=card.id, at=now, actor="system", kind="callback_escalated", data=data
            )
        )
        card.version += 1
        session.add(card)
        line = Notice("thread.callback_overdue", text={"level": str(level + 1), "names": names or "-"})
        await announce_change(session, card, line, now)
        return 1


def _reached(org: Org, card: Card, callback: Callback, notify: str) -> list[StaffMember]:
    if notify == "owner":
        member = org.config.staff_member(callback.assignee_id)
        return [member] if member else []
    return notify_targets(org, card, notify)


def _org_number(org: Org) -> str:
    numbers = org.config.organization.phone_numbers
    return numbers[0] if numbers else ""
