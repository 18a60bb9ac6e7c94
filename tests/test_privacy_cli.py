"""``centralita privacy`` as an operator runs it: refusals and answers they read."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support import FIXTURES
from tests.test_cli import ROOT, centralita


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path}/c.db",
        "CENTRALITA_CONFIG": str(FIXTURES / "clinic.yaml"),
        "CENTRALITA_SPOOL_DIR": str(tmp_path / "spool"),
        "TWILIO_ACCOUNT_SID": "",
    }


def _migrated(tmp_path: Path) -> dict[str, str]:
    env = _env(tmp_path)
    result = centralita("db", "upgrade", **env)
    assert result.returncode == 0, result.stderr
    return env


def _card(env: dict[str, str], number: str) -> None:
    sql = (
        "INSERT INTO card (org_id, source, status, category, priority, caller_number, summary,"
        " transfer_allowed, created_at, escalation_policy, escalation_level, escalated_to, version)"
        f" VALUES ('default', 'call', 'open', 'general', 'normal', '{number}', 'hola', 0,"
        " '2026-11-24 09:00:00', '{}', 0, '[]', 1)"
    )
    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///")) as connection:
        connection.execute(sql)


def _cards(env: dict[str, str]) -> int:
    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///")) as connection:
        return int(connection.execute("SELECT count(*) FROM card").fetchone()[0])


def test_a_malformed_number_is_refused_with_the_reason(tmp_path: Path) -> None:
    env = _migrated(tmp_path)
    for args in (("export", "12ab"), ("erase", "12ab", "--yes")):
        result = centralita("privacy", *args, **env)
        assert result.returncode == 2
        assert "'12ab' is not a phone number" in result.stderr and "+34600111222" in result.stderr


def test_a_number_that_matches_nothing_says_so_and_changes_nothing(tmp_path: Path) -> None:
    env = _migrated(tmp_path)
    _card(env, "+34600111222")
    erased = centralita("privacy", "erase", "+34 699 000 000", "--yes", **env)
    assert erased.returncode == 1 and "Nothing is stored about +34699000000" in erased.stderr
    exported = centralita("privacy", "export", "+34699000000", **env)
    assert exported.returncode == 1 and "Nothing is stored" in exported.stderr
    assert _cards(env) == 1


def test_export_to_a_file_then_erase_after_confirmation(tmp_path: Path) -> None:
    env = _migrated(tmp_path)
    _card(env, "+34600111222")
    out = tmp_path / "export.json"
    exported = centralita("privacy", "export", "600 111 222", "--out", str(out), **env)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["number"] == "+34600111222" and data["organizations"][0]["cards"][0]["summary"] == "hola"

    dry = centralita("privacy", "erase", "+34600111222", "--dry-run", **env)
    assert dry.returncode == 0 and "1 cards" in dry.stdout and "Dry run" in dry.stdout
    refused = centralita("privacy", "erase", "+34600111222", **env)  # no terminal: not confirmed
    assert refused.returncode == 1 and "Not confirmed" in refused.stderr and _cards(env) == 1
    confirmed = subprocess.run(
        [sys.executable, "-m", "bot.cli", "privacy", "erase", "+34600111222"],
        input="yes\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
    )
    assert confirmed.returncode == 0, confirmed.stderr
    assert "+34600111222 erased" in confirmed.stdout and _cards(env) == 0
