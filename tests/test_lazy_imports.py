"""A server imports what it uses: matplotlib (the digest's chart) and the Bot Framework SDK (Teams)
take about 110 MB of memory together, so a server started without Teams credentials and drawing no
chart holds neither (``make bench`` figure (f): RSS ≤ 150 MB). Each case starts the real app, its
lifespan included (migrations, sweeps, delivery, replay), in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support import FIXTURES, Database

HEAVY = ("matplotlib", "numpy", "botbuilder", "botframework", "msal")
START = """
import asyncio, json, sys
from bot.app import create_app
from bot.config import load_config
from bot.settings import Settings

url, connect_args, environment = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])

async def main() -> None:
    app = create_app(Settings(DATABASE_URL=url, **environment), configs=[load_config(sys.argv[4])],
                     connect_args=connect_args)
    async with app.router.lifespan_context(app):
        await asyncio.sleep(1.5)  # a few sweeps, delivery polls and replays
    print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))

asyncio.run(main())
"""
TEAMS = {
    "MICROSOFT_APP_ID": "00000000-0000-0000-0000-00000000c0de",
    "MICROSOFT_APP_PASSWORD": "not-a-real-secret",
    "MICROSOFT_APP_TENANT_ID": "00000000-0000-0000-0000-0000000000aa",
}


def started_modules(db: Database, tmp_path: Path, **environment: str) -> set[str]:
    """The top-level packages a server has imported once it has started and run for a moment."""
    settings: dict[str, Any] = {
        "CENTRALITA_PUBLIC_URL": "http://127.0.0.1:9",
        "CENTRALITA_SPOOL_DIR": str(tmp_path / "spool"),
        "CENTRALITA_SWEEP_SECONDS": 0.2,
        **environment,
    }
    arguments = [db.url, json.dumps(db.connect_args), json.dumps(settings), str(FIXTURES / "clinic.yaml")]
    done = subprocess.run(
        [sys.executable, "-c", START, *arguments], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_server_without_teams_imports_neither_the_teams_sdk_nor_matplotlib(
    db: Database, tmp_path: Path
) -> None:
    modules = started_modules(db, tmp_path)
    assert {"fastapi", "slack_sdk", "sqlalchemy"} <= modules  # the probe sees what a server imports
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_a_server_with_teams_credentials_loads_the_teams_sdk_at_start_but_not_matplotlib(
    db: Database, tmp_path: Path
) -> None:
    modules = started_modules(db, tmp_path, **TEAMS)
    assert {"botbuilder", "msal"} <= modules, "its publisher posts cards to Teams"
    assert not modules & {"matplotlib", "numpy"}
