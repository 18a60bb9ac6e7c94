"""Phone calls: register the call, turn what the caller said (or did not say) into one card."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, case, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.speech import name_from_speech
from bot.domain.triage import TriageDecision, triage
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
TERMINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
Saved = Literal["stored", "spooled", "lost"]


@dataclass(frozen=True)
class CallInfo:
    call_sid: str
    from_number: str | None
    to_number: str | None


@dataclass(frozen=True)
class CallStart:
    org: Org
    in_hours: bool
    rejected: bool
    saved: Saved = "stored"
    """``stored`` in the database, ``spooled`` (the database was unreachable; see
    ``bot.services.spooled``) or ``lost`` (neither could be written)."""


class CallIntake:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

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
        return await self._card_for(call, speech.strip(), source="call", at=at)

    async def voicemail(
        self, call: CallInfo, recording_url: str, *, at: datetime | None = None
    ) -> Org | None:
        """A recording is there: it goes on the call's card, which is opened if there is none yet."""
        return await self._card_for(call, "", source="voicemail", recording_url=recording_url, at=at)

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
                changes |= await self._open(session, org, call, row.started_at, "", "missed", None)
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
    ) -> Org | None:
        org = self.rt.directory.by_number(call.to_number)
        if org is None:
            return None

        async def work(session: AsyncSession) -> None:
            row = await self._call_row(session, org, call, at or self.rt.clock.now())
            if row.card_id is None:  # the call's card is written in the same transaction as its card_id
                changes = await self._open(session, org, call, row.started_at, speech, source, recording_url)
                await execute(session, _UPDATE_CALL, {"call_id": row.id, **changes})
            elif recording_url or speech:
                card = await session.get(Card, row.card_id, with_for_update=True)
                if card is not None and recording_url and card.recording_url != recording_url:
                    await self._attach_recording(session, org, card, recording_url)
                elif card is not None and speech and not card.summary:
                    await self._attach_speech(session, org, card, speech)

        await self._retrying_conflicts(work)
        return org

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
        speech: str,
        source: str,
        recording_url: str | None,
    ) -> dict[str, Any]:
        """The card for what the caller said; the call row's new values (its card, or rejected)."""
        decision = self._triage(org, call, speech, started_at)
        if decision.action == "reject":
            return {"status": "rejected"}
        new = NewCard(
            source=source,
            decision=decision,
            summary=speech,
            caller_name=name_from_speech(speech),
            call_sid=call.call_sid,
            recording_url=recording_url,
        )
        return {"card_id": await open_card(session, self.rt, org, new, self.rt.clock.now())}

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
    ) -> None:
        """Something the caller left that reached us after their card was opened (already set on
        ``card``): a new version of the card, an audit event and a line in its thread."""
        now = self.rt.clock.now()
        card.version += 1
        if card.source == "missed":
            card.source = source
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
