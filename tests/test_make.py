"""`make` as an installer uses it: settings from ``.env`` when there is one, the demo's otherwise,
and ``make clean`` never touches a database."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
MINE = "organization: {name: Clínica Mía}\nteams: [{id: rec, name: R}]\n"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A directory that looks like the repository to the Makefile (its venv is the real one)."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in (".venv", "pyproject.toml", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "mine.yaml").write_text(MINE, encoding="utf-8")
    return tmp_path


def make(where: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CENTRALITA_", "TWILIO_", "MAKE"))}
    return subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", *args], cwd=where, capture_output=True, text=True, env=clean | env, timeout=120
    )


def test_without_a_dotenv_make_uses_the_example_clinic(checkout: Path) -> None:
    result = make(checkout, "check")
    assert result.returncode == 0, result.stderr
    assert "examples/centralita.yaml: OK" in result.stdout


def test_the_dotenv_wins_over_the_makefile_defaults(checkout: Path) -> None:
    (checkout / ".env").write_text("CENTRALITA_CONFIG=mine.yaml\n", encoding="utf-8")
    result = make(checkout, "check")
    assert result.returncode == 0, result.stderr
    assert "mine.yaml: OK" in result.stdout and "examples" not in result.stdout


def test_the_environment_wins_over_the_dotenv(checkout: Path) -> None:
    (checkout / ".env").write_text("CENTRALITA_CONFIG=missing.yaml\n", encoding="utf-8")
    result = make(checkout, "check", CENTRALITA_CONFIG="mine.yaml")
    assert result.returncode == 0, result.stderr
    assert "mine.yaml: OK" in result.stdout


def test_make_clean_keeps_the_database(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("centralita.db", "centralita.db-wal"):
        (tmp_path / name).write_text("data", encoding="utf-8")
    (tmp_path / ".venv").mkdir()

    result = make(tmp_path, "clean")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "centralita.db").exists() and (tmp_path / "centralita.db-wal").exists()
    assert not (tmp_path / ".venv").exists()


def test_the_dotenv_is_ignored_by_git_and_the_example_is_shipped() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "TWILIO_AUTH_TOKEN", "DATABASE_URL"):
        assert f"\n{name}=" in example
