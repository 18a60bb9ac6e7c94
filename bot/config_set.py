"""Several organisations on one deployment: ``CENTRALITA_CONFIG`` names one organisation file, or
a directory with one file per organisation (``*.yaml``/``*.yml``, read in name order).

Each file is validated on its own (``bot.config.load_config``); then the set is checked as a whole:
two organisations may not share an id, a phone number (calls are routed by the called number), a
Slack workspace (clicks are routed by it) or a Teams channel of one tenant. Every problem names its
file and field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.config import ConfigError, ConfigIssue, load_config
from bot.domain.org import OrgConfig

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class OrgFile:
    path: Path
    config: OrgConfig


def org_files(path: str | Path) -> list[Path]:
    """The organisation files ``path`` names: itself, or the YAML files of the directory it is."""
    where = Path(path)
    if not where.is_dir():
        return [where]
    files = sorted(p for p in where.iterdir() if p.suffix in SUFFIXES and p.is_file())
    if not files:
        raise ConfigError([ConfigIssue("(directory)", "no organisation file (*.yaml) in it")], where)
    return files


def load_org_files(path: str | Path) -> list[OrgFile]:
    """Every organisation of the deployment, checked one by one and as a set.

    Raises:
        ConfigError: for the first file that is not valid (its own issues), or for the directory,
            listing every conflict between files.
    """
    loaded = [OrgFile(file, load_config(file)) for file in org_files(path)]
    issues = list(conflicts(loaded))
    if issues:
        raise ConfigError(issues, path)
    return loaded


def load_configs(path: str | Path) -> list[OrgConfig]:
    return [found.config for found in load_org_files(path)]


def conflicts(files: list[OrgFile]) -> Iterator[ConfigIssue]:
    """What two organisation files may not share: the organisation id, a number, a workspace, a
    Teams channel."""
    ids: dict[str, Path] = {}
    numbers: dict[str, Path] = {}
    teams: dict[str, Path] = {}
    channels: dict[str, Path] = {}
    for found in files:
        org = found.config.organization
        yield from _taken(found.path, "organization.id", org.id, ids, "the id of")
        for i, number in enumerate(org.phone_numbers):
            yield from _taken(found.path, f"organization.phone_numbers[{i}]", number, numbers, "a number of")
        if org.slack_team_id is not None:
            yield from _taken(
                found.path, "organization.slack_team_id", org.slack_team_id, teams, "the workspace of"
            )
        yield from _teams_channels(found, channels)


def _teams_channels(found: OrgFile, seen: dict[str, Path]) -> Iterator[ConfigIssue]:
    """A Teams channel (in its organisation's tenant, or in the shared one) belongs to one
    organisation: its cards would show in the other's channel."""
    tenant = found.config.organization.teams_tenant_id
    for i, team in enumerate(found.config.teams):
        if team.teams_channel is None:
            continue
        key, shown = f"{tenant or ''} {team.teams_channel}", f"'{team.teams_channel}'"
        shown += f" in tenant {tenant}" if tenant else ""
        yield from _taken(found.path, f"teams[{i}].teams_channel", key, seen, "a Teams channel of", shown)


def _taken(
    path: Path, field: str, value: str, seen: dict[str, Path], what: str, shown: str | None = None
) -> Iterator[ConfigIssue]:
    other = seen.setdefault(value, path)
    if other != path:
        said = shown or f"'{value}'"
        reason = f"{said} is also {what} the organisation in {other.name}; each organisation needs its own"
        yield ConfigIssue(f"{path.name}: {field}", reason)
