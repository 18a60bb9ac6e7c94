"""Phone calls: register the call, turn what the caller said (or did not say) into one card."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.speech import name_from_speech
from bot.domain.triage import TriageDecision, triage
from bot.services.confirmations import Caller, confirm, message_taken
from bot.services.directory import Org
from bot.services.opening import NewCard, open_card
from bot.services.outbox import announce_change
from bot.services.runtime import Runtime
from bot.store.db import execute
from bot.store.limits import fitted
from bot.store.models import AuditEvent, Call, Card
from bot.store.types import UTCDateTime
from bot.store.upsert import insert_ignore, insert_ignore_statement
from cards.notice import Notice

# Built once, on the table (rows, not ORM objects): every webhook of a call reads or writes its row.
_CALL_TABLE = Call.__table__  # type: ignore[attr-defined]
_CALL_STATE = select(
    _CALL_TABLE.c.id, _CALL_TABLE.c.card_id, _CALL_TABLE.c.status, _CALL_TABLE.c.started_at
).where(_CALL_TABLE.c.call_sid == bindparam("sid"))
_UPDATE_CALL = update(_CALL_TABLE).where(_CALL_TABLE.c.id == bindparam("call_id"))  # SET: the params
_END_CALL = (
    update(_CALL_TABLE)
    .where(_CALL_TABLE.c.call_sid == bindparam("sid"))
    .values(
        ended_at=bindparam("ended", type_=UTCDateTime),
        status=case((_CALL_TABLE.c.status == "rejected", "rejected"), else_=bindparam("outcome")),
    )
    .returning(_CALL_TABLE.c.card_id, _CALL_TABLE.c.status)
)
# The open card a repeat caller's call goes on (see ``_merge_repeat``), on the path of every call.
_REPEAT_CARD = (
    select(Card)
    .where(
        col(Card.org_id) == bindparam("org"),
        col(Card.caller_number) == bindparam("number"),
        col(Card.status) != "resolved",
        func.coalesce(col(Card.last_call_at), col(Card.created_at)) >= bindparam("since", type_=UTCDateTime),
    )
    .order_by(col(Card.id).desc())
    .limit(1)
    .with_for_update()
)
# The card a call was put on already: a webhook of that call reported again at the same moment
# (Twilio retries) waits on the repeat card's lock, then finds its call counted there.
_CARD_OF_CALL = select(Call.card_id).where(col(Call.call_sid) == bindparam("sid"))
TERMINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
Saved = Literal["stored", "spooled", "lost"]


@dataclass(frozen=True)
class CallInfo:
    call_sid: str
    from_number: str | None
    to_number: str | None


@dataclass(frozen=True)
class Answer:
    """What became of what the caller said: their organisation, and whether they now wait on hold
    for a live transfer (in the conference named after their CallSid)."""

    org: Org
    holding: bool = False


@dataclass(frozen=True)
class CallStart:
    org: Org
    in_hours: bool
    rejected: bool
    saved: Saved = "stored"
    """``stored`` in the database, ``spooled`` (the database was unreachable; see
    ``bot.services.spooled``) or ``lost`` (neither could be written)."""


class CallIntake:
    def __init__(self, rt: Runtime, *, can_transfer: bool = False) -> None:
        """``can_transfer``: outbound calls are possible (Twilio REST is configured); without them a
        transfer rule takes a message, as it would outside office hours."""
        self.rt = rt
        self.can_transfer = can_transfer

    def opening(self, call: CallInfo, at: datetime) -> CallStart | None:
        """How a call that comes in at ``at`` is answered, from the configuration alone (no database):
        None when the called number belongs to no organisation."""
        org = self.rt.directory.by_number(call.to_number)
        if org is None:
            return None
        decision = self._triage(org, call, "", at)
        return CallStart(org, decision.in_hours, decision.action == "reject")

    async def start(self, call: CallInfo, *, at: datetime | None = None) -> CallStart | None:
        """A call came in (at ``at``, else now). None when the called number belongs to no
        organisation."""
        org = self.rt.directory.by_number(call.to_number)
        if org is None:
            return None
        now = at or self.rt.clock.now()
        decision = self._triage(org, call, "", now)
        rejected = decision.action == "reject"
        values = self._call_values(org, call, now, decision, "rejected" if rejected else "answered")
        await self.rt.execute_alone(insert_ignore_statement(self._dialect, Call), values)
        return CallStart(org, decision.in_hours, rejected)

    async def message(self, call: CallInfo, speech: str, *, at: datetime | None = None) -> Org | None:
        """The caller said who they are and why: one card (a retried webhook finds the same one)."""
        answer = await self._card_for(call, speech.strip(), source="call", at=at)
        return answer.org if answer else None

    async def answer(self, call: CallInfo, speech: str, *, at: datetime | None = None) -> Answer | None:
        """Like ``message``, when the caller is on the line: they may be put on hold for a live
        transfer (a transfer rule matched, in office hours, and someone on the staff has a phone);
        ``Answer.holding`` says so. A replayed message never holds anyone: the caller has gone."""
        return await self._card_for(call, speech.strip(), source="call", at=at, may_hold=True)

    async def voicemail(
        self, call: CallInfo, recording_url: str, *, at: datetime | None = None
    ) -> Org | None:
        """A recording is there: it goes on the call's card, which is opened if there is none yet."""
        answer = await self._card_for(call, "", source="voicemail", recording_url=recording_url, at=at)
        return answer.org if answer else None

    async def ended(self, call: CallInfo, status: str, *, at: datetime | None = None) -> None:
        """The call is over (at ``at``, else now); one that left nothing behind becomes a missed-call
        card."""
        if status not in TERMINAL:
            return
        org = self.rt.directory.by_number(call.to_number)
        if org is None:
            return

        # The common case in one statement of its own: the call is known and has its card (or was
        # rejected). Otherwise, one transaction registers the call if need be and opens its card.
        values = {"sid": call.call_sid, "outcome": status, "ended": at or self.rt.clock.now()}
        known = next(iter(await self.rt.execute_alone(_END_CALL, values)), None)
        if known is not None and (known.card_id is not None or known.status == "rejected"):
            return

        async def work(session: AsyncSession) -> None:
            now = at or self.rt.clock.now()
            row = await self._call_row(session, org, call, now)
            rejected = row.status == "rejected"
            changes: dict[str, Any] = {"ended_at": now, "status": "rejected" if rejected else status}
            if not rejected and row.card_id is None:
                opened, _ = await self._open(session, org, call, row.started_at, now, "", "missed", None)
                changes |= opened
            await execute(session, _UPDATE_CALL, {"call_id": row.id, **changes})

        await self._retrying_conflicts(work)

    async def _card_for(
        self,
        call: CallInfo,
        speech: str,
        *,
        source: str,
        recording_url: str | None = None,
        at: datetime | None = None,
        may_hold: bool = False,
    ) -> Answer | None:
        org = self.rt.directory.by_number(call.to_number)
        if org is None:
            return None
        holding = False

        async def work(session: AsyncSession) -> None:
            nonlocal holding
            now = at or self.rt.clock.now()
            row = await self._call_row(session, org, call, now)
            if row.card_id is None:  # the call's card is written in the same transaction as its card_id
                changes, holding = await self._open(
                    session, org, call, row.started_at, now, speech, source, recording_url, may_hold
                )
                await execute(session, _UPDATE_CALL, {"call_id": row.id, **changes})
                return
            card = await session.get(Card, row.card_id, with_for_update=bool(recording_url or speech))
            holding = card is not None and card.call_sid == call.call_sid and card.transfer_state == "waiting"
            if card is not None and recording_url and not await _has_recording(session, card, recording_url):
                await self._attach_recording(session, org, card, recording_url)
            elif card is not None and speech and not card.summary:
                await self._attach_speech(session, org, card, speech)

        await self._retrying_conflicts(work)
        return Answer(org, holding)

    async def _retrying_conflicts(self, work: Callable[[AsyncSession], Awaitable[None]]) -> None:
        """Run ``work`` in one transaction; if a concurrent webhook of the same call inserted its card
        first (a unique-key conflict on PostgreSQL), run it again: the second run finds that card."""
        for attempt in range(3):
            try:
                async with self.rt.unit_of_work() as session:
                    await work(session)
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    async def _open(
        self,
        session: AsyncSession,
        org: Org,
        call: CallInfo,
        started_at: datetime,
        now: datetime,
        speech: str,
        source: str,
        recording_url: str | None,
        may_hold: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """The card for what the caller said; the call row's new values (its card, or rejected), and
        whether the caller waits on hold for a transfer. A repeat caller's call goes on their open card.
        ``now``: when the webhook came (a replayed one came before the database was back), so a
        replayed call is merged, timed and shown as it would have been live."""
        decision = self._triage(org, call, speech, started_at)
        if decision.action == "reject":
            return {"status": "rejected"}, False
        hold_until = self._hold_until(org, decision, source, now) if may_hold and self.can_transfer else None
        if hold_until is None:
            merged = await self._merge_repeat(session, org, call, decision, speech, recording_url, now)
            if merged is not None:
                return {"card_id": merged}, False
        new = NewCard(
            source=source,
            decision=decision,
            summary=speech,
            caller_name=name_from_speech(speech),
            call_sid=call.call_sid,
            recording_url=recording_url,
            transfer_until=hold_until,
        )
        card_id = await open_card(session, self.rt, org, new, now)
        if source != "missed" and hold_until is None:
            await self._tell_taken(session, org, Caller(card_id, decision.caller_number, source), now)
        return {"card_id": card_id}, hold_until is not None

    @staticmethod
    async def _tell_taken(session: AsyncSession, org: Org, caller: Caller, now: datetime) -> None:
        """ "We have your message", when the organisation asks for it (``messaging.confirm``)."""
        if org.config.messaging.confirm.message_taken:
            await confirm(session, org, caller, message_taken(org), now)

    @staticmethod
    def _hold_until(org: Org, decision: TriageDecision, source: str, now: datetime) -> datetime | None:
        """Until when the caller waits on hold for a live transfer; None when they are not put through:
        no transfer rule (or outside office hours), no words said, or nobody with a phone to take it."""
        if source != "call" or not decision.transfer_allowed or not org.config.staff_with_phone():
            return None
        return now + timedelta(seconds=org.config.voice.hold_seconds)

    async def _merge_repeat(
        self,
        session: AsyncSession,
        org: Org,
        call: CallInfo,
        decision: TriageDecision,
        speech: str,
        recording_url: str | None,
        now: datetime,
    ) -> int | None:
        """The open card this number's call goes on, within ``calls.merge_window`` of its last call:
        it counts the call and says what was said in its thread. None: a new card is opened."""
        window = org.config.calls.merge_window
        if not window or not decision.caller_number:
            return None
        params = {"org": org.id, "number": decision.caller_number, "since": now - window}
        card = (await session.exec(_REPEAT_CARD, params=params)).first()
        if card is None:
            return None
        if card.call_sid == call.call_sid or await self._counted_already(session, call.call_sid):
            return card.id
        card.call_count = (card.call_count or 1) + 1
        card.last_call_at = max(now, card.last_call_at or now)
        card.recording_url = card.recording_url or recording_url  # a later one is in the thread line
        if speech and not card.summary:
            card.summary = speech
            card.caller_name = card.caller_name or name_from_speech(speech)
        line, data = _repeat_line(org, card.call_count, now, speech, recording_url)
        await self._left_by_caller(session, org, card, card.source, "repeat_call", data, line, at=now)
        return card.id

    @staticmethod
    async def _counted_already(session: AsyncSession, call_sid: str) -> bool:
        return (await session.exec(_CARD_OF_CALL, params={"sid": call_sid})).first() is not None

    async def _attach_recording(self, session: AsyncSession, org: Org, card: Card, url: str) -> None:
        card.recording_url = url
        line = Notice("thread.recording", text={"url": url})
        await self._left_by_caller(session, org, card, "voicemail", "recording", {"url": url}, line)

    async def _attach_speech(self, session: AsyncSession, org: Org, card: Card, speech: str) -> None:
        """What the caller said, reported after the hang-up had already opened a missed-call card
        (Twilio's status and gather webhooks can race): it goes on that card instead of being lost.
        The card keeps its route; the speech is in its text and thread for whoever handles it."""
        card.summary = speech
        card.caller_name = card.caller_name or name_from_speech(speech)
        line = Notice("thread.speech", text={"text": speech})
        await self._left_by_caller(session, org, card, "call", "speech", {"text": speech}, line)

    async def _left_by_caller(
        self,
        session: AsyncSession,
        org: Org,
        card: Card,
        source: str,
        kind: str,
        data: dict[str, Any],
        line: Notice,
        at: datetime | None = None,
    ) -> None:
        """Something the caller left that reached us after their card was opened (already set on
        ``card``), at ``at`` (else now): a new version of the card, an audit event and a line in its
        thread."""
        now = at or self.rt.clock.now()
        card.version += 1
        if card.source == "missed":  # a missed call now left a message: it is taken
            card.source = source
            await self._tell_taken(session, org, Caller.of(card), now)
        session.add(card)
        session.add(AuditEvent(org_id=org.id, card_id=card.id, at=now, actor="caller", kind=kind, data=data))
        await announce_change(session, card, line, now)

    def _triage(self, org: Org, call: CallInfo, text: str, at: datetime) -> TriageDecision:
        return triage(org.config, org.calendar, caller_number=call.from_number, text=text, at=at)

    @property
    def _dialect(self) -> str:
        return "postgresql" if self.rt.postgres else "sqlite"

    def _call_values(
        self, org: Org, call: CallInfo, now: datetime, decision: TriageDecision, status: str
    ) -> dict[str, Any]:
        values = {
            "org_id": org.id,
            "call_sid": call.call_sid,
            "from_number": decision.caller_number or call.from_number,
            "to_number": call.to_number,
            "in_hours": decision.in_hours,
            "status": status,
            "started_at": now,
        }
        return fitted(Call, values)  # a caller's address longer than any Twilio sends is cut, not refused

    async def _call_row(self, session: AsyncSession, org: Org, call: CallInfo, now: datetime) -> Any:
        """The call's row (id, card_id, status, started_at), registered now if its first webhook never
        reached us."""
        row = await self._find_call(session, call.call_sid)
        if row is None:
            decision = self._triage(org, call, "", now)
            await insert_ignore(session, Call, self._call_values(org, call, now, decision, "answered"))
            row = await self._find_call(session, call.call_sid)
        assert row is not None
        return row

    async def _find_call(self, session: AsyncSession, call_sid: str) -> Any:
        return (await execute(session, _CALL_STATE, {"sid": call_sid})).first()


def _repeat_line(
    org: Org, count: int, at: datetime, speech: str, recording_url: str | None
) -> tuple[Notice, dict[str, Any]]:
    """A repeat call's thread line and audit data: what was said, or the voicemail left (its URL: the
    card keeps the recording it had), or that nothing was left."""
    time = at.astimezone(ZoneInfo(org.timezone)).strftime("%H:%M")
    fields = {"count": str(count), "time": time, "text": speech, "url": recording_url or ""}
    data: dict[str, Any] = {"count": count, "text": speech}
    if speech:
        return Notice("thread.repeat_call", text=fields), data
    if recording_url:
        return Notice("thread.repeat_call_voicemail", text=fields), data | {"url": recording_url}
    return Notice("thread.repeat_call_silent", text=fields), data


async def _has_recording(session: AsyncSession, card: Card, url: str) -> bool:
    """The recording is on the card already, or in its thread: a repeat call's voicemail (the same
    recording comes twice, from the ``<Record>`` action and from its status callback)."""
    if card.recording_url == url:
        return True
    found = await session.exec(
        select(AuditEvent.data).where(
            col(AuditEvent.card_id) == card.id, col(AuditEvent.kind).in_(("repeat_call", "recording"))
        )
    )
    return any((data or {}).get("url") == url for data in found)
