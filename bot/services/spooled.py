"""The use cases as the webhooks call them: straight into the database while it answers; into the
local spool (``bot.store.spool``) while it does not, to be replayed by ``bot.services.replay``.

``Spooler`` is the shared path; ``SpooledIntake`` the voice webhooks on it (the messaging ones are in
``bot.services.spooled_messages``). What the caller hears never depends on the database: the
organisation's configuration is in memory. Once one webhook finds the database unreachable, the
following ones go to the spool without trying it (the replayer says when it is back), so they are
answered at once and stay in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from bot.ports import Clock
from bot.services.calls import TERMINAL, Answer, CallInfo, CallIntake, CallStart, Saved
from bot.services.directory import Org
from bot.store.db import is_unreachable
from bot.store.spool import Spool

log = logging.getLogger("centralita.spool")
T = TypeVar("T")
Handler = Callable[[dict[str, Any], datetime], Awaitable[object]]
"""What replays one kind of spool line: the line and the time its webhook came."""
LIVE_WAIT_SECONDS = 5.0
"""How long a webhook waits for the database before it spools what it brought (Twilio waits 15 s
for the answer). The database work is not cancelled: if it completes later, the replay finds it done."""


class DatabaseState:
    """Whether this process takes the database to be unreachable, since when and why."""

    def __init__(self) -> None:
        self.down_since: datetime | None = None
        self.reason = ""

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def mark_down(self, at: datetime, error: BaseException) -> None:
        if self.down_since is None:
            self.down_since, self.reason = at, _describe(error)
            log.warning("database unreachable (%s): webhooks go to the spool until it is back", self.reason)

    def mark_up(self) -> None:
        if self.down_since is not None:
            log.info("database reachable again; webhooks are written straight to it")
        self.down_since, self.reason = None, ""


class Spooler:
    """A webhook's work, straight into the database while it answers; else the spool line that lets
    the replay do the same work later (``Replay``, by the line's ``kind``)."""

    def __init__(
        self, spool: Spool, state: DatabaseState, clock: Clock, wait: float = LIVE_WAIT_SECONDS
    ) -> None:
        self.spool, self.state, self.clock, self.wait = spool, state, clock, wait

    async def store(self, record: dict[str, Any], work: Callable[[], Awaitable[object]]) -> Saved:
        """``stored`` when ``work`` went in, ``spooled`` when ``record`` was written to the spool
        instead, ``lost`` when neither could be.

        Raises: any error of ``work`` other than an unreachable database."""
        if not self.state.down:
            try:
                await within(work(), self.wait)
                return "stored"
            except Exception as error:
                if not is_unreachable(error):
                    raise
                self.state.mark_down(self.clock.now(), error)
        return self._spool(record)

    def _spool(self, record: dict[str, Any]) -> Saved:
        try:
            self.spool.append(record)
        except OSError:
            log.exception("a %s webhook (%s) could not be spooled: it is lost", record["kind"], record["sid"])
            return "lost"
        return "spooled"


@dataclass(frozen=True)
class Reply:
    """A webhook of a known organisation's call, and where what it brought was written; ``holding``:
    the caller now waits on hold for a live transfer (only ever when it was written to the database)."""

    org: Org
    saved: Saved
    holding: bool = False


class SpooledIntake:
    def __init__(self, intake: CallIntake, spooler: Spooler) -> None:
        self.intake, self.spooler = intake, spooler
        self.directory = intake.rt.directory

    async def start(self, call: CallInfo) -> CallStart | None:
        at = self.intake.rt.clock.now()
        opening = self.intake.opening(call, at)
        if opening is None:
            return None
        saved = await self._store("start", call, at, {}, lambda: self.intake.start(call, at=at))
        return replace(opening, saved=saved)

    async def message(self, call: CallInfo, speech: str) -> Reply | None:
        at = self.intake.rt.clock.now()
        return await self._reply(
            "message", call, at, {"speech": speech}, lambda: self.intake.message(call, speech, at=at)
        )

    async def answer(self, call: CallInfo, speech: str) -> Reply | None:
        """``message`` for a caller still on the line: they may be put on hold for a live transfer.
        Spooled, it is a message like any other (nobody can be called for it now)."""
        at = self.intake.rt.clock.now()
        answered: list[Answer] = []

        async def work() -> None:
            found = await self.intake.answer(call, speech, at=at)
            if found is not None:
                answered.append(found)

        reply = await self._reply("message", call, at, {"speech": speech}, work)
        if reply is not None and reply.saved == "stored" and answered and answered[0].holding:
            return replace(reply, holding=True)
        return reply

    async def voicemail(self, call: CallInfo, url: str) -> Reply | None:
        at = self.intake.rt.clock.now()
        return await self._reply(
            "voicemail", call, at, {"recording_url": url}, lambda: self.intake.voicemail(call, url, at=at)
        )

    async def ended(self, call: CallInfo, status: str) -> Saved:
        if status not in TERMINAL or self.directory.by_number(call.to_number) is None:
            return "stored"  # nothing to write
        at = self.intake.rt.clock.now()
        return await self._store(
            "ended", call, at, {"status": status}, lambda: self.intake.ended(call, status, at=at)
        )

    async def _reply(
        self,
        kind: str,
        call: CallInfo,
        at: datetime,
        data: dict[str, Any],
        work: Callable[[], Awaitable[object]],
    ) -> Reply | None:
        org = self.directory.by_number(call.to_number)
        if org is None:
            return None
        return Reply(org, await self._store(kind, call, at, data, work))

    async def _store(
        self,
        kind: str,
        call: CallInfo,
        at: datetime,
        data: dict[str, Any],
        work: Callable[[], Awaitable[object]],
    ) -> Saved:
        return await self.spooler.store(entry(kind, call, at, data), work)

    def handlers(self) -> dict[str, Handler]:
        """How each kind of line ``_store`` spools is replayed: the same use case, at the same time."""
        intake = self.intake
        return {
            "start": lambda line, at: intake.start(_call(line), at=at),
            "message": lambda line, at: intake.message(_call(line), line["speech"], at=at),
            "voicemail": lambda line, at: intake.voicemail(_call(line), line["recording_url"], at=at),
            "ended": lambda line, at: intake.ended(_call(line), line["status"], at=at),
        }


_late: set[asyncio.Task[Any]] = set()


async def within(work: Awaitable[T], seconds: float) -> T:
    """``work``'s result, if it comes within ``seconds``; else TimeoutError. The work is not
    cancelled (a transaction cancelled halfway can strand its connection): it runs on in the
    background, and how it ends is only logged."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if done:
        return task.result()
    _late.add(task)
    task.add_done_callback(_late_done)
    raise TimeoutError(f"the database did not answer within {seconds:g}s")


def _late_done(task: asyncio.Task[Any]) -> None:
    _late.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.debug("late database work failed: %r", task.exception())


def spool_line(kind: str, sid: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """A spool line: which use case, when the webhook came, the platform's id of what it is about
    (CallSid, MessageSid) and what it brought."""
    return {"v": 1, "kind": kind, "at": at.isoformat(), "sid": sid, **data}


def entry(kind: str, call: CallInfo, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """A call's spool line: its facts and what the webhook brought."""
    return spool_line(kind, call.call_sid, at, {"from": call.from_number, "to": call.to_number, **data})


def _call(line: dict[str, Any]) -> CallInfo:
    return CallInfo(call_sid=line["sid"], from_number=line.get("from"), to_number=line.get("to"))


def _describe(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160]}" if text else type(error).__name__
