"""Callback reminders: at the scheduled time, the assignee gets a direct message with the card."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select

from bot.services.outbox import add_row
from bot.services.runtime import Runtime
from bot.services.served import Served
from bot.services.telling import direct_rows
from bot.store.models import AuditEvent, Callback, Card
from cards.actions import ActionId
from cards.notice import Notice

REMINDER_ACTIONS = (ActionId.CALL_NOW, ActionId.CALLBACK_DONE)


class CallbackReminders:
    def __init__(self, rt: Runtime, *, batch: int = 100) -> None:
        self.rt = rt
        self.batch = batch
        self._served = Served(
            rt,
            col(Callback.org_id),
            "%d callback(s) of organisation %r, no longer configured, will not be reminded",
        )

    async def sweep(self, now: datetime | None = None) -> int:
        """Remind every callback that is due; each one exactly once."""
        now = now or self.rt.clock.now()
        await self._served.warn_once(col(Callback.status) == "scheduled")
        async with self.rt.unit_of_work() as session:
            query = (
                select(Callback)
                .where(col(Callback.status) == "scheduled", col(Callback.due_at) <= now, self._served.filter)
                .order_by(col(Callback.due_at))
                .limit(self.batch)
            )
            if self.rt.postgres:
                query = query.with_for_update(skip_locked=True)
            due = (await session.exec(query)).all()
            reminded = 0
            for callback in due:
                result = await session.exec(
                    update(Callback)
                    .where(col(Callback.id) == callback.id, col(Callback.status) == "scheduled")
                    .values(status="reminded", reminded_at=now)
                )
                if result.rowcount != 1:
                    continue
                card = await session.get(Card, callback.card_id)
                org = self.rt.directory.get(callback.org_id)
                caller = (card.caller_name or card.caller_number or "") if card else ""
                notice = Notice("dm.callback_due", text={"caller": caller, "note": callback.note})
                card_id = card.id if card else None
                for dm in direct_rows(
                    self.rt,
                    org,
                    callback.assignee_id,
                    notice,
                    card_id,
                    now,
                    actions=REMINDER_ACTIONS,
                    dedupe=f"callback:{callback.id}",
                    phones=org.config.messaging.reminder_via,
                ):
                    add_row(session, dm)
                session.add(
                    AuditEvent(
                        org_id=org.id,
                        card_id=callback.card_id,
                        at=now,
                        actor="system",
                        kind="callback_due",
                        data={"callback": callback.id},
                    )
                )
                reminded += 1
        return reminded
