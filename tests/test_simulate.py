"""`centralita simulate call` says which way the call went and whether a card was made; with
``--at`` it plays the call as if at that local time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli_errors import CLINIC, ROOT, clean_env

OPEN, CLOSED = "2026-11-24 10:00", "2026-11-24 23:30"  # a Tuesday; the clinic opens 08:00-20:00


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "simulate", "call", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env=clean_env(CENTRALITA_CONFIG=CLINIC),
    )  # fmt: skip


def test_a_call_in_office_hours_makes_a_card_from_what_was_said() -> None:
    result = simulate("--at", OPEN, "--from", "+34600111222", "--say", "Soy Ana Ruiz, quería presupuesto")
    assert result.returncode == 0, result.stderr
    assert "abierto: saludo y reconocimiento de voz" in result.stdout
    assert "tarjeta #1 creada: lead" in result.stdout and "Ana Ruiz" in result.stderr  # the console card


def test_a_call_when_closed_goes_to_voicemail_and_says_that_say_is_not_used() -> None:
    result = simulate("--at", CLOSED, "--from", "+34600111222", "--say", "no se oye")
    assert result.returncode == 0, result.stderr
    assert "cerrado: buzón de voz; --say no se usa" in result.stdout
    assert "tarjeta #1 creada" in result.stdout and "mensaje de voz" in result.stderr


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (("--from", "+34699999999"), "rechazada por una regla de triaje"),
        (("--from", "+34600111222", "--to", "+34919999999"), "no está en organization.phone_numbers"),
    ],
)
def test_a_call_that_makes_no_card_says_so(args: tuple[str, ...], path: str) -> None:
    result = simulate("--at", OPEN, "--say", "hola", *args)
    assert result.returncode == 0, result.stderr
    assert path in result.stdout
    assert "no se ha creado ninguna tarjeta" in result.stdout and "creada" not in result.stdout


def test_at_takes_no_time_that_is_not_one(tmp_path: Path) -> None:
    result = simulate("--at", "el martes", "--from", "+34600111222")
    assert result.returncode == 2 and "--at 'el martes'" in result.stderr and "Traceback" not in result.stderr
