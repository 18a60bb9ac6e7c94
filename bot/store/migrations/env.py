"""Alembic environment: runs migrations on the async engine given by ``bot.store.migrate``."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401  (registers the tables on the metadata)
from bot.store.db import create_engine
from bot.store.limits import hold_sqlite_text

target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table_schema=context.config.attributes.get("schema"),
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # replicas starting together migrate one at a time
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7210531)")
        context.run_migrations()
        if connection.dialect.name == "sqlite":  # its CHECKs follow the columns the migrations declared
            hold_sqlite_text(connection)


async def _run_async() -> None:
    url: str = context.config.get_main_option("sqlalchemy.url") or ""
    connect_args: dict[str, Any] = context.config.attributes.get("connect_args") or {}
    engine = create_engine(url, connect_args=connect_args)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `centralita db upgrade`")
asyncio.run(_run_async())
