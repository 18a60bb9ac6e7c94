"""What a text column can hold, read from the models, and held to on SQLite as PostgreSQL holds it.

PostgreSQL refuses a value longer than its ``VARCHAR(n)`` and any text with a NUL in it; SQLite
stores both without a word. So every text column gets, on SQLite only, one CHECK that says the same
(its length, no NUL), derived from the column's declared length: a test on SQLite fails where
PostgreSQL would. A SQLite database gets them after every upgrade (``hold_sqlite_text``, from the
columns as the migrations declared them), so no migration has to list them. ``fitted`` cuts values
from outside to their column's length where a limit must apply and the row must still be written
(a caller's address: the call is never lost for it).
"""

from __future__ import annotations

from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection, String, TypeDecorator, inspect, text
from sqlmodel import SQLModel

_ALEMBIC = "alembic_version"


def check_name(table: str, column: str) -> str:
    return f"ck_{table}_{column}_storable"


def storable_condition(column: str, length: int | None) -> str:
    """The SQLite condition for a text column: at most ``length`` characters (when it has one), no NUL."""
    quoted = f'"{column}"'
    no_nul = f"instr({quoted}, char(0)) = 0"
    return f"length({quoted}) <= {length} AND {no_nul}" if length else no_nul


def hold_sqlite_text(connection: Connection) -> None:
    """Give every text column of this SQLite database the CHECK its declared type calls for (added,
    or replaced when the column's length changed); a value stored before that the CHECK refuses is
    cleaned first (NUL removed, cut to length). Tables already right are left alone."""
    inspector = inspect(connection)
    operations = Operations(MigrationContext.configure(connection))
    for table in inspector.get_table_names():
        if table == _ALEMBIC:
            continue
        present = {str(c["name"]): c["sqltext"] for c in inspector.get_check_constraints(table)}
        wanted = {
            check_name(table, c["name"]): (c["name"], c["type"].length)
            for c in inspector.get_columns(table)
            if isinstance(c["type"], String)
        }
        stale = {n: w for n, w in wanted.items() if present.get(n) != storable_condition(*w)}
        if stale:
            _recheck(connection, operations, table, stale, present)


def _recheck(
    connection: Connection,
    operations: Operations,
    table: str,
    stale: dict[str, tuple[str, int | None]],
    present: dict[str, str],
) -> None:
    for column, length in stale.values():
        _clean_refused(connection, table, column, length)
    with operations.batch_alter_table(table, recreate="always") as batch:
        for name, (column, length) in stale.items():
            if name in present:
                batch.drop_constraint(name, type_="check")
            batch.create_check_constraint(name, storable_condition(column, length))


def _clean_refused(connection: Connection, table: str, column: str, length: int | None) -> None:
    """In Python: SQLite's own string functions stop at a NUL."""
    refused = f'SELECT rowid, "{column}" FROM "{table}" WHERE NOT ({storable_condition(column, length)})'
    update = text(f'UPDATE "{table}" SET "{column}" = :value WHERE rowid = :rowid')
    for rowid, value in connection.execute(text(refused)).all():
        connection.execute(update, {"value": value.replace("\x00", "")[:length], "rowid": rowid})


def column_length(model: type[SQLModel], column: str) -> int | None:
    """The most characters ``model``'s ``column`` holds; None when it has no limit."""
    kind = model.__table__.c[column].type  # type: ignore[attr-defined]
    if isinstance(kind, TypeDecorator):  # SQLModel's AutoString wraps a String
        kind = kind.impl_instance
    return kind.length if isinstance(kind, String) else None


def fitted(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every text cut to its column's length."""
    return {name: _fit(model, name, value) for name, value in values.items()}


def _fit(model: type[SQLModel], name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    length = column_length(model, name)
    return value[:length] if length is not None else value
