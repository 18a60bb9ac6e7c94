"""Replaying the spool into the database through the normal use cases, once it answers again.

Every use case of a call is idempotent on its CallSid (the call row is insert-or-ignore, a call has
one card, a recording or speech already on the card is not added again), and every messaging one on
its MessageSid (the message row is insert-or-ignore; a delivery status only moves a message
forward), so a line replayed twice, after a crash halfway through a file or when a webhook's own late
write went in too, changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text

from bot.services.runtime import Runtime
from bot.services.spooled import DatabaseState, Handler
from bot.store.db import is_unreachable
from bot.store.spool import FAILED, ClaimedFile, Spool

log = logging.getLogger("centralita.spool")
ROUNDS = 5
"""Rounds of one replay: each replays what was spooled while the previous one ran."""


class Unreachable(Exception):
    """The database is still unreachable: the replay stops and is tried again later."""


class Replay:
    def __init__(
        self, rt: Runtime, spool: Spool, state: DatabaseState, handlers: Mapping[str, Handler]
    ) -> None:
        """``handlers``: the use case that replays each ``kind`` of line."""
        self.rt, self.spool, self.state, self.handlers = rt, spool, state, handlers
        self._prepare: Callable[[], Awaitable[None]] | None = None

    async def prepare(self, work: Callable[[], Awaitable[None]]) -> None:
        """What must run on the database before anything is written to it (migrations, config
        sync): now, or, when the database is unreachable at start, before the first replay (the
        server starts anyway, and its webhooks go to the spool meanwhile).

        Raises: any error of ``work`` other than an unreachable database."""
        self._prepare = work
        if not await self._prepared():
            log.warning("the server starts without its database; it is prepared when it answers")

    async def _prepared(self) -> bool:
        if self._prepare is None:
            return True
        try:
            await self._prepare()
        except Exception as error:
            if not is_unreachable(error):
                raise
            self.state.mark_down(self.rt.clock.now(), error)
            return False
        self._prepare = None
        return True

    async def run(self) -> int:
        """Replay every spool file nobody holds (this process's own file is sealed first); the
        number of lines replayed. Webhooks keep coming to the spool until the database is taken as
        reachable again, so what came meanwhile is replayed too, for a few rounds; when all went in
        and nothing new was spooled since, webhooks go straight to the database again."""
        if not await self._prepared():
            return 0
        replayed = 0
        for _ in range(ROUNDS):
            self.spool.seal()
            done = await self._files()
            if done is None:
                return replayed  # still unreachable
            replayed += done
            if not self.spool.unsealed:
                break
        if self.state.down and (replayed or await self._reachable()) and not self.spool.unsealed:
            self.state.mark_up()  # no await since the last look: nothing was spooled in between
        return replayed

    async def _files(self) -> int | None:
        """One round over the files nobody holds; None when the database is still unreachable."""
        replayed = 0
        for path in self.spool.files():
            claimed = ClaimedFile.take(path)
            if claimed is None:
                continue  # its writer is alive, or another process replays it
            try:
                replayed += await self._file(claimed)
            except Unreachable:
                return None
            finally:
                claimed.release()
        return replayed

    async def _file(self, claimed: ClaimedFile) -> int:
        lines = claimed.lines()
        for line in lines:
            await self._line(line)
        claimed.remove()
        if lines:
            log.info("replayed %d spooled webhooks from %s", len(lines), claimed.path.name)
        return len(lines)

    async def _line(self, line: str) -> None:
        try:
            await self._dispatch(json.loads(line))
        except Exception as error:
            if is_unreachable(error):
                raise Unreachable from error
            log.exception("a spooled webhook could not be replayed; kept in %s", FAILED)
            self.spool.set_aside(line, f"{type(error).__name__}: {error}")

    async def _dispatch(self, record: dict[str, Any]) -> None:
        handler = self.handlers.get(record["kind"])
        if handler is None:
            raise ValueError(f"unknown spooled webhook kind {record['kind']!r}")
        await handler(record, datetime.fromisoformat(record["at"]))

    async def _reachable(self) -> bool:
        try:
            await self.rt.execute_alone(text("SELECT 1"))
        except Exception as error:
            if is_unreachable(error):
                return False
            raise
        return True
