"""aiosqlite with one trip to its thread per statement.

aiosqlite runs every sqlite3 call on its own thread, and SQLAlchemy's adapter makes four such calls
per statement (open a cursor, execute, fetch, close), plus one for each ``BEGIN``. Each trip costs a
queue hand-off, a thread switch under the GIL and an event-loop wake-up: far more than the statement
itself on a local file.
``OneTripConnection`` is aiosqlite's connection whose cursors do all four in one trip and keep the
rows; everything else (the thread, transactions, closing) is aiosqlite's own. It relies on
``Connection._execute`` and ``Connection._conn``, which is why aiosqlite is pinned.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url

Description = tuple[tuple[Any, ...], ...] | None


class OneTripCursor:
    """The cursor SQLAlchemy's aiosqlite adapter drives: ``execute`` runs, fetches and closes in one
    trip; ``fetch*`` and ``close`` then cost nothing."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> OneTripCursor:
        outcome = await self._connection.run_in_thread(_execute, sql, parameters)
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneTripCursor:
        outcome = await self._connection.run_in_thread(_executemany, sql, parameters)
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
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


class OneTripConnection(aiosqlite.Connection):
    """Also folds ``BEGIN IMMEDIATE`` into the transaction's first statement's trip, and skips the
    trip for committing or rolling back a transaction that never ran a statement."""

    _begin_pending = False

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    def begin_immediate_later(self) -> None:
        """Start a write transaction with the next statement (in the same trip to the thread)."""
        self._begin_pending = True

    async def commit(self) -> None:
        if self._begin_pending:
            self._begin_pending = False
            return
        await super().commit()

    async def rollback(self) -> None:
        if self._begin_pending:
            self._begin_pending = False
            return
        await super().rollback()

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (read while the connection is idle in the pool)."""
        return bool(self._conn.in_transaction)

    async def run_in_thread(self, work: Any, *args: Any) -> Any:
        """``work(sqlite3_connection, *args)`` on the connection's thread."""
        if self._begin_pending:
            self._begin_pending = False
            return await self._execute(_begun, work, self._conn, *args)  # type: ignore[no-untyped-call]
        return await self._execute(work, self._conn, *args)  # type: ignore[no-untyped-call]


def _begun(work: Any, connection: sqlite3.Connection, *args: Any) -> Any:
    connection.execute("BEGIN IMMEDIATE")
    return work(connection, *args)


def _execute(connection: sqlite3.Connection, sql: str, parameters: Any) -> tuple[Any, ...]:
    return _run(connection, sql, parameters, many=False)


def _executemany(connection: sqlite3.Connection, sql: str, parameters: Any) -> tuple[Any, ...]:
    return _run(connection, sql, parameters, many=True)


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, *, many: bool) -> tuple[Any, ...]:
    """On the connection's thread: execute, fetch every row, close; what the cursor then shows."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def one_trip_creator(url: str, connect_args: dict[str, Any]) -> Any:
    """An ``async_creator`` for ``create_async_engine``: what ``sqlite+aiosqlite`` would open for
    ``url`` (same file, same sqlite3 arguments), as a ``OneTripConnection``."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    connector = partial(sqlite3.connect, *args, **{**kwargs, **connect_args})

    async def create() -> OneTripConnection:
        connection = OneTripConnection(connector, 64)
        await connection  # starts its thread and connects
        return connection

    return create
