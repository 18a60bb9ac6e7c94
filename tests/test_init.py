"""`centralita init` writes files a new organisation can start from, and that pass `config check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.config import load_config
from tests.test_cli_errors import ROOT, clean_env


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=cwd,
        env=clean_env(), stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip


def test_init_writes_a_config_and_env_that_config_check_accepts(tmp_path: Path) -> None:
    folder = tmp_path / "clinica"
    made = cli("init", str(folder), "--name", "Clínica Dental Sonrisa", "--number", "+34 910 000 000",
               "--timezone", "Europe/Madrid", "--locale", "es")  # fmt: skip
    assert made.returncode == 0, made.stderr

    checked = cli("config", "check", cwd=folder)  # reads CENTRALITA_CONFIG from the .env written

    assert checked.returncode == 0, checked.stderr
    assert f"{folder}/centralita.yaml: OK" in checked.stdout
    config = load_config(folder / "centralita.yaml")
    assert config.organization.name == "Clínica Dental Sonrisa" and config.org_id == "clinica-dental-sonrisa"
    assert config.organization.phone_numbers == ["+34910000000"]
    assert "SLACK_BOT_TOKEN=" in (folder / ".env").read_text(encoding="utf-8")


def test_init_in_english_without_numbers(tmp_path: Path) -> None:
    made = cli(
        "init", str(tmp_path), "--name", "Acme Office", "--locale", "en", "--timezone", "Europe/London"
    )
    assert made.returncode == 0, made.stderr
    config = load_config(tmp_path / "centralita.yaml")
    assert config.locale == "en" and config.voice.language == "en-GB" and config.organization.holidays


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    first = cli("init", str(tmp_path), "--name", "Uno")
    again = cli("init", str(tmp_path), "--name", "Dos")
    forced = cli("init", str(tmp_path), "--name", "Dos", "--force")

    assert first.returncode == 0 and again.returncode == 2 and "exists already" in again.stderr
    assert forced.returncode == 0 and load_config(tmp_path / "centralita.yaml").organization.name == "Dos"


def test_init_with_a_wrong_value_writes_nothing_and_names_the_field(tmp_path: Path) -> None:
    made = cli("init", str(tmp_path), "--name", "X", "--timezone", "Europe/Madird")
    assert made.returncode == 2 and "organization.timezone" in made.stderr and "Traceback" not in made.stderr
    assert list(tmp_path.iterdir()) == []
