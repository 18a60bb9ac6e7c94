"""`centralita db upgrade`: bring the schema to the newest migration."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, *, connect_args: dict[str, Any] | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["connect_args"] = connect_args or {}
    return cfg


def upgrade(url: str, *, connect_args: dict[str, Any] | None = None) -> None:
    """Run pending migrations (blocking; call from a thread inside an event loop)."""
    command.upgrade(alembic_config(url, connect_args=connect_args), "head")


async def upgrade_async(url: str, *, connect_args: dict[str, Any] | None = None) -> None:
    await asyncio.to_thread(upgrade, url, connect_args=connect_args)
