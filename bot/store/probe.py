"""Is the database there? One connection and ``SELECT 1``, for the start of ``serve`` and ``worker``."""

from __future__ import annotations

import socket
import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.store.db import create_engine

PROBE_TIMEOUT = 10.0
# PostgreSQL refusing who we are (28…: password, role) or the database name (3D000).
_LASTING_SQLSTATES = ("28", "3D000")


@dataclass(frozen=True)
class DatabaseProblem:
    text: str
    """Which database, and what went wrong."""
    lasting: bool
    """A mistake in DATABASE_URL (unknown host, database or role, wrong password, a SQLite file
    that cannot be opened), not an outage: waiting will not fix it."""

    def __str__(self) -> str:
        return self.text


async def database_problem(url: str, *, connect_args: dict[str, Any] | None = None) -> DatabaseProblem | None:
    """None when the database answers; else what went wrong."""
    engine = create_engine(url, connect_args={"timeout": PROBE_TIMEOUT, **(connect_args or {})})
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # whatever the driver raises, the installer needs its message
        return DatabaseProblem(
            f"cannot reach the database at {shown(url)}: {_reason(error)}", _lasting(error)
        )
    finally:
        await engine.dispose()
    return None


def _lasting(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(8):  # SQLAlchemy wraps the driver's error, which wraps asyncpg's
        if seen is None:
            return False
        if isinstance(seen, socket.gaierror | sqlite3.OperationalError):
            return True
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_LASTING_SQLSTATES):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def shown(url: str) -> str:
    """The URL without its password, in the form people write it."""
    plain = make_url(url).set(drivername=make_url(url).get_backend_name())
    return plain.render_as_string(hide_password=True)


def _reason(error: Exception) -> str:
    cause = getattr(error, "orig", None) or error
    text_ = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return text_[:300]


async def migration_problem(url: str, *, connect_args: dict[str, Any] | None = None) -> str | None:
    """None when the database is at the newest migration; else which one it is at."""
    from alembic.script import ScriptDirectory

    from bot.store.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(url, connect_args=connect_args)
    try:
        async with engine.connect() as connection:
            current = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception:  # no alembic_version table: never migrated
        current = None
    finally:
        await engine.dispose()
    if current == head:
        return None
    at = current or "none"
    return f"at migration {at}, the newest is {head}: run `centralita db upgrade` (serve does it at start)"
