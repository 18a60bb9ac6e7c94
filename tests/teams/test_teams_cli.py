"""``centralita teams channels`` and ``centralita teams package`` as an installer runs them."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest

from tests.fakes.bot_connector import FakeConnector
from tests.fakes.identity import FakeIdentity, auth_env
from tests.support import Centralita, Database, FakeClock
from tests.teams.support import OTHER_CHANNEL, TEAM_ID, post_activity, team_installed
from tests.test_cli import centralita

APP_ID = "8f1c2d3e-4b5a-4c6d-9e8f-0a1b2c3d4e5f"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_the_package_is_a_zip_with_the_filled_manifest_and_both_icons_at_its_root(tmp_path: Path) -> None:
    out = tmp_path / "app.zip"
    result = centralita(
        "teams", "package", "--app-id", APP_ID, "--domain", "centralita.clinica.es", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert _png_size(package.read("color.png")) == (192, 192)
        assert _png_size(package.read("outline.png")) == (32, 32)
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["centralita.clinica.es"]
    assert sorted(manifest["bots"][0]["scopes"]) == ["groupChat", "personal", "team"]
    assert manifest["bots"][0]["commandLists"][0]["commands"][0]["title"] == "recado"
    assert "v1.18" not in manifest["$schema"] and manifest["manifestVersion"] in manifest["$schema"]
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--app-id", "not-a-guid", "--domain", "x.es"], "--app-id"),
        (["--app-id", APP_ID, "--domain", "no host"], "--domain"),
    ],
)
def test_a_wrong_value_names_the_option_and_writes_nothing(
    tmp_path: Path, args: list[str], field: str
) -> None:
    out = tmp_path / "app.zip"
    result = centralita("teams", "package", *args, "--out", str(out))
    assert result.returncode == 2
    assert field in result.stderr
    assert not out.exists()


async def test_channels_lists_every_channel_of_the_installed_team_with_its_name(
    tmp_path: Path, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector
) -> None:
    """The command reads DATABASE_URL (a SQLite file here: the listing is one plain query)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/centralita.db")
    connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
    async with Centralita(db, clock, None, **auth_env(identity)) as app:
        activity = team_installed(connector.url)
        answer = await post_activity(app.http, activity, identity.channel_token(connector.url))
        assert answer.status_code == 201
    plain_url = db.url.replace("sqlite+aiosqlite", "sqlite")
    result = centralita("teams", "channels", DATABASE_URL=plain_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(OTHER_CHANNEL in line and "Urgencias" in line and "Recepción" in line for line in lines)
    assert any(TEAM_ID in line and "General" in line for line in lines)
