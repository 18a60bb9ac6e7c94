"""The `centralita` command as an installer runs it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.slack_api import FakeSlack
from tests.support import FIXTURES, TWILIO_TOKEN, Centralita, Database, FakeClock

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "centralita.yaml"


def centralita(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
    )


def test_config_check_accepts_the_example() -> None:
    result = centralita("config", "check", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "warning" not in result.stdout


def test_config_check_names_every_wrong_field_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "organization: {name: X, timezone: Europe/Madird}\n"
        "staff: [{id: ana, name: Ana, phone: 'abc'}]\n"
        "priorities: {urgent: {claim_within: 2 minutos}}\n",
        encoding="utf-8",
    )
    result = centralita("config", "check", str(bad))
    assert result.returncode != 0
    for expected in ("organization.timezone", "staff[0].phone", "priorities.urgent.claim_within", "90s"):
        assert expected in result.stderr


def test_config_check_warns_about_references_that_do_not_resolve(tmp_path: Path) -> None:
    config = tmp_path / "refs.yaml"
    config.write_text(
        "organization: {name: X}\n"
        "staff: [{id: ana, name: Ana, slack_user: U1}]\n"
        "teams: [{id: rec, name: R, slack_channel: C1, members: [ana, pepe]}]\n"
        "triage: [{category: x, route: nadie}]\n",
        encoding="utf-8",
    )
    result = centralita("config", "check", str(config))
    assert result.returncode == 0
    assert "pepe" in result.stdout and "nadie" in result.stdout


def test_triage_test_explains_the_decision() -> None:
    result = centralita(
        "triage",
        "test",
        "--config",
        str(FIXTURES / "clinic.yaml"),
        "--from",
        "+34 600 111 222",
        "--at",
        "2026-11-24T10:00",
        "Tengo una URGÉNCIA",
    )
    assert result.returncode == 0, result.stderr
    assert (
        "Urgencia (urgent)" in result.stdout and "Regla 2" in result.stdout and "«urgencia»" in result.stdout
    )


async def test_simulate_call_plays_a_whole_call_against_a_running_server(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "simulate",
            "call",
            "--from",
            "+34600111222",
            "--say",
            "Hola, soy Juan Pérez, quería pedir presupuesto",
            "--url",
            app.url,
            cwd=ROOT,
            env={
                **os.environ,
                "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                "CENTRALITA_PUBLIC_URL": app.url,
                "CENTRALITA_CONFIG": str(FIXTURES / "clinic.yaml"),
                "DATABASE_URL": db.url,
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        assert "abierto: saludo y reconocimiento de voz" in out.decode()
        if db.name == "sqlite":  # the PostgreSQL schema of the test is not in the URL
            assert "tarjeta #1 creada: lead" in out.decode()
        [post] = await slack.wait_for("chat.postMessage", channel="C0VENTAS")
        assert "Juan Pérez" in str(post.args["blocks"])
        [card] = await db.cards()
        assert card.category == "lead"
