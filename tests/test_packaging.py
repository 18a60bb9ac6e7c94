"""What production runs: the image, compose, systemd, the version, and the line the server prints.
The Dockerfile is also linted with hadolint in `make lint` (Docker cannot build here: no daemon)."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock
from tests.test_cli_errors import ROOT, clean_env


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1] if " " in line else "")
        for line in (raw.strip() for raw in joined.splitlines())
        if line and not line.startswith("#")
    ]


def test_the_image_runs_as_a_user_with_a_health_check_and_no_dev_install() -> None:
    steps = _instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the server does not run as root"
    assert any(op == "HEALTHCHECK" and "/healthz" in arg for op, arg in final)
    installs = " ".join(arg for op, arg in steps if op == "RUN")
    assert "pip install -e" not in installs and "[dev]" not in installs and "/wheels/" in installs
    assert final[0][1].startswith("python:3.11-slim")
    assert [arg for op, arg in final if op == "CMD"][-1].startswith('["centralita", "serve"')


def test_compose_runs_postgresql_the_api_and_a_worker() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["worker"]["command"] == ["centralita", "worker"]
    for name in ("api", "worker"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_systemd_unit_runs_serve_from_an_install() -> None:
    unit = (ROOT / "examples" / "systemd" / "centralita.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/centralita/bin/centralita serve" in unit and "User=centralita" in unit


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--version"], capture_output=True, text=True, cwd=ROOT,
        env=clean_env(), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0 and re.fullmatch(r"centralita \d+\.\d+\.\d+\S*\n", result.stdout)
    assert "## Unreleased" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


async def test_healthz_answers_head(db: Database, slack: FakeSlack, clock: FakeClock) -> None:
    async with Centralita(db, clock, slack.url) as app:
        head = await app.http.head("/healthz")
    assert head.status_code == 200 and head.content == b""
