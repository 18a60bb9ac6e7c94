"""The organisations a sweep looks at: those this deployment serves.

The rows of an organisation removed from the configuration stay where they are: a sweep never
selects them (so they neither fill a batch nor block the others), and says so once per process."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from bot.services.runtime import Runtime

log = logging.getLogger("centralita.served")


class Served:
    """``filter``: the condition a sweep adds to its query. ``warn_once``: a warning per removed
    organisation that still has rows the sweep would have handled; ``message`` takes the count and
    the organisation's id."""

    def __init__(self, rt: Runtime, org_column: Any, message: str) -> None:
        self.rt = rt
        self._org_column = org_column
        self._message = message
        self._warned = False

    @property
    def filter(self) -> Any:
        """Built on each use: a configuration reload may change the organisations served."""
        return self._org_column.in_(self.rt.directory.ids)

    async def warn_once(self, *pending: Any) -> None:
        """Once per process (an organisation removed by a reload is not warned about again)."""
        if self._warned:
            return
        self._warned = True
        column = self._org_column
        query = select(column, func.count()).where(*pending, ~self.filter).group_by(column)
        async with self.rt.sessions() as session:
            for org_id, count in (await session.exec(query)).all():
                log.warning(self._message, count, org_id)
