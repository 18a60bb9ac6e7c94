"""The organisation's YAML file: read, validated into ``OrgConfig``, and checked for loose references.

Every problem is reported with the field it is in (``priorities.urgent.escalation[1].after``) and
the reason, so ``centralita config check`` can list them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from holidays import list_supported_countries
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.domain.org import PHONE_CHANNELS, EscalationStep, OrgConfig, PathError

ROUTE_OWNER = "owner"
NOTIFY_TARGETS = frozenset({"team", "oncall", "managers", "owner"})
FILE_PATH = "(file)"
ROOT_PATH = "(root)"

_FRIENDLY_REASONS = {"extra_forbidden": "unknown field; check its spelling and indentation"}
_MSG_PREFIXES = ("Value error, ", "Assertion failed, ")


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ConfigError(Exception):
    """The configuration file cannot be used; ``issues`` says where and why."""

    def __init__(self, issues: list[ConfigIssue], path: str | Path | None = None) -> None:
        self.issues = issues
        self.path = None if path is None else Path(path)
        super().__init__(str(self))

    def __str__(self) -> str:
        header = f"{self.path}:" if self.path else "configuration:"
        return "\n".join([header, *(f"  {issue}" for issue in self.issues)])


def load_config(path: str | Path) -> OrgConfig:
    """Read and validate the organisation's YAML file.

    Raises:
        ConfigError: listing every problem found, each with its field path.
    """
    file = Path(path)
    data = _read_yaml(file)
    if not isinstance(data, dict):
        reason = "the file is empty" if data is None else "the top level must be a mapping (organization: …)"
        raise ConfigError([ConfigIssue(ROOT_PATH, reason)], file)
    try:
        config = OrgConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([issue_from_error(e) for e in exc.errors()], file) from exc
    issues = holiday_issues(config)
    if issues:
        raise ConfigError(issues, file)
    return config


def issue_from_error(error: ErrorDetails) -> ConfigIssue:
    """One pydantic validation error as a ConfigIssue, at the full path of what is wrong: a
    validator that raises ``PathError`` adds where, inside its field, the problem is."""
    reason = _FRIENDLY_REASONS.get(error["type"], error["msg"])
    for prefix in _MSG_PREFIXES:
        reason = reason.removeprefix(prefix)
    cause = (error.get("ctx") or {}).get("error")
    deeper = cause.at if isinstance(cause, PathError) else ()
    return ConfigIssue(loc_path((*error["loc"], *deeper)), reason)


def loc_path(loc: Iterable[int | str]) -> str:
    """``("staff", 2, "phone")`` → ``staff[2].phone``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or ROOT_PATH


def holiday_issues(config: OrgConfig) -> list[ConfigIssue]:
    """The holidays country and subdivision must be known to the holidays package."""
    wanted = config.organization.holidays
    if wanted is None:
        return []
    known = list_supported_countries()
    country = wanted.country.upper()
    if country not in known:
        reason = f"'{wanted.country}' is not a country with a holiday calendar; use an ISO code like ES"
        return [ConfigIssue("organization.holidays.country", reason)]
    subdivisions = known[country]
    if wanted.subdivision is None or wanted.subdivision.casefold() in {s.casefold() for s in subdivisions}:
        return []
    reason = f"'{wanted.subdivision}' is not a subdivision of {country}; use one of {', '.join(subdivisions)}"
    return [ConfigIssue("organization.holidays.subdivision", reason)]


def check_references(config: OrgConfig) -> list[ConfigIssue]:
    """Warnings: ids that point nowhere and settings that will not do what they seem to. Each says
    what happens instead (``config check --strict`` treats them as errors)."""
    checks = (_triage, _teams, _contacts, _escalations, _digest, _staff, _organization, _reception)
    return [issue for check in checks for issue in check(config)]


def _triage(config: OrgConfig) -> Iterator[ConfigIssue]:
    for i, rule in enumerate(config.triage):
        if rule.route is not None and not _is_route(config, rule.route):
            reason = f"'{rule.route}' is not 'owner', a team or a staff id; the default team gets these cards"
            yield ConfigIssue(f"triage[{i}].route", reason)
        if rule.action == "card" and rule.priority not in config.priorities:
            reason = f"priority '{rule.priority}' is not defined in priorities; the default policy is used"
            yield ConfigIssue(f"triage[{i}].priority", reason)


def _teams(config: OrgConfig) -> Iterator[ConfigIssue]:
    if not config.teams:
        yield ConfigIssue("teams", "no teams: calls have nowhere to go but the console channel")
    for i, team in enumerate(config.teams):
        yield from _unknown_staff(
            config, f"teams[{i}].members", team.members, "ignored: nobody is notified in its place"
        )
        yield from _unknown_staff(
            config,
            f"teams[{i}].oncall",
            team.oncall,
            "ignored: when no one on call is known, on-call steps notify nobody",
        )
        if not team.chat_channels() and team.email is None:
            reason = "no Slack or Teams channel: this team's cards go to the console channel only"
            yield ConfigIssue(f"teams[{i}].slack_channel", reason)
        if team.email is not None and not any(_is_staff(config, s) for s in team.staff_ids()):
            reason = "the team has no staff: nobody can say who they are on its mailbox's links"
            yield ConfigIssue(f"teams[{i}].email", reason)


