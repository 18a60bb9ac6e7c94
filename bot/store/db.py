"""Engine and session factory: SQLite (WAL, one writer at a time) or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import CursorResult, Executable, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.sqlite_driver import OneTripConnection, one_trip_creator

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(url: str, *, connect_args: dict[str, Any] | None = None) -> AsyncEngine:
    """An async engine for ``url`` (already in its async form, see ``Settings.async_database_url``)."""
    if url.startswith("sqlite"):
        # One connection per process: SQLite has one writer at a time anyway, and transactions that
        # queue for the pool in asyncio cost nothing, while connections that race for the file lock
        # sleep in SQLite's busy handler (up to 100 ms a time) and serialise just the same.
        engine = create_async_engine(
            url,
            async_creator=one_trip_creator(url, {"timeout": 30, **(connect_args or {})}),
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            pool_reset_on_return=None,  # see _on_reset
        )
        _tune_sqlite(engine)
        return engine
    return create_async_engine(
        url, pool_size=10, max_overflow=20, pool_pre_ping=True, connect_args=connect_args or {}
    )


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL for concurrent readers, and BEGIN IMMEDIATE so a transaction that reads then writes
    waits for the writer lock instead of failing with SQLITE_BUSY halfway through."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        if isinstance(driver, OneTripConnection):
            driver.begin_immediate_later()  # sent with the transaction's first statement
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_conn: Any, _record: Any, state: Any) -> None:
        """Roll back a connection that comes back to the pool only if a transaction is still open
        (the pool's default rolls back every time: one more trip to the SQLite thread per unit of work)."""
        if state.asyncio_safe and dbapi_conn.driver_connection.in_transaction:
            dbapi_conn.rollback()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with sessions() as session, session.begin():
        yield session


async def execute(session: AsyncSession, statement: Executable, params: Any = None) -> CursorResult[Any]:
    """A Core statement in the session's transaction, straight on its connection: about 75 µs less
    than ``session.exec`` per statement, which matters on the webhook paths. Unlike ``session.exec``
    it does not flush pending ORM objects first, so use it where the statement does not depend on
    rows added with ``session.add`` in the same transaction."""
    connection = await session.connection()
    return await connection.execute(statement, params)


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
