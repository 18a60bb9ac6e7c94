"""SQLite on the event loop's own thread.

SQLAlchemy's async engine needs an async driver, and aiosqlite is the one its ``sqlite+aiosqlite``
dialect drives. aiosqlite runs every sqlite3 call on a thread of its own; each trip there is a queue
hand-off, a thread switch under the GIL and an event-loop wake-up, which costs far more than a
statement on a local WAL file (tens of microseconds). ``InlineConnection`` offers the interface that
SQLAlchemy's aiosqlite adapter uses (``cursor``, ``commit``, ``rollback``, ``close``, ``stop``,
``create_function``, ``_conn``, ``_tx``) and runs each call right away on the calling thread.

One thing may take long: the write lock, when another process holds it. The connection's busy
timeout is therefore short (``BUSY_BLOCK``, the longest the loop is held up), and ``BEGIN IMMEDIATE``
is retried after asyncio sleeps, so the server keeps serving while it waits, until ``LOCK_TIMEOUT``.
In WAL mode nothing else waits for a lock: readers never block, and a transaction that holds the
write lock from its start is not refused halfway.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url

BUSY_BLOCK = 0.005
"""Seconds one attempt at a lock may block the event loop (sqlite3's busy timeout)."""
LOCK_TIMEOUT = 30.0
"""Seconds a transaction waits for another process's write lock before it fails."""
RETRY_DELAYS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)
"""Sleeps between attempts at the write lock; the last one repeats."""

Description = tuple[tuple[Any, ...], ...] | None


class InlineCursor:
    """The cursor SQLAlchemy's adapter drives: ``execute`` runs, fetches every row and closes the
    sqlite3 cursor; ``fetch*`` then hand out those rows."""

    arraysize = 1

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        return await self._run(sql, parameters, many=False)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> InlineCursor:
        return await self._run(sql, parameters, many=True)

    async def _run(self, sql: str, parameters: Any, *, many: bool) -> InlineCursor:
        await self._connection.begin_if_pending()
        cursor = self._connection.run(sql, parameters, many=many)
        try:
            self.description = cursor.description
            self._rows = cursor.fetchall() if cursor.description else []
            self.rowcount, self.lastrowid = cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = size or self.arraysize
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def close(self) -> None:
        self._rows = []

    async def setinputsizes(self, *sizes: Any) -> None:
        return None


class RunNow:
    """What SQLAlchemy's adapter takes for aiosqlite's work queue (it sets the isolation level
    through it): the work runs at once and its future gets the result."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, work = item
        try:
            result = work()
        except Exception as error:
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection:
    """A sqlite3 connection behind aiosqlite's async interface, without aiosqlite's thread.

    ``begin_immediate_later`` (called from the engine's ``begin`` event) makes the transaction's first
    statement take the write lock first; a transaction that never runs a statement costs nothing."""

    _tx = RunNow()

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._begin_pending = False

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("Connection closed")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (read while the connection is idle in the pool)."""
        return self._connection is not None and self._connection.in_transaction

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    def begin_immediate_later(self) -> None:
        self._begin_pending = True

    async def begin_if_pending(self) -> None:
        """``BEGIN IMMEDIATE`` if the transaction has not started yet, waiting (without blocking the
        loop) while another process holds the write lock."""
        if not self._begin_pending:
            return
        self._begin_pending = False
        deadline = time.monotonic() + LOCK_TIMEOUT
        for attempt in itertools.count():
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                if not _is_busy(error) or time.monotonic() + delay > deadline:
                    raise
            await asyncio.sleep(delay)

    def run(self, sql: str, parameters: Any, *, many: bool) -> sqlite3.Cursor:
        cursor = self._conn.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
        except BaseException:
            cursor.close()
            raise
        return cursor

    async def commit(self) -> None:
        if self._begin_pending:
            self._begin_pending = False
            return
        self._conn.commit()

    async def rollback(self) -> None:
        if self._begin_pending:
            self._begin_pending = False
            return
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def inline_creator(url: str, connect_args: dict[str, Any]) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: what ``sqlite+aiosqlite`` would open for
    ``url`` (same file, same sqlite3 arguments), as an ``InlineConnection`` in autocommit mode (the
    engine's ``begin`` event starts each transaction)."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    options = {**kwargs, **connect_args, "timeout": BUSY_BLOCK, "isolation_level": None}
    connect = partial(sqlite3.connect, *args, **options)

    async def create() -> InlineConnection:
        return InlineConnection(connect())

    return create