def _contacts(config: OrgConfig) -> Iterator[ConfigIssue]:
    for i, contact in enumerate(config.contacts):
        if contact.owner is not None and not _is_staff(config, contact.owner):
            reason = (
                f"'{contact.owner}' is not a staff id; rules that route to 'owner' send this contact's"
                " cards to the default team"
            )
            yield ConfigIssue(f"contacts[{i}].owner", reason)


def _escalations(config: OrgConfig) -> Iterator[ConfigIssue]:
    for name, policy in config.priorities.items():
        for j, step in enumerate(policy.escalation):
            yield from _step(config, f"priorities.{name}.escalation[{j}]", step)


def _step(config: OrgConfig, path: str, step: EscalationStep) -> Iterator[ConfigIssue]:
    if step.notify not in NOTIFY_TARGETS and not _is_staff(config, step.notify):
        targets = ", ".join(sorted(NOTIFY_TARGETS))
        reason = f"'{step.notify}' is not one of {targets} or a staff id; this step notifies nobody"
        yield ConfigIssue(f"{path}.notify", reason)
    if step.notify == "managers" and not config.managers():
        yield ConfigIssue(f"{path}.notify", "nobody has the manager role, so this step notifies nobody")
    for channel in sorted(set(step.via or ()) - {"slack", "teams"}):
        if channel not in PHONE_CHANNELS:
            later = "the step's other channels (or the console) are used"
            yield ConfigIssue(f"{path}.via", f"{channel} notifications are not available yet; {later}")
        elif not any(channel in member.identities() for member in config.staff):
            reason = f"nobody on staff has a number for {channel}, so this step sends no {channel} message"
            yield ConfigIssue(f"{path}.via", reason)


def _digest(config: OrgConfig) -> Iterator[ConfigIssue]:
    if config.digest is not None:
        yield from _unknown_staff(
            config, "digest.to", config.digest.to, "ignored: nobody gets the digest in its place"
        )
        for i, staff_id in enumerate(config.digest.to):
            member = config.staff_member(staff_id)
            if member is not None and not (set(member.identities()) - {"console"} or member.email):
                reason = f"'{staff_id}' has no slack_user, teams_user or email: the digest cannot reach them"
                yield ConfigIssue(f"digest.to[{i}]", reason)


def _staff(config: OrgConfig) -> Iterator[ConfigIssue]:
    for i, member in enumerate(config.staff):
        if member.slack_user is None and member.teams_user is None:
            reason = "no Slack or Teams user: direct messages reach this person on the console only"
            yield ConfigIssue(f"staff[{i}].slack_user", reason)


def _organization(config: OrgConfig) -> Iterator[ConfigIssue]:
    fallback = config.organization.fallback_team
    if fallback is not None and not _is_team(config, fallback):
        reason = f"'{fallback}' is not a team id; the first team is used"
        yield ConfigIssue("organization.fallback_team", reason)


def _reception(config: OrgConfig) -> Iterator[ConfigIssue]:
    if config.reception.allow == "receptionists" and not _with_role(config, "receptionist"):
        reason = f"nobody has the receptionist role, so nobody can use {config.reception.command}"
        yield ConfigIssue("reception.allow", reason)


def _unknown_staff(config: OrgConfig, path: str, ids: list[str], consequence: str) -> Iterator[ConfigIssue]:
    for i, staff_id in enumerate(ids):
        if not _is_staff(config, staff_id):
            yield ConfigIssue(f"{path}[{i}]", f"'{staff_id}' is not a staff id; {consequence}")


def _is_route(config: OrgConfig, route: str) -> bool:
    return route == ROUTE_OWNER or _is_team(config, route) or _is_staff(config, route)


def _is_staff(config: OrgConfig, staff_id: str) -> bool:
    return config.staff_member(staff_id) is not None


def _is_team(config: OrgConfig, team_id: str) -> bool:
    return config.team(team_id) is not None


def _with_role(config: OrgConfig, role: str) -> bool:
    return any(role in member.roles for member in config.staff)


# --- YAML ---------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML with 1.2 scalars: ``9:30`` stays a string, ``NO`` is Norway, ``on`` is a word.

    A key written twice in the same mapping is an error instead of silently keeping the last one.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                if key_node.value in seen:
                    problem = f"the key '{key_node.value}' is written twice"
                    raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


_DROPPED_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "timestamp")}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YAML12_SCALARS = (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    ("float", r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$", "-+.0123456789"),
)
for _tag, _pattern, _first in _YAML12_SCALARS:
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))


def _read_yaml(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([ConfigIssue(FILE_PATH, f"file not found: {file}")], file) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(FILE_PATH, f"cannot read {file}: {exc}")], file) from exc
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_issue(exc)], file) from exc


def yaml_issue(exc: yaml.YAMLError) -> ConfigIssue:
    """A YAML syntax error as an issue located by line and column."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        reason = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        return ConfigIssue(f"line {mark.line + 1}, column {mark.column + 1}", reason)
    return ConfigIssue(FILE_PATH, f"invalid YAML: {exc}")
