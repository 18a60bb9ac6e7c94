"""Sending the daily digest (at ``digest.at`` local time on the configured days) and the weekly review
(at the same time on ``digest.weekly``), holidays skipped, to every manager in ``digest.to``,
exactly once per report, day and manager.

Exactly once comes from a row, not from the scheduler: a ``ReportRun`` unique on (organisation,
report, day, manager) is written in the same transaction as the digest's outbox rows, with
``INSERT … ON CONFLICT DO NOTHING``. Whichever process writes it first sends the digest; a replica
doing the same at the same moment, a restart later that day, or ``centralita digest`` for that day
finds it and writes nothing. The outbox then retries the delivery and never sends a row twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.domain.org import StaffMember
from bot.domain.weekly import week_of
from bot.services.channels import CONSOLE
from bot.services.digest import DigestReader
from bot.services.digest_message import DigestMessage, compose, weekly_message
from bot.services.directory import Org
from bot.services.outbox import REPORT, enqueue_rows, outbox_row
from bot.services.runtime import Runtime
from bot.services.weekly import WeeklyReader
from bot.store.db import execute
from bot.store.models import ReportRun, row_values
from bot.store.upsert import insert_ignore

log = logging.getLogger("centralita.digest")
DAILY = "daily"
WEEKLY = "weekly"
_RUN = ReportRun.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Sent:
    """What ``send`` did for one manager: ``sent`` when this call wrote the digest's deliveries."""

    staff_id: str
    sent: bool
    channels: tuple[str, ...] = ()


def due_day(org: Org, now: datetime) -> date | None:
    """The day whose digest is due at ``now`` (the local yesterday), or None: no digest configured,
    not a configured weekday, a holiday, or earlier than ``digest.at``."""
    digest = org.config.digest
    if digest is None:
        return None
    local = now.astimezone(org.calendar.zone)
    if local.weekday() not in digest.weekdays or org.calendar.is_holiday(local.date()):
        return None
    if local.time() < digest.local_time:
        return None
    return local.date() - timedelta(days=1)


def due_week(org: Org, now: datetime) -> date | None:
    """The first day of the week whose review is due at ``now``, or None: no review configured, not
    its weekday, a holiday, or earlier than ``digest.at``."""
    digest = org.config.digest
    if digest is None or digest.weekly_day is None:
        return None
    local = now.astimezone(org.calendar.zone)
    if local.weekday() != digest.weekly_day or org.calendar.is_holiday(local.date()):
        return None
    if local.time() < digest.local_time:
        return None
    return week_of(local.date())


def recipients(org: Org) -> list[StaffMember]:
    digest = org.config.digest
    members = [org.config.staff_member(staff_id) for staff_id in (digest.to if digest else [])]
    return [m for m in members if m is not None]


class DigestSending:
    def __init__(
        self, rt: Runtime, reader: DigestReader, *, email: bool, weekly: WeeklyReader | None = None
    ) -> None:
        self.rt = rt
        self.reader = reader
        self.weekly = weekly
        self.email = email
        self._done: set[tuple[str, str, date]] = set()
        """(organisation, report, day) whose reports this process found written: not looked at again."""

    async def sweep(self) -> int:
        """Send every digest and weekly review that is due and not sent yet; how many this process sent."""
        now = self.rt.clock.now()
        sent = 0
        for org in self.rt.directory:
            due = [(DAILY, due_day(org, now))]
            if self.weekly is not None:
                due.append((WEEKLY, due_week(org, now)))
            for report, day in due:
                if day is None or (org.id, report, day) in self._done:
                    continue
                for member in recipients(org):
                    sent += (await self.send(org, member, day, report)).sent
                self._done.add((org.id, report, day))
        return sent

    async def send(self, org: Org, member: StaffMember, day: date, report: str = DAILY) -> Sent:
        """The ``report`` of ``day`` (a week's first day, for the weekly review) to ``member``,
        unless it was sent already (by anyone)."""
        if await self._was_sent(org, member, day, report):
            return Sent(member.id, False)
        message = await self._compose(org, member, day, report)
        now = self.rt.clock.now()
        rows = self._deliveries(org, member, day, message, now, report)
        async with self.rt.unit_of_work() as session:
            run = row_values(
                ReportRun,
                org_id=org.id,
                report=report,
                day=day.isoformat(),
                staff_id=member.id,
                created_at=now,
            )
            if not await insert_ignore(session, ReportRun, run):
                return Sent(member.id, False)
            await enqueue_rows(session, rows)
        log.info("%s report of %s for %s sent to %s", report, day, org.id, member.id)
        return Sent(member.id, True, tuple(row["channel"] for row in rows))

    async def _compose(self, org: Org, member: StaffMember, day: date, report: str) -> DigestMessage:
        if report == WEEKLY:
            assert self.weekly is not None
            return weekly_message(org, member, await self.weekly.figures(org.id, day))
        return await compose(self.reader, org, member, day)

    async def _was_sent(self, org: Org, member: StaffMember, day: date, report: str) -> bool:
        query = select(_RUN.id).where(
            _RUN.org_id == org.id,
            _RUN.report == report,
            _RUN.day == day.isoformat(),
            _RUN.staff_id == member.id,
        )
        async with self.rt.sessions() as session:
            return (await execute(session, query)).first() is not None

    def _deliveries(
        self, org: Org, member: StaffMember, day: date, message: DigestMessage, now: datetime, report: str
    ) -> list[dict[str, Any]]:
        """One delivery per channel the manager can be reached on (each chat channel they have an
        identity on, and email); the console when there is none."""
        targets = [
            (d.channel, d.target) for d in self.rt.channels.reach(member, member.id) if d.channel != CONSOLE
        ]
        if self.email and member.email:
            targets.append(("email", member.email))
        payload = message.payload()
        return [
            outbox_row(
                org_id=org.id,
                channel=channel,
                kind=REPORT,
                target=target,
                now=now,
                payload=payload,
                dedupe_key=f"report:{report}:{org.id}:{day.isoformat()}:{member.id}:{channel}",
            )
            for channel, target in targets or [("console", member.id)]
        ]
