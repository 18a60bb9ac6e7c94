"""Mirror the organisations' configuration (organisation, staff, contacts) into the database."""

from __future__ import annotations

from sqlalchemy import delete, text
from sqlmodel import col

from bot.domain.org import OrgConfig
from bot.services.runtime import Runtime
from bot.store.db import execute
from bot.store.models import Contact, Organization, Staff

# Processes starting together on PostgreSQL sync one at a time (the migrations' lock is 7210531).
_SYNC_LOCK = text("SELECT pg_advisory_xact_lock(7210532)")


async def sync_config(rt: Runtime) -> None:
    """Replace each organisation's staff and contacts with what its config says (one transaction)."""
    now = rt.clock.now()
    async with rt.sessions() as session, session.begin():
        if rt.postgres:  # held until this transaction ends
            await execute(session, _SYNC_LOCK)
        for org in rt.directory:
            config: OrgConfig = org.config
            o = config.organization
            await session.merge(
                Organization(id=o.id, name=o.name, timezone=o.timezone, locale=o.locale, updated_at=now)
            )
            await session.exec(delete(Staff).where(col(Staff.org_id) == o.id))
            await session.exec(delete(Contact).where(col(Contact.org_id) == o.id))
            for s in config.staff:
                session.add(
                    Staff(
                        org_id=o.id,
                        id=s.id,
                        name=s.name,
                        roles=list(s.roles),
                        identities=s.identities(),
                        phone=s.phone,
                    )
                )
            for c in config.contacts:
                session.add(
                    Contact(
                        org_id=o.id,
                        name=c.name,
                        phone=c.phone,
                        company=c.company,
                        tags=list(c.tags),
                        owner_id=c.owner,
                    )
                )
