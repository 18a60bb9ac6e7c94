"""An installer's mistakes get one clear message and a non-zero exit from the command line, never a
Python traceback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_POSTGRES
from tests.fakes.server import free_port
from tests.fakes.slack_api import FakeSlack
from tests.support import FIXTURES, Centralita, Database, FakeClock

ROOT = Path(__file__).parent.parent
CLINIC = str(FIXTURES / "clinic.yaml")
UNREACHABLE_POSTGRES = f"postgresql://root@127.0.0.1:{free_port()}/test"


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without any Centralita, Slack, Twilio or database setting."""
    prefixes = ("SLACK_", "CENTRALITA_", "DATABASE", "TWILIO_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)} | extra


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_env(**env),
        timeout=60,
    )


def assert_one_clear_message(result: subprocess.CompletedProcess[str], *expected: str, code: int = 2) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


def test_triage_test_with_a_time_that_is_not_one() -> None:
    result = run("triage", "test", "--config", CLINIC, "--at", "mañana", "hola")
    assert_one_clear_message(result, "--at 'mañana' is not a date and time", "2026-12-02 10:00")


@pytest.mark.parametrize(
    ("at", "open_"),
    [("2026-11-24 10:00", "sí"), ("2026-11-24T23:00", "no"), ("2026-11-24T21:30+01:00", "no"),
     ("2026-11-24 19:30", "sí")],
)  # fmt: skip
def test_triage_test_takes_the_forms_of_a_local_time(at: str, open_: str) -> None:
    result = run("triage", "test", "--config", CLINIC, "--at", at, "hola")
    assert result.returncode == 0, result.stderr
    assert f"En horario: {open_}" in result.stdout


def test_serve_with_a_database_url_that_names_no_host() -> None:
    """A wrong DATABASE_URL stops the start; an outage does not (the spool answers the calls)."""
    wrong = "postgresql://root@no-such-host.invalid/test"
    result = run("serve", "--port", str(free_port()), CENTRALITA_CONFIG=CLINIC, DATABASE_URL=wrong)
    assert_one_clear_message(result, "cannot reach the database at postgresql://root@no-such-host.invalid")
    assert "Check DATABASE_URL" in result.stderr


def test_serve_with_a_database_that_does_not_exist() -> None:
    missing = "postgresql://root@127.0.0.1:5432/no_such_database_for_centralita"
    probe = run("db", "upgrade", DATABASE_URL=missing)
    if "does not exist" not in probe.stderr and not REQUIRE_POSTGRES:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 did not answer: {probe.stderr[:200]}")
    result = run("serve", "--port", str(free_port()), CENTRALITA_CONFIG=CLINIC, DATABASE_URL=missing)
    assert_one_clear_message(result, "no_such_database_for_centralita", "Check DATABASE_URL")


def test_db_upgrade_with_an_unreachable_postgresql() -> None:
    result = run("db", "upgrade", DATABASE_URL=UNREACHABLE_POSTGRES)
    assert_one_clear_message(result, "cannot reach the database", "Is the database running?")


def test_a_database_that_is_not_supported() -> None:
    result = run("db", "upgrade", DATABASE_URL="mysql://user:secret@db/centralita")
    assert_one_clear_message(result, "DATABASE_URL", "'mysql' databases are not supported", "postgresql://")
    assert "secret" not in result.stderr


def test_simulate_against_a_server_that_is_not_running() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run(
        "simulate", "call", "--from", "+34600111222", "--url", url,
        TWILIO_AUTH_TOKEN="t", CENTRALITA_CONFIG=CLINIC, CENTRALITA_PUBLIC_URL=url,
    )  # fmt: skip
    assert_one_clear_message(result, f"cannot reach the server at {url}", "centralita serve")


async def test_simulate_with_the_wrong_token(db: Database, slack: FakeSlack, clock: FakeClock) -> None:
    async with Centralita(db, clock, slack.url) as app:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "simulate", "call", "--from", "+34600111222", "--url", app.url,
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=clean_env(TWILIO_AUTH_TOKEN="not-the-servers", CENTRALITA_CONFIG=CLINIC,
                          CENTRALITA_PUBLIC_URL=app.url),
        )  # fmt: skip
        _, err = await process.communicate()
    text = err.decode()
    assert process.returncode == 2 and "Traceback" not in text
    assert "refused the Twilio signature (403)" in text and "TWILIO_AUTH_TOKEN" in text
    assert await db.cards() == []


def _config_with_warnings(tmp_path: Path) -> Path:
    path = tmp_path / "refs.yaml"
    path.write_text(
        "organization: {name: X}\n"
        "staff: [{id: ana, name: Ana, slack_user: U0ANA}]\n"
        "teams: [{id: rec, name: R, slack_channel: C0REC, members: [ana, pepe]}]\n",
        encoding="utf-8",
    )
    return path


def test_config_check_strict_fails_on_warnings(tmp_path: Path) -> None:
    path = str(_config_with_warnings(tmp_path))
    lenient, strict = run("config", "check", path), run("config", "check", "--strict", path)

    assert lenient.returncode == 0 and "teams[0].members[1]" in lenient.stdout
    assert "nobody is notified in its place" in lenient.stdout, "a warning says what happens instead"
    assert strict.returncode == 1 and "--strict" in strict.stderr and "Traceback" not in strict.stderr


def test_config_check_refuses_slack_names_where_ids_go(tmp_path: Path) -> None:
    path = tmp_path / "names.yaml"
    path.write_text(
        "organization: {name: X}\n"
        "staff: [{id: ana, name: Ana, slack_user: '@ana'}]\n"
        "teams: [{id: rec, name: R, slack_channel: '#recepcion', members: [ana]}]\n",
        encoding="utf-8",
    )
    result = run("config", "check", str(path))
    assert_one_clear_message(result, "staff[0].slack_user: '@ana'", "teams[0].slack_channel: '#recepcion'")
