"""Fresh databases for each server: a new SQLite file, or a new schema in the real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from tests.support import Database

POSTGRES_URL = os.environ.get(
    "CENTRALITA_BENCH_POSTGRES_URL",
    os.environ.get("CENTRALITA_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test"),
)
KINDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class DbSlot:
    """One server's database: its async URL and, on PostgreSQL, its own schema."""

    kind: str
    url: str
    schema: str | None = None

    @property
    def connect_args(self) -> dict[str, Any]:
        return {"server_settings": {"search_path": self.schema}} if self.schema else {}

    def cli_args(self) -> list[str]:
        return ["--db", self.url, *(["--schema", self.schema] if self.schema else [])]

    def database(self) -> Database:
        return Database(self.url, self.connect_args, self.kind)


def plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    try:
        connection = await asyncpg.connect(plain_dsn(POSTGRES_URL), timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        return f"{type(error).__name__}: {error}"
    await connection.close()
    return None


@dataclass
class Databases:
    """Hands out fresh databases named after their server; each is removed when its block ends."""

    workdir: Path
    run_id: str

    @asynccontextmanager
    async def fresh(self, kind: str, name: str) -> AsyncIterator[DbSlot]:
        if kind == "sqlite":
            async with self._sqlite(name) as slot:
                yield slot
        else:
            async with self._postgres(name) as slot:
                yield slot

    @asynccontextmanager
    async def _sqlite(self, name: str) -> AsyncIterator[DbSlot]:
        path = self.workdir / f"{name}.db"
        try:
            yield DbSlot("sqlite", f"sqlite+aiosqlite:///{path}")
        finally:
            await asyncio.to_thread(_remove_sqlite, path)

    @asynccontextmanager
    async def _postgres(self, name: str) -> AsyncIterator[DbSlot]:
        schema = f"bench_{self.run_id}_{name}"
        admin = await asyncpg.connect(plain_dsn(POSTGRES_URL))
        try:
            await admin.execute(f'CREATE SCHEMA "{schema}"')
            yield DbSlot("postgres", POSTGRES_URL, schema)
        finally:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await admin.close()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
