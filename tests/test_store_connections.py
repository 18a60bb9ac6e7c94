"""The database connections: SQLite runs on the event loop's thread, and waiting for another
process's write lock must not stop the loop; PostgreSQL connections that the server closed (a
restart) are replaced before a transaction uses them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from sqlalchemy import text

from bot.store.db import create_engine
from tests.support import Database


async def test_a_writer_waits_for_another_connections_lock_without_blocking_the_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/lock.db"
    holder_engine, waiter_engine = create_engine(url), create_engine(url)  # two processes, in effect
    try:
        async with holder_engine.begin() as conn:
            await conn.execute(text("CREATE TABLE entry (who TEXT)"))
        held, release = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with holder_engine.begin() as conn:
                await conn.execute(text("INSERT INTO entry VALUES ('holder')"))
                held.set()
                await release.wait()

        async def waiter() -> None:
            async with waiter_engine.begin() as conn:
                await conn.execute(text("INSERT INTO entry VALUES ('waiter')"))

        holding = asyncio.create_task(holder())
        await held.wait()
        waiting = asyncio.create_task(waiter())
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.sleep(0.1)
        assert loop.time() - started < 1.0, "waiting for the lock blocked the event loop"
        assert not waiting.done(), "the second writer got in while the first held the lock"
        release.set()
        await asyncio.wait_for(asyncio.gather(holding, waiting), timeout=10)

        async with waiter_engine.connect() as conn:
            rows = (await conn.execute(text("SELECT who FROM entry ORDER BY rowid"))).scalars().all()
        assert rows == ["holder", "waiter"]
    finally:
        await holder_engine.dispose()
        await waiter_engine.dispose()


async def test_connections_closed_by_a_database_restart_are_replaced(postgres: Database) -> None:
    db = postgres
    name = "centralita-restart-test"
    settings = {**db.connect_args["server_settings"], "application_name": name}
    engine = create_engine(db.url, connect_args={"server_settings": settings})
    try:

        async def one() -> int:
            async with engine.connect() as conn:
                return int((await conn.execute(text("SELECT 1"))).scalar_one())

        assert await asyncio.gather(one(), one(), one()) == [1, 1, 1]  # three pooled connections
        admin = await asyncpg.connect(db.url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            query = "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE application_name = $1"
            assert await admin.fetchval(query, name) == 3
        finally:
            await admin.close()
        await asyncio.sleep(0.05)  # a real restart takes far longer: by then the loop has read the close

        assert [await one() for _ in range(4)] == [1, 1, 1, 1]
    finally:
        await engine.dispose()
