"""Engine and session factory: SQLite (WAL, one writer at a time) or PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import CursorResult, Executable, Row, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.sqlite_driver import InlineConnection, inline_creator

SessionFactory = async_sessionmaker[AsyncSession]
POSTGRES_POOL_SIZE = 20
"""Connections per process; two processes stay well inside PostgreSQL's default of 100."""
PING_IDLE_AFTER = 10.0
"""Seconds a PostgreSQL connection may sit in the pool before it is pinged on checkout."""
_RETURNED_AT = "centralita_returned_at"


def create_engine(url: str, *, connect_args: dict[str, Any] | None = None) -> AsyncEngine:
    """An async engine for ``url`` (already in its async form, see ``Settings.async_database_url``)."""
    if url.startswith("sqlite"):
        # One connection per process: SQLite has one writer at a time anyway, and transactions that
        # queue for the pool in asyncio cost nothing, while connections that race for the file lock
        # sleep in SQLite's busy handler (up to 100 ms a time) and serialise just the same.
        engine = create_async_engine(
            url,
            async_creator=inline_creator(url, connect_args or {}),
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            pool_reset_on_return=None,  # see _on_reset
        )
        _tune_sqlite(engine)
        return engine
    # A fixed pool: a connection costs milliseconds of CPU to open (TLS negotiation, startup), so
    # transactions beyond the pool wait for one in asyncio instead of opening and closing overflow
    # connections under load. No unit of work holds two connections, so waiting cannot deadlock.
    engine = create_async_engine(
        url,
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=0,
        pool_use_lifo=True,  # quiet hours use a few warm connections; the rest idle (and get pinged)
        pool_timeout=60,
        connect_args=connect_args or {},
    )
    _check_on_checkout(engine)
    return engine


def _check_on_checkout(engine: AsyncEngine) -> None:
    """What ``pool_pre_ping`` is for, without its cost on every transaction (with asyncpg it is three
    round trips: BEGIN, a ping, ROLLBACK). A connection the server closed, as on a restart, is
    replaced with no round trip at all: asyncpg reads the close while the connection sits in the
    pool. A connection idle for ``PING_IDLE_AFTER`` or longer, which a firewall may have dropped
    without a word, is pinged first."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if _closed(record.driver_connection):
            raise DisconnectionError("the database closed this connection")
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at >= PING_IDLE_AFTER:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as error:
                raise DisconnectionError("the idle connection did not answer a ping") from error


def _closed(driver: Any) -> bool:
    """Whether the driver already knows its connection is gone: asyncpg's ``is_closed()``,
    psycopg's ``closed`` or ``broken``."""
    is_closed = getattr(driver, "is_closed", None)
    if callable(is_closed):
        return bool(is_closed())
    return bool(getattr(driver, "closed", False) or getattr(driver, "broken", False))


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL for concurrent readers, and BEGIN IMMEDIATE so a transaction that reads then writes
    waits for the writer lock instead of failing with SQLITE_BUSY halfway through."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        assert isinstance(driver, InlineConnection)
        driver.begin_immediate_later()  # sent just before the transaction's first statement

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_conn: Any, _record: Any, state: Any) -> None:
        """Roll back a connection that comes back to the pool only if a transaction is still open
        (the pool's default rolls back every time)."""
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


async def execute_alone(engine: AsyncEngine, statement: Executable, params: Any = None) -> list[Row[Any]]:
    """One statement that is a whole unit of work, on a connection of its own (no ORM session); the
    rows it returns, if any. On PostgreSQL it runs in autocommit, so the statement is its own
    transaction without a BEGIN and a COMMIT round trip; on SQLite in the usual write transaction,
    whose BEGIN goes with the statement."""
    async with engine.connect() as connection:
        if is_postgres(engine):
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            return _rows(await autocommit.execute(statement, params))
        async with connection.begin():
            return _rows(await connection.execute(statement, params))


def _rows(result: CursorResult[Any]) -> list[Row[Any]]:
    return list(result.all()) if result.returns_rows else []


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


REPORT_POOL_SIZE = 2
"""Connections of the report engine: a digest and a calibration may run at once, no more is needed."""


def create_report_engine(url: str, *, connect_args: dict[str, Any] | None = None) -> AsyncEngine:
    """A second, read-only engine for heavy reads (digest, weekly review, calibration) that must not
    hold up the request path (see docs/decisions.md, "Heavy reads").

    SQLite: the stock aiosqlite driver, which runs every statement on a thread of its own, on a
    read-only connection (``mode=ro``), instead of the inline driver that runs on the event loop's
    thread. PostgreSQL: a small pool of its own, so a long report never takes a connection the
    webhooks wait for, with every transaction read-only."""
    if url.startswith("sqlite"):
        return create_async_engine(
            read_only_sqlite_url(url),
            pool_size=REPORT_POOL_SIZE,
            max_overflow=0,
            connect_args=connect_args or {},
        )
    return create_async_engine(
        url,
        pool_size=REPORT_POOL_SIZE,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args=_read_only_postgres(url, connect_args or {}),
    )


def _read_only_postgres(url: str, connect_args: dict[str, Any]) -> dict[str, Any]:
    """Connection arguments that make every transaction read-only (a session setting, sent when the
    connection opens: a ``SET`` from a connect event would sit in a transaction that is rolled back)."""
    if "+asyncpg" in url:
        server = {**connect_args.get("server_settings", {}), "default_transaction_read_only": "on"}
        return {**connect_args, "server_settings": server}
    # The ``options`` argument replaces the URL's own (``?options=-csearch_path=…``): keep both.
    named = make_url(url).query.get("options", "")
    given = [*(named if isinstance(named, tuple) else [named]), connect_args.get("options", "")]
    options = " ".join([*filter(None, given), "-c default_transaction_read_only=on"])
    return {**connect_args, "options": options}


def read_only_sqlite_url(url: str) -> str:
    """``sqlite+aiosqlite:///path.db`` → the same file opened read-only (a SQLite URI)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if database.startswith("file:"):
        return url
    return parsed.set(
        database=f"file:{database}", query={**parsed.query, "mode": "ro", "uri": "true"}
    ).render_as_string(hide_password=False)


_UNREACHABLE_SQLSTATE_CLASSES = ("08", "57")
"""Connection exceptions, and operator intervention (shutting down, starting up, crashed)."""


def is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached or used right now (refused or dropped
    connections, a server shutting down or starting up, a locked or unwritable SQLite file, no free
    connection in time), as opposed to a statement it refused (a constraint, bad data, a bug)."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeoutError | DisconnectionError):
        return True
    if isinstance(error, DBAPIError):
        sqlstate = str(getattr(error.orig, "sqlstate", "") or "")
        return error.connection_invalidated or sqlstate[:2] in _UNREACHABLE_SQLSTATE_CLASSES
    return isinstance(error, OSError | TimeoutError)
