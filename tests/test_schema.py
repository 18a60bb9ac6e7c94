"""The schema the migrations build: it matches the models, and SQLite holds text as PostgreSQL does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from bot.store.limits import check_name, column_length, storable_condition
from bot.store.migrate import alembic_config, upgrade_async
from bot.store.models import Call
from tests.support import Database


def _sync_url(db: Database) -> str:
    return db.url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")


def _engine(db: Database) -> sa.Engine:
    schema = db.connect_args.get("server_settings", {}).get("search_path")
    options = {"options": f"-csearch_path={schema}"} if schema else {}
    return sa.create_engine(_sync_url(db), connect_args=options)


def _call(**values: Any) -> dict[str, Any]:
    base = {"org_id": "default", "call_sid": "CA" + "0" * 32, "in_hours": True, "status": "answered"}
    return {**base, "started_at": datetime(2026, 11, 24, 9, tzinfo=UTC), **values}


def _insert(engine: sa.Engine, values: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(Call.__table__.insert(), values)  # type: ignore[attr-defined]


async def test_the_migrations_build_what_the_models_declare(db: Database) -> None:
    await upgrade_async(db.url, connect_args=db.connect_args)
    engine = _engine(db)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            changes = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert changes == []


async def test_sqlite_checks_every_text_column_as_postgresql_would(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/c.db")
    await upgrade_async(db.url)
    engine = _engine(db)
    try:
        inspector = sa.inspect(engine)
        for table in SQLModel.metadata.tables.values():
            checks = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)}
            for column in table.columns:
                if isinstance(column.type, sa.String | sa.types.TypeDecorator) and _is_text(column):
                    length = _length(table.name, column.name)
                    expected = storable_condition(column.name, length)
                    assert checks.get(check_name(table.name, column.name)) == expected, column
    finally:
        engine.dispose()


def _is_text(column: sa.Column[Any]) -> bool:
    kind = column.type.impl_instance if isinstance(column.type, sa.types.TypeDecorator) else column.type
    return isinstance(kind, sa.String)


def _length(table: str, column: str) -> int | None:
    model = next(m for m in SQLModel.__subclasses__() if getattr(m, "__tablename__", None) == table)
    return column_length(model, column)


async def test_both_databases_refuse_what_does_not_fit_and_take_a_sip_address(db: Database) -> None:
    await upgrade_async(db.url, connect_args=db.connect_args)
    engine = _engine(db)
    try:
        sip = "sip:" + "r" * 200 + "@clinica-ejemplo.sip.twilio.com"
        _insert(engine, _call(from_number=sip[:255], to_number="client:agent_ana"))
        for refused in (
            _call(call_sid="CA" + "1" * 32, from_number="x" * 256),
            _call(call_sid="CA" + "2" * 32, status="s" * 25),
            _call(call_sid="CA" + "3" * 32, from_number="+34\x00600"),
        ):
            with pytest.raises(DBAPIError):
                _insert(engine, refused)
    finally:
        engine.dispose()


def _without_checks(engine: sa.Engine, table: str) -> None:
    with engine.begin() as connection:
        names = [c["name"] for c in sa.inspect(connection).get_check_constraints(table)]
        with Operations(MigrationContext.configure(connection)).batch_alter_table(table) as batch:
            for name in names:
                batch.drop_constraint(name, type_="check")


async def test_an_older_sqlite_database_is_cleaned_when_it_gets_its_checks(tmp_path: Path) -> None:
    """Rows SQLite took before the checks existed (a NUL, a caller cut to nothing) are cleaned, not lost."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/c.db")
    await asyncio.to_thread(command.upgrade, alembic_config(db.url), "0005")
    engine = _engine(db)
    try:
        _without_checks(engine, "call")  # as main's databases were before these checks
        _insert(engine, _call(from_number="+34600\x00111222", status="completed"))
        await upgrade_async(db.url)
        with engine.connect() as connection:
            row = connection.execute(sa.text("SELECT from_number, status FROM call")).one()
        assert tuple(row) == ("+34600111222", "completed")
        await asyncio.to_thread(command.downgrade, alembic_config(db.url), "0005")
        await upgrade_async(db.url)
    finally:
        engine.dispose()
