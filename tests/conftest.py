"""Fixtures: a real SQLite file and the real PostgreSQL, a loopback Slack, a clock we move."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from tests.fakes.server import LoopbackServer
from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import FakeTwilio
from tests.support import Database, FakeClock

POSTGRES_URL = os.environ.get("CENTRALITA_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("CENTRALITA_REQUIRE_POSTGRES") == "1"
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    """A fresh database: a new SQLite file, or a new schema in the real PostgreSQL ``test`` database."""
    if request.param == "sqlite":
        yield Database(f"sqlite+aiosqlite:///{tmp_path}/centralita.db")
        return
    async with _postgres_schema() as database:
        yield database


@pytest.fixture
async def postgres() -> AsyncIterator[Database]:
    """A fresh schema in the real PostgreSQL, for what only PostgreSQL has (a server to restart)."""
    async with _postgres_schema() as database:
        yield database


@asynccontextmanager
async def _postgres_schema() -> AsyncIterator[Database]:
    schema = "t_" + uuid.uuid4().hex[:12]
    try:
        admin = await asyncpg.connect(_plain_dsn(POSTGRES_URL))
    except (OSError, asyncpg.PostgresError) as error:
        if REQUIRE_POSTGRES:
            raise
        pytest.skip(f"PostgreSQL not reachable: {error}")
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield Database(POSTGRES_URL, {"server_settings": {"search_path": schema}}, "postgres")
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    async with LoopbackServer(fake.app) as url:
        fake.url = url + "/api/"  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
async def twilio_rest() -> AsyncIterator[FakeTwilio]:
    """The Twilio REST stand-in; point the app at it with ``twilio_env(fake)``."""
    fake = FakeTwilio()
    async with LoopbackServer(fake.app) as url:
        fake.url = url
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(TUESDAY_10)
