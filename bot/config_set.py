"""Several organisations on one deployment: ``CENTRALITA_CONFIG`` names one organisation file, or
a directory with one file per organisation (``*.yaml``/``*.yml``, read in name order).

Each file is validated on its own (``bot.config.load_config``); then the set is checked as a whole:
two organisations may not share an id, a phone number (calls are routed by the called number) or a
Slack workspace (clicks are routed by it). Every problem names its file and field.
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
    """What two organisation files may not share: the organisation id, a number, a workspace."""
    ids: dict[str, Path] = {}
    numbers: dict[str, Path] = {}
    teams: dict[str, Path] = {}
    for found in files:
        org = found.config.organization
        yield from _taken(found.path, "organization.id", org.id, ids, "the id of")
        for i, number in enumerate(org.phone_numbers):
            yield from _taken(found.path, f"organization.phone_numbers[{i}]", number, numbers, "a number of")
        if org.slack_team_id is not None:
            yield from _taken(
                found.path, "organization.slack_team_id", org.slack_team_id, teams, "the workspace of"
            )


def _taken(path: Path, field: str, value: str, seen: dict[str, Path], what: str) -> Iterator[ConfigIssue]:
    other = seen.setdefault(value, path)
    if other != path:
        reason = f"'{value}' is also {what} the organisation in {other.name}; each organisation needs its own"
        yield ConfigIssue(f"{path.name}: {field}", reason)
