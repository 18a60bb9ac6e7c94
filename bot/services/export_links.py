"""One-time links to download a privacy export, for channels whose bots cannot hand over a file
(Teams). The link carries a random token; the database keeps only its SHA-256, with the number, the
organisation and who asked. The first download deletes the row (one statement: two downloads at
once give one file), runs the export then, and audits it; an expired link gives nothing."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select

from bot.services.privacy import Privacy
from bot.services.runtime import Runtime
from bot.store.db import execute
from bot.store.models import ExportLink

LINK_LIFETIME = timedelta(minutes=15)
PATH = "/privacy/export/"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ExportLinks:
    def __init__(self, rt: Runtime, privacy: Privacy, public_url: str) -> None:
        self.rt, self.privacy, self.base = rt, privacy, public_url.rstrip("/") + PATH

    @property
    def minutes(self) -> int:
        return int(LINK_LIFETIME.total_seconds() // 60)

    async def make(self, org_id: str, number: str, actor: str) -> str:
        """A new link to ``number``'s export in ``org_id``; expired links are swept meanwhile."""
        token, now = secrets.token_urlsafe(32), self.rt.clock.now()
        async with self.rt.unit_of_work() as session:
            await execute(session, delete(ExportLink).where(col(ExportLink.expires_at) <= now))
            session.add(
                ExportLink(
                    token_hash=_hash(token),
                    org_id=org_id,
                    number=number,
                    actor=actor[:64],
                    expires_at=now + LINK_LIFETIME,
                )
            )
        return self.base + token

    async def take(self, token: str) -> dict[str, Any] | None:
        """The export behind ``token``, once; None when the link is unknown, used or expired (or
        nothing is stored about the number any more)."""
        hashed = _hash(token)
        async with self.rt.unit_of_work() as session:
            link = (await session.exec(select(ExportLink).where(ExportLink.token_hash == hashed))).first()
            if link is None:
                return None
            taken = await execute(session, delete(ExportLink).where(col(ExportLink.token_hash) == hashed))
            fresh = link.expires_at > self.rt.clock.now()
            org_id, number, actor = link.org_id, link.number, link.actor
        if int(taken.rowcount) != 1 or not fresh:
            return None
        return await self.privacy.export(number, orgs=[org_id], actor=actor)
