"""``centralita calibrate``: past calls replayed through the rules, as the installer runs it."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain.calibration import CalibrationRow, RowProblem, read_rows
from bot.store.migrate import upgrade_async
from tests.support import FIXTURES, Database
from tests.test_cli import EXAMPLE, centralita
from tests.test_digest_figures import card

MADRID = ZoneInfo("Europe/Madrid")
CLINIC = str(FIXTURES / "clinic.yaml")
CALLS = """\
number,text,time,expected
+34911222333,"Soy Juan, por la factura",2026-11-30 09:05,client
+34655111222,Quería pedir presupuesto,2026-11-30 09:40,lead
+34655333444,"Es urgente, me duele",2026-11-30 10:15,urgent
+34655000001,Quería saber el precio del parking,2026-11-30 10:30,general
+34655000002,Me duele un poco al masticar,30/11/2026 10:45,urgent
not-a-number,Hola,2026-11-30 11:00,general
+34655000003,¿Abrís el sábado?,2026-11-30 11:30
+34699999999,Le ofrecemos una tarifa,2026-11-30 12:00,blocked
,,2026-11-30 12:30,general
+34655000004,Una primera cita,2026-11-30 13:00,general
"""


def matrix(stdout: str) -> dict[str, dict[str, int]]:
    """The confusion matrix printed after its title, as {expected: {decided: count}}."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Matriz de confusión")) + 1
    header = lines[start].split()[1:]
    found = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        label, *counts = line.split()
        found[label] = {decided: int(n) for decided, n in zip(header, counts, strict=True) if int(n)}
    return found


def test_calibrate_prints_the_routing_and_the_confusion_matrix_and_skips_bad_rows(tmp_path: Path) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text(CALLS, encoding="utf-8")

    result = centralita("calibrate", str(calls), "--config", CLINIC)

    assert result.returncode == 0, result.stderr
    assert (
        "línea 6: time '30/11/2026 10:45' is not a local time like 2026-11-30 10:15; se omite"
        in result.stderr
    )
    assert "línea 7: number 'not-a-number' is not a phone number; se omite" in result.stderr
    assert "línea 8: 3 fields where the header has 4; se omite" in result.stderr
    assert "Enrutado de 7 llamadas con las reglas actuales" in result.stdout
    assert matrix(result.stdout) == {
        "blocked": {"blocked": 1},
        "client": {"client": 1},
        "general": {"general": 1, "lead": 2},
        "lead": {"lead": 1},
        "urgent": {"urgent": 1},
    }
    assert "Filas que no coinciden con lo esperado (2)" in result.stdout
    assert (
        "línea 5: se esperaba general, se decide lead: «Quería saber el precio del parking»" in result.stdout
    )
    assert "línea 11: se esperaba general, se decide lead: «Una primera cita»" in result.stdout
    routing = result.stdout.split("Matriz")[0]
    assert any(line.split() == ["lead", "high", "team:ventas", "3", "3"] for line in routing.splitlines())
    assert any(line.split() == ["client", "normal", "person:ana", "4", "1"] for line in routing.splitlines())


def test_calibrate_with_other_rules_shows_both_and_the_rows_that_change(tmp_path: Path) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text(CALLS, encoding="utf-8")
    proposed = tmp_path / "new.yaml"
    rules = (FIXTURES / "clinic.yaml").read_text(encoding="utf-8")
    proposed.write_text(
        rules.replace('[presupuesto, precio, "primera cita"]', "[presupuesto]"), encoding="utf-8"
    )
    exported = tmp_path / "decisions.csv"

    result = centralita(
        "calibrate", str(calls), "--config", CLINIC, "--rules", str(proposed), "--export", str(exported)
    )

    assert result.returncode == 0, result.stderr
    assert f"Reglas actuales frente a {proposed}" in result.stdout
    side = result.stdout.split("Reglas actuales frente a")[1].split("Filas cuyo")[0]
    assert any(line.split() == ["lead", "high", "team:ventas", "3", "1"] for line in side.splitlines())
    assert any(
        line.split() == ["general", "normal", "team:recepcion", "1", "3"] for line in side.splitlines()
    )
    assert "Filas cuyo enrutado cambia (2)" in result.stdout
    assert (
        "línea 5: lead/high/team:ventas → general/normal/team:recepcion: «Quería saber el precio del parking»"
        in (result.stdout)
    )
    with exported.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 7
    assert rows[3] == {
        "line": "5",
        "number": "+34655000001",
        "time": "2026-11-30 10:30",
        "text": "Quería saber el precio del parking",
        "expected": "general",
        "category": "lead",
        "priority": "high",
        "route": "team:ventas",
        "rule": "3",
        "new_category": "general",
        "new_priority": "normal",
        "new_route": "team:recepcion",
        "new_rule": "5",
    }


def test_calibrate_refuses_a_file_without_the_header(tmp_path: Path) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text("telefono,texto\n+34600000000,hola\n", encoding="utf-8")
    result = centralita("calibrate", str(calls), "--config", CLINIC)
    assert result.returncode == 2
    assert (
        "line 1: the header must be number,text,time,expected (missing: number, text, time)" in result.stderr
    )


def test_the_example_calls_file_replays_as_labelled() -> None:
    result = centralita("calibrate", "examples/calls.csv", "--config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "Filas que no coinciden con lo esperado (0)" in result.stdout
    assert "omite" not in result.stderr


async def test_calibrate_replays_the_recorded_calls_of_the_last_days(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/centralita.db")
    await upgrade_async(db.url)
    now = datetime.now(MADRID)
    await db.add(
        card(
            1,
            now - timedelta(days=2),
            summary="Quería pedir presupuesto",
            caller_number="+34655111222",
            category="general",
        ),
        card(
            2, now - timedelta(days=3), summary="Es urgente", caller_number="+34655333444", category="urgent"
        ),
        card(
            3, now - timedelta(days=40), summary="Es urgente", caller_number="+34655333444", category="urgent"
        ),
        card(4, now - timedelta(days=1), source="recado", summary="Es urgente", category="general"),
    )
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/centralita.db"}

    result = centralita("calibrate", "--from-db", "--days", "30", "--config", CLINIC, **env)

    assert result.returncode == 0, result.stderr
    assert "Enrutado de 2 llamadas con las reglas actuales" in result.stdout  # card 3 is too old, 4 no call
    assert "tarjeta #1: se esperaba general, se decide lead: «Quería pedir presupuesto»" in result.stdout


def test_rows_are_numbered_by_their_line_in_the_file_even_after_a_multi_line_text() -> None:
    text = 'number,text,time\n+34655000001,"dos\nlíneas",2026-11-30 10:00\n+34655000002,x,ayer\n'
    rows = list(read_rows(text.splitlines(keepends=True), MADRID, "ES"))
    assert isinstance(rows[0], CalibrationRow) and rows[0].text == "dos\nlíneas" and rows[0].expected is None
    assert rows[1] == RowProblem(4, "time 'ayer' is not a local time like 2026-11-30 10:15")
