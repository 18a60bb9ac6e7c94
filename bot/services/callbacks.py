"""Callback reminders: at the scheduled time, the assignee gets a direct message with the card."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlmodel import col, select

from bot.services.directory import Org
from bot.services.outbox import enqueue_rows
from bot.services.runtime import Runtime
from bot.services.served import Served
from bot.services.telling import direct_rows
from bot.store.models import AuditEvent, Callback, Card
from cards.actions import ActionId
from cards.notice import Notice

REMINDER_ACTIONS = (ActionId.CALL_NOW, ActionId.RESCHEDULE_CALLBACK, ActionId.CALLBACK_DONE)


class CallbackReminders:
    def __init__(self, rt: Runtime, *, batch: int = 500) -> None:
        self.rt = rt
        self.batch = batch
        self._served = Served(
            rt,
            col(Callback.org_id),
            "%d callback(s) of organisation %r, no longer configured, will not be reminded",
        )

    async def sweep(self, now: datetime | None = None) -> int:
        """Remind every callback that is due, batch after batch; each one exactly once."""
        await self._served.warn_once(col(Callback.status) == "scheduled")
        reminded = 0
        while True:
            count = await self._sweep_batch(now or self.rt.clock.now())
            reminded += count
            if count < self.batch:
                return reminded
            await asyncio.sleep(0)  # webhooks and clicks get their turn between batches

    async def seconds_to_next(self) -> float | None:
        """How long until the earliest scheduled callback falls due (None: none is scheduled): the
        heartbeat wakes up then instead of waiting for its next beat."""
        query = select(func.min(Callback.due_at)).where(
            col(Callback.status) == "scheduled", self._served.filter
        )
        async with self.rt.sessions() as session:
            due = (await session.exec(query)).first()
        if due is None:
            return None
        return max(0.0, (due - self.rt.clock.now()).total_seconds())

    async def _sweep_batch(self, now: datetime) -> int:
        """One transaction for up to ``batch`` due callbacks, in a handful of statements whatever
        their number: the rows are locked while it runs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
        the write lock on SQLite), so each reminder is written once."""
        async with self.rt.unit_of_work() as session:
            due = list((await session.exec(self._due_query(now))).all())
            if not due:
                return 0
            ids = [c.id for c in due]
            await session.exec(
                update(Callback)
                .where(col(Callback.id).in_(ids))
                .values(status="reminded", reminded_at=now)
                .execution_options(synchronize_session=False)
            )
            cards = {
                c.id: c for c in (await session.exec(_CARDS, params={"ids": [c.card_id for c in due]})).all()
            }
            fired_at = self.rt.clock.now()
            rows, audits = [], []
            for callback in due:
                org = self.rt.directory.get(callback.org_id)
                card = cards.get(callback.card_id)
                rows += self._reminder(org, callback, card, now)
                audits.append(_audit(org.id, callback, fired_at))
            await enqueue_rows(session, rows)
            await session.exec(insert(AuditEvent.__table__), params=audits)  # type: ignore[attr-defined]
        return len(due)

    def _due_query(self, now: datetime) -> Any:
        query = (
            select(Callback)
            .where(col(Callback.status) == "scheduled", col(Callback.due_at) <= now, self._served.filter)
            .order_by(col(Callback.due_at))
            .limit(self.batch)
        )
        return query.with_for_update(skip_locked=True) if self.rt.postgres else query

    def _reminder(
        self, org: Org, callback: Callback, card: Card | None, now: datetime
    ) -> list[dict[str, Any]]:
        """The assignee's DM (on each channel they are on), with Call now, Reschedule and Done."""
        caller = (card.caller_name or card.caller_number or "") if card else ""
        notice = Notice("dm.callback_due", text={"caller": caller, "note": callback.note})
        card_id = card.id if card else None
        return direct_rows(
            self.rt,
            org,
            callback.assignee_id,
            notice,
            card_id,
            now,
            actions=REMINDER_ACTIONS,
            dedupe=f"callback:{callback.id}",
            phones=org.config.messaging.reminder_via,
        )


_CARDS = select(Card).where(col(Card.id).in_(bindparam("ids", expanding=True)))


def _audit(org_id: str, callback: Callback, fired_at: datetime) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "card_id": callback.card_id,
        "at": fired_at,
        "actor": "system",
        "kind": "callback_due",
        "data": {
            "callback": callback.id,
            "due_at": callback.due_at.isoformat(),
            "fired_at": fired_at.isoformat(),
        },
    }
