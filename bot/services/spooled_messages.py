"""The messaging webhooks (SMS and WhatsApp) on the outage spool, as the voice ones are
(``bot.services.spooled``): a customer's message and a delivery status go straight into the database
while it answers, and into the spool while it does not, keyed on the MessageSid. The replay calls the
same use cases, which are idempotent on it: the message row is insert-or-ignore, and a status only
ever moves a message forward."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bot.services.calls import Saved
from bot.services.inbound import InboundMessage, MessageIntake
from bot.services.replies import ReplyStatuses, StatusReport
from bot.services.spooled import Handler, Spooler, spool_line

INBOUND = "inbound_message"
STATUS = "message_status"


class SpooledMessages:
    def __init__(self, intake: MessageIntake, statuses: ReplyStatuses, spooler: Spooler) -> None:
        self.intake, self.statuses, self.spooler = intake, statuses, spooler
        self.clock = intake.rt.clock

    async def received(self, message: InboundMessage) -> Saved | None:
        """Where a customer's (or a staff member's) message was written; None when the number it
        was sent to belongs to no organisation (nothing is written)."""
        if self.intake.rt.directory.by_number(message.to_number) is None:
            return None
        at = self.clock.now()
        line = spool_line(INBOUND, message.sid, at, {"message": _fields(message)})
        return await self.spooler.store(line, lambda: self.intake.received(message, at=at))

    async def status(self, report: StatusReport) -> Saved | None:
        """Where a delivery status was written; None when it went into the database and no message
        we sent has that id and MessageSid (spooled, that is only known at the replay, which then
        drops it)."""
        at = self.clock.now()
        known: list[bool] = []

        async def work() -> None:
            known.append(await self.statuses.report(report, at=at))

        line = spool_line(STATUS, report.sid or "", at, {"report": asdict(report)})
        saved = await self.spooler.store(line, work)
        return None if saved == "stored" and known == [False] else saved

    def handlers(self) -> dict[str, Handler]:
        """How each kind of line this spools is replayed: the same use case, at the same time."""
        return {
            INBOUND: lambda line, at: self.intake.received(_message(line["message"]), at=at),
            STATUS: lambda line, at: self.statuses.report(StatusReport(**line["report"]), at=at),
        }


def _fields(message: InboundMessage) -> dict[str, Any]:
    return {**asdict(message), "media": list(message.media)}


def _message(fields: dict[str, Any]) -> InboundMessage:
    return InboundMessage(**{**fields, "media": tuple(fields.get("media") or ())})
