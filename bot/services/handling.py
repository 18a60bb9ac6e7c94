"""Handling a card: claim, release, resolve, note, reassign, schedule a callback.

Every change is a compare-and-set on the card's version, so two clicks make one winner on SQLite and
PostgreSQL; the loser is told why in an ephemeral message. State, audit and deliveries commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.escalation import EscalationPolicy
from bot.domain.lifecycle import Actor, CardStatus, Change, status_after
from bot.domain.lifecycle import refusal as lifecycle_refusal
from bot.domain.org import StaffMember
from bot.domain.transfer import TransferState
from bot.services.confirmations import Caller, callback_scheduled, confirm
from bot.services.directory import Org
from bot.services.outbox import add_row, announce_change
from bot.services.replies import CHANNEL_LABELS, ReplyRefused, conversation_of, plan_reply, write_reply
from bot.services.runtime import Runtime
from bot.services.telling import direct_rows, private_row
from bot.services.webhooks import add_events
from bot.store.models import AuditEvent, Callback, Card
from cards.actions import ActionId, ActionRequest, Outcome
from cards.notice import Notice


@dataclass(frozen=True)
class Requester:
    """Who asked, on which channel, and where a private answer goes: ``("slack", "U0ANA",
    "C0RECEP")``. ``user_ref`` is their user id on that channel (found by ``Org.staff_on``);
    ``reply_to`` the conversation they acted in and ``reply_url`` a URL the channel gave for the
    answer (Slack's ``response_url``), both optional (see ``bot.ports.PrivateTo``)."""

    channel: str
    user_ref: str
    reply_to: str | None = None
    reply_url: str | None = None
    workspace: str | None = None
    """The chat workspace the request came from (Slack's team id, a Teams tenant id), when the
    channel says: an organisation with its own workspace is reached only from it (``Org.admits``)."""


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    reason: str | None = None


OK = ActionResult(True)


class _Refused(Exception):
    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key, self.values = key, values


@dataclass
class _Scope:
    session: AsyncSession
    org: Org
    card: Card
    staff: StaffMember
    now: datetime
    channel: str


class Accepting(Protocol):
    """What puts an accepted transfer through (``bot.services.transfer.LiveTransfer``)."""

    async def accept(self, card_id: int, who: Requester) -> ActionResult: ...


class Calling(Protocol):
    """What places a click-to-call (``bot.services.kept.KeptCallbacks``): None when it rings, else
    the catalogue key of why it cannot."""

    async def call_now(self, card_id: int, channel: str, user_ref: str) -> str | None: ...


class CardHandling:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.transfer: Accepting | None = None
        """Set by the composition root: ``accept_transfer`` requests go there (it claims, then calls)."""
        self.calling: Calling | None = None
        """Set by the composition root: ``call_now`` requests go there."""

    async def perform(self, request: ActionRequest, who: Requester) -> ActionResult:
        """Any action of a card's view, with its form's answers, from any channel. An action that
        lacks an answer its form requires, or that no use case does yet (``call_now``), changes
        nothing and answers ``unsupported``."""
        card, action = request.card_id, request.action
        if action is ActionId.CLAIM:
            return await self.claim(card, who)
        if action is ActionId.RELEASE:
            return await self.release(card, who)
        if action is ActionId.RESOLVE and request.outcome is not None:
            return await self.resolve(card, who, request.outcome, request.note)
        if action is ActionId.CALLBACK_DONE:
            return await self.resolve(card, who, Outcome.CALLED_BACK, request.note)
        if action is ActionId.ADD_NOTE:
            return await self.add_note(card, who, request.note)
        if action is ActionId.REASSIGN and request.staff:
            return await self.reassign(card, who, request.staff)
        if action is ActionId.SCHEDULE_CALLBACK and request.when is not None:
            return await self.schedule_callback(
                card, who, request.when, request.staff, request.note, tell_caller=request.tell_caller
            )
        if action is ActionId.RESCHEDULE_CALLBACK and request.when is not None:
            return await self.schedule_callback(card, who, request.when, request.staff, request.note)
        if action is ActionId.REPLY_CUSTOMER and request.note:
            return await self.reply_customer(card, who, request.note)
        if action is ActionId.CALL_NOW and self.calling is not None:
            return await self._call_now(card, who, self.calling)
        if action is ActionId.ACCEPT_TRANSFER:
            accepting = self.transfer.accept if self.transfer else self.accept_transfer
            return await accepting(card, who)
        return ActionResult(False, "unsupported")

    async def claim(self, card_id: int, who: Requester) -> ActionResult:
        return await self._act(card_id, who, self._claim)

    async def release(self, card_id: int, who: Requester) -> ActionResult:
        return await self._act(card_id, who, self._release)

    async def resolve(self, card_id: int, who: Requester, outcome: Outcome, note: str = "") -> ActionResult:
        return await self._act(card_id, who, lambda s: self._resolve(s, outcome, note.strip()))

    async def add_note(self, card_id: int, who: Requester, note: str) -> ActionResult:
        return await self._act(card_id, who, lambda s: self._note(s, note.strip()))

    async def reassign(self, card_id: int, who: Requester, to_user_ref: str) -> ActionResult:
        return await self._act(card_id, who, lambda s: self._reassign(s, to_user_ref))

    async def schedule_callback(
        self,
        card_id: int,
        who: Requester,
        due_at: datetime,
        assignee_ref: str | None,
        note: str = "",
        *,
        tell_caller: bool = False,
    ) -> ActionResult:
        """A callback (a new one replaces the card's scheduled one: a reschedule). ``tell_caller``:
        the caller gets an SMS with the time, sent through the outbox with the change."""
        return await self._act(
            card_id, who, lambda s: self._callback(s, due_at, assignee_ref, note.strip(), tell_caller)
        )

    async def accept_transfer(self, card_id: int, who: Requester) -> ActionResult:
        """The claim of a card whose caller waits on hold, by someone with a phone: the same
        compare-and-set as a claim. Calling their phone is ``LiveTransfer``'s, after this commits."""
        return await self._act(card_id, who, self._accept_transfer)

    async def _call_now(self, card_id: int, who: Requester, calling: Calling) -> ActionResult:
        refused = await calling.call_now(card_id, who.channel, who.user_ref)
        if refused is None:
            return OK
        await self.tell(who, refused)
        return ActionResult(False, refused)

    async def tell(self, who: Requester, key: str) -> None:
        """Tell ``who`` privately why something they asked for cannot be done (``key``)."""
        async with self.rt.unit_of_work() as session:
            self._tell(session, self._org_for(None, who), who, Notice(key))

    async def reply_customer(self, card_id: int, who: Requester, text: str) -> ActionResult:
        """Send ``text`` to the customer of a card opened by their SMS or WhatsApp message."""
        return await self._act(card_id, who, lambda s: self._reply(s, text.strip()))

    async def no_such_card(self, who: Requester) -> ActionResult:
        """A click or modal naming an id no card can have: told as for a card that does not exist."""
        async with self.rt.unit_of_work() as session:
            self._tell(session, self._org_for(None, who), who, Notice("ephemeral.card_missing"))
        return ActionResult(False, "ephemeral.card_missing")

    async def _act(self, card_id: int, who: Requester, change: Any) -> ActionResult:
        async with self.rt.unit_of_work() as session:
            scope: _Scope | None = None
            try:
                scope = await self._scope(session, card_id, who)
                await change(scope)
                return OK
            except _Refused as refused:
                org = self._org_for(scope, who)
                values = {k: str(v) for k, v in refused.values.items()}
                self._tell(session, org, who, Notice(refused.key, text=values))
                return ActionResult(False, refused.key)

    def _org_for(self, scope: _Scope | None, who: Requester) -> Org:
        if scope is not None:
            return scope.org
        found = self.rt.directory.by_staff(who.channel, who.user_ref, who.workspace)
        return found[0] if found else self.rt.directory.of_workspace(who.channel, who.workspace)

    async def _scope(self, session: AsyncSession, card_id: int, who: Requester) -> _Scope:
        # Locked (PostgreSQL) until this change commits: a concurrent click or escalation step waits
        # and then reads the card as this change leaves it, instead of failing its compare-and-set.
        card = await session.get(Card, card_id, with_for_update=True)
        if card is None:
            raise _Refused("ephemeral.card_missing")
        org = self.rt.directory.get(card.org_id)
        if not org.admits(who.channel, who.workspace):  # another organisation's card: as if it did not exist
            raise _Refused("ephemeral.card_missing")
        staff = org.staff_on(who.channel, who.user_ref)
        if staff is None:
            raise _Refused("ephemeral.not_staff", org=org.config.organization.name)
        return _Scope(session, org, card, staff, self.rt.clock.now(), who.channel)

    def _allow(self, s: _Scope, change: Change) -> CardStatus:
        """The lifecycle's verdict on ``change`` for the card as read: the state it leads to, or a
        refusal that names the card's holder."""
        status = CardStatus(s.card.status)
        actor = Actor(s.staff.id, "manager" in s.staff.roles)
        refused = lifecycle_refusal(change, status, s.card.claimed_by, actor)
        if refused is not None:
            raise _Refused(refused.key, status=refused.status, name=s.org.name_of(refused.holder) or "")
        return status_after(change, status)

    async def _claim(self, s: _Scope) -> None:
        values = {
            "status": self._allow(s, Change.CLAIM).value,
            "claimed_by": s.staff.id,
            "claimed_at": s.now,
            "escalate_at": None,
        }
        if not await self._swap(s, values, expect_status=CardStatus.OPEN):
            await s.session.refresh(s.card)
            self._allow(s, Change.CLAIM)
            raise _Refused("ephemeral.not_allowed", status=s.card.status)
        await self._record(s, "claimed", {}, _by(s, "thread.claimed"))

    async def _accept_transfer(self, s: _Scope) -> None:
        status = self._allow(s, Change.ACCEPT_TRANSFER)
        if s.card.transfer_state != TransferState.WAITING:
            raise _Refused("ephemeral.transfer_gone")
        if not s.staff.phone:
            raise _Refused("ephemeral.transfer_no_phone")
        attempt = s.card.transfer_attempt + 1
        values = {
            "status": status.value,
            "claimed_by": s.staff.id,
            "claimed_at": s.now,
            "escalate_at": None,
            "transfer_state": TransferState.RINGING.value,
            "transfer_staff_id": s.staff.id,
            "transfer_attempt": attempt,
            "transfer_leg_sid": None,
        }
        if not await self._swap(s, values, expect_status=CardStatus.OPEN):
            await s.session.refresh(s.card)
            self._allow(s, Change.ACCEPT_TRANSFER)
            raise _Refused("ephemeral.not_allowed", status=s.card.status)
        await self._record(s, "transfer_accepted", {"attempt": attempt}, _by(s, "thread.transfer_ringing"))

    async def _release(self, s: _Scope) -> None:
        status = self._allow(s, Change.RELEASE)
        policy = EscalationPolicy.from_snapshot(s.card.escalation_policy)
        values: dict[str, Any] = {
            "status": status.value,
            "claimed_by": None,
            "claimed_at": None,
            "callback_at": None,
            "escalation_level": 0,
            "escalation_started_at": s.now,
            "escalated_to": [],
            "claim_deadline": policy.claim_deadline(s.now, s.org.calendar),
            "escalate_at": policy.due_at(0, s.now, s.org.calendar),
        }
        await self._must_swap(s, values)
        await self._cancel_callbacks(s)
        await self._record(s, "released", {}, _by(s, "thread.released"))

    async def _resolve(self, s: _Scope, outcome: Outcome, note: str) -> None:
        values = {
            "status": self._allow(s, Change.RESOLVE).value,
            "outcome": outcome.value,
            "resolved_at": s.now,
            "resolved_by": s.staff.id,
            "claimed_by": s.card.claimed_by or s.staff.id,
            "escalate_at": None,
        }
        await self._must_swap(s, values)
        await self._cancel_callbacks(s)
        key = "thread.resolved_note" if note else "thread.resolved"
        line = _by(s, key, text={"note": note}, outcomes={"outcome": outcome.value})
        await self._record(s, "resolved", {"outcome": outcome.value, "note": note}, line)

    async def _note(self, s: _Scope, note: str) -> None:
        if not note:
            return
        self._allow(s, Change.NOTE)
        await self._must_swap(s, {})
        await self._record(s, "note", {"note": note}, _by(s, "thread.note", text={"note": note}))

    async def _reassign(self, s: _Scope, to_user_ref: str) -> None:
        target = self._staff(s, to_user_ref)
        if target is None:
            raise _Refused("ephemeral.unknown_staff")
        status = self._allow(s, Change.REASSIGN)
        values = {"status": status.value, "claimed_by": target.id, "claimed_at": s.now, "escalate_at": None}
        await self._must_swap(s, values)
        data: dict[str, Any] = {"to": target.id}
        if moved := await self._move_callbacks(s, target.id):
            data["callbacks_moved"] = moved
        await self._record(s, "reassigned", data, _by(s, "thread.reassigned", names={"to": (target.id,)}))
        for row in direct_rows(self.rt, s.org, target.id, _by(s, "dm.reassigned"), s.card.id, s.now):
            add_row(s.session, row)

    async def _callback(
        self, s: _Scope, due_at: datetime, assignee_ref: str | None, note: str, tell_caller: bool = False
    ) -> None:
        status = self._allow(s, Change.CALLBACK)
        if due_at <= s.now:
            raise _Refused("ephemeral.callback_past")
        assignee = self._staff(s, assignee_ref) if assignee_ref else s.staff
        if assignee is None:
            raise _Refused("ephemeral.unknown_staff")
        values = {
            "status": status.value,
            "claimed_by": assignee.id,
            "claimed_at": s.now,
            "callback_at": due_at,
            "escalate_at": None,
        }
        await self._must_swap(s, values)
        await self._cancel_callbacks(s)
        s.session.add(
            Callback(
                org_id=s.org.id,
                card_id=s.card.id or 0,
                due_at=due_at,
                assignee_id=assignee.id,
                note=note,
                created_by=s.staff.id,
                created_at=s.now,
                tell_caller=tell_caller and bool(s.card.caller_number),
                escalate_at=due_at + s.org.config.callbacks.grace,
            )
        )
        if tell_caller or s.org.config.messaging.confirm.callback_scheduled:
            await confirm(s.session, s.org, Caller.of(s.card), callback_scheduled(s.org, due_at), s.now)
        names = {"assignee": (assignee.id,)}
        line = _by(s, "thread.callback", names=names, times={"when": due_at.isoformat()})
        data = {"due_at": due_at.isoformat(), "assignee": assignee.id, "note": note}
        await self._record(s, "callback_scheduled", data, line)

    async def _reply(self, s: _Scope, text: str) -> None:
        """The reply, its message row and its outbox row, with the card's change: sent once committed."""
        if not text:
            return
        self._allow(s, Change.NOTE)
        conversation = await conversation_of(s.session, s.card)
        try:
            reply = plan_reply(s.org, s.card, conversation, text, s.now)
        except ReplyRefused as refused:
            raise _Refused(refused.key) from None
        assert conversation is not None
        await self._must_swap(s, {"reply_status": "pending", "reply_error": None})
        # The message goes first among the card's rows: the customer is not kept waiting on the
        # card's re-render and thread line.
        add_row(s.session, await write_reply(s.session, s.card, conversation, reply, s.staff.id, s.now))
        key = "thread.replied_template" if reply.template else "thread.replied"
        data = {"text": text, "channel": conversation.channel, "template": reply.template}
        await self._record(
            s,
            "replied",
            data,
            _by(s, key, text={"text": text, "channel": CHANNEL_LABELS[conversation.channel]}),
        )

    def _staff(self, s: _Scope, user_ref: str) -> StaffMember | None:
        """A staff member named by a platform user (a Slack user picked in a select) or by staff id."""
        return s.org.staff_on(s.channel, user_ref) or s.org.config.staff_member(user_ref)

    async def _move_callbacks(self, s: _Scope, assignee_id: str) -> int:
        """The card's scheduled callbacks go to its new assignee (their reminder with them); how many."""
        result = await s.session.exec(
            update(Callback)
            .where(col(Callback.card_id) == s.card.id, col(Callback.status) == "scheduled")
            .values(assignee_id=assignee_id)
        )
        return int(result.rowcount)

    async def _cancel_callbacks(self, s: _Scope) -> None:
        await s.session.exec(
            update(Callback)
            .where(col(Callback.card_id) == s.card.id, col(Callback.status) == "scheduled")
            .values(status="cancelled")
        )

    async def _swap(self, s: _Scope, values: dict[str, Any], expect_status: CardStatus | None = None) -> bool:
        """Compare-and-set: apply ``values`` only if nobody changed the card since we read it."""
        where = [col(Card.id) == s.card.id, col(Card.version) == s.card.version]
        if expect_status is not None:
            where.append(col(Card.status) == expect_status.value)
        result = await s.session.exec(update(Card).where(*where).values(version=s.card.version + 1, **values))
        if result.rowcount != 1:
            return False
        await s.session.refresh(s.card)
        return True

    async def _must_swap(self, s: _Scope, values: dict[str, Any]) -> None:
        if not await self._swap(s, values):
            await s.session.refresh(s.card)
            raise _Refused("ephemeral.not_allowed", status=s.card.status)

    async def _record(self, s: _Scope, kind: str, data: dict[str, Any], line: Notice) -> None:
        s.session.add(
            AuditEvent(org_id=s.org.id, card_id=s.card.id, at=s.now, actor=s.staff.id, kind=kind, data=data)
        )
        add_events(s.session, s.org, s.card, kind, data, s.staff.id, s.now)
        await announce_change(s.session, s.card, line, s.now)

    def _tell(self, session: AsyncSession, org: Org, who: Requester, notice: Notice) -> None:
        """A private notice to the person who asked, where the channel can answer them."""
        if who.reply_to is None and who.reply_url is None:
            return
        add_row(session, private_row(org, who, notice, self.rt.clock.now()))


def _by(s: _Scope, key: str, **kinds: Any) -> Notice:
    """A notice of something ``s.staff`` did (they are its ``name``)."""
    names = {"name": (s.staff.id,), **kinds.pop("names", {})}
    return Notice(key, names=names, **kinds)
