"""The startup sync of the organisations' configuration into the database."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.app import create_app
from bot.config import load_config
from bot.services.runtime import Runtime
from bot.services.sync import sync_config
from bot.store.migrate import upgrade_async
from bot.store.models import Contact, Staff
from tests.support import FIXTURES, Database, FakeClock, settings_for


def _runtime(db: Database, clock: FakeClock) -> Runtime:
    app = create_app(
        settings_for(db, "http://127.0.0.1:9", None),
        configs=[load_config(FIXTURES / "clinic.yaml")],
        clock=clock,
        connect_args=db.connect_args,
    )
    runtime: Runtime = app.state.services.runtime
    return runtime


async def test_processes_starting_together_on_postgresql_sync_one_at_a_time(
    postgres: Database, clock: FakeClock
) -> None:
    await upgrade_async(postgres.url, connect_args=postgres.connect_args)
    runtimes = [_runtime(postgres, clock) for _ in range(4)]
    try:
        for _ in range(5):
            await asyncio.gather(*(sync_config(rt) for rt in runtimes))
    finally:
        for rt in runtimes:
            await rt.sessions.kw["bind"].dispose()
    staff = await postgres.query(select(Staff.id).order_by(Staff.id))
    assert staff == ["ana", "luis", "marta", "rocio"]
    [ana] = await postgres.query(select(Staff.identities).where(Staff.id == "ana"))
    assert ana == {"console": "ana", "slack": "U0ANA", "whatsapp": "+34600000001", "sms": "+34600000001"}
    assert len(await postgres.query(select(Contact))) == 2
