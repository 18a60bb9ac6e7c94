"""INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import execute

# One statement per (dialect, table), values bound at execution: building and keying the statement
# anew for every webhook cost more than running it.
_STATEMENTS: dict[tuple[str, str], Any] = {}


async def insert_ignore(session: AsyncSession, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert one row unless it conflicts with a unique key; True when it was inserted."""
    result = await execute(session, insert_ignore_statement(dialect_of(session), model), values)
    return bool(result.rowcount)


def dialect_of(session: AsyncSession) -> str:
    """The name of the session's database dialect: ``sqlite`` or ``postgresql``."""
    return session.bind.dialect.name if session.bind else "sqlite"


def insert_ignore_statement(dialect: str, model: type[SQLModel]) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``model``'s table, for ``dialect``, values bound at
    execution."""
    table: Any = model.__table__  # type: ignore[attr-defined]
    statement = _STATEMENTS.get((dialect, table.name))
    if statement is None:
        insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
        statement = _STATEMENTS[(dialect, table.name)] = insert.on_conflict_do_nothing()
    return statement
