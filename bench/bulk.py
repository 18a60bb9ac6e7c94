"""Set-based seeding: one ``INSERT … SELECT`` over a series of numbers ``n`` (``generate_series`` on
PostgreSQL, a recursive CTE on SQLite), so a million rows take seconds, not minutes of round trips.
The helpers give the SQL expressions that differ between the two databases."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_series(kind: str, table: str, columns: str, values: str, count: int) -> str:
    """``INSERT INTO table (columns) SELECT values`` for ``n`` = 1 … ``count``."""
    if kind == "postgres":
        return f"INSERT INTO {table} ({columns}) SELECT {values} FROM generate_series(1, {count}) AS s(n)"
    return (
        f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count})"
        f" INSERT INTO {table} ({columns}) SELECT {values} FROM s"
    )


def moment(kind: str, epoch: str) -> str:
    """A UTC moment ``epoch`` (an SQL expression, seconds since 1970), as the column stores it."""
    if kind == "postgres":
        return f"to_timestamp({epoch})"
    return f"strftime('%Y-%m-%d %H:%M:%S', {epoch}, 'unixepoch')"


def later(kind: str, column: str, minutes: str) -> str:
    """``column`` plus ``minutes`` (an SQL expression) minutes."""
    if kind == "postgres":
        return f"{column} + ({minutes}) * interval '1 minute'"
    return f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+' || ({minutes}) || ' minutes')"


def padded(kind: str, number: str, width: int) -> str:
    """``number`` as text, zero-padded to ``width`` digits."""
    if kind == "postgres":
        return f"lpad(CAST({number} AS TEXT), {width}, '0')"
    return f"substr('{'0' * width}' || {number}, -{width}, {width})"


def false(kind: str) -> str:
    return "false" if kind == "postgres" else "0"


async def analyze(connection: AsyncConnection, kind: str, *tables: str) -> None:
    """Fresh statistics, as autovacuum would gather them later, so the planner sees the rows."""
    for table in tables if kind == "postgres" else ("",):
        await connection.execute(text(f"ANALYZE {table}".strip()))
