"""INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


async def insert_ignore(session: AsyncSession, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert one row unless it conflicts with a unique key; True when it was inserted."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    table: Any = model.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    result = await session.exec(insert.values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)
