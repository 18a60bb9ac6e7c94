"""Triage: who called and what they said decide a category, a priority and where the card goes.

Rules are tried in order and the first whose conditions all hold wins; with none, the call is
"general" and "normal" for the default team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.hours import BusinessCalendar
from bot.domain.org import ContactConfig, OrgConfig, TriageRule, TriageWhen
from bot.domain.phones import normalize_phone, org_region
from bot.domain.text import contains_keyword, normalize_text

OWNER_ROUTE = "owner"
DEFAULT_CATEGORY = "general"
DEFAULT_PRIORITY = "normal"

_NO_RULE = TriageRule(category=DEFAULT_CATEGORY, priority=DEFAULT_PRIORITY)

Action = Literal["card", "reject"]
RouteKind = Literal["team", "person", "none"]


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    id: str | None
    team_id: str | None
    fallback: bool = False


@dataclass(frozen=True)
class RuleMatch:
    keyword: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class TriageDecision:
    category: str
    priority: str
    action: Action
    route_kind: RouteKind
    route_id: str | None
    team_id: str | None
    transfer_allowed: bool
    in_hours: bool
    rule_index: int | None
    matched_keyword: str | None
    matched_tag: str | None
    route_fallback: bool
    caller_number: str | None
    contact: ContactConfig | None


@dataclass(frozen=True)
class CallFacts:
    """What triage knows about a call: the E.164 number, the contact, the normalised text, the hours."""

    number: str | None
    contact: ContactConfig | None
    text_norm: str
    in_hours: bool


def triage(
    config: OrgConfig, calendar: BusinessCalendar, *, caller_number: str | None, text: str, at: datetime
) -> TriageDecision:
    number = normalize_phone(caller_number, org_region(config.organization))
    call = CallFacts(number, find_contact(config, number), normalize_text(text), calendar.is_open(at))
    for index, rule in enumerate(config.triage):
        match = match_rule(rule.when, call)
        if match is not None:
            return _decide(config, call, rule, index, match)
    return _decide(config, call, _NO_RULE, None, RuleMatch())


def find_contact(config: OrgConfig, number: str | None) -> ContactConfig | None:
    """The configured contact with this E.164 number, if any."""
    if number is None:
        return None
    return _contacts_by_number(config).get(number)


_CONTACT_INDEXES: dict[int, tuple[OrgConfig, dict[str, ContactConfig]]] = {}


def _contacts_by_number(config: OrgConfig) -> dict[str, ContactConfig]:
    """The contacts keyed by E.164 number (the first one wins), built once per configuration."""
    cached = _CONTACT_INDEXES.get(id(config))
    if cached is not None and cached[0] is config:
        return cached[1]
    index: dict[str, ContactConfig] = {}
    for contact in config.contacts:
        index.setdefault(normalize_phone(contact.phone) or contact.phone, contact)
    if len(_CONTACT_INDEXES) > 64:  # configurations are few and live long; tests make many
        _CONTACT_INDEXES.clear()
    _CONTACT_INDEXES[id(config)] = (config, index)
    return index


def match_rule(when: TriageWhen, call: CallFacts) -> RuleMatch | None:
    """What made the conditions hold, or None when one of them does not."""
    keyword = next((k for k in when.keywords if contains_keyword(call.text_norm, k)), None)
    if when.keywords and keyword is None:
        return None
    tag = _tag_of(call.contact, when.contact_tag)
    if when.contact_tag is not None and tag is None:
        return None
    if when.known_caller is not None and when.known_caller != (call.contact is not None):
        return None
    if when.hours is not None and (when.hours == "in") != call.in_hours:
        return None
    return RuleMatch(keyword, tag)


def resolve_route(config: OrgConfig, route: str | None, contact: ContactConfig | None) -> Route:
    """Where a rule's ``route`` sends the card; unknown ids fall back to the default team."""
    if route is None:
        return _default_route(config)
    if route == OWNER_ROUTE:
        owner = contact.owner if contact else None
        return _default_route(config) if owner is None else _person_route(config, owner)
    if config.team(route) is not None:
        return Route("team", route, route)
    return _person_route(config, route)


def _decide(
    config: OrgConfig, call: CallFacts, rule: TriageRule, index: int | None, match: RuleMatch
) -> TriageDecision:
    card = rule.action == "card"
    route = resolve_route(config, rule.route, call.contact) if card else Route("none", None, None)
    return TriageDecision(
        category=rule.category,
        priority=rule.priority,
        action=rule.action,
        route_kind=route.kind,
        route_id=route.id,
        team_id=route.team_id,
        transfer_allowed=card and rule.transfer and call.in_hours,
        in_hours=call.in_hours,
        rule_index=index,
        matched_keyword=match.keyword,
        matched_tag=match.tag,
        route_fallback=route.fallback,
        caller_number=call.number,
        contact=call.contact,
    )


def _tag_of(contact: ContactConfig | None, wanted: str | None) -> str | None:
    if contact is None or wanted is None:
        return None
    key = normalize_text(wanted)
    return next((t for t in contact.tags if normalize_text(t) == key), None)


def _person_route(config: OrgConfig, staff_id: str) -> Route:
    if config.staff_member(staff_id) is None:
        return _default_route(config, fallback=True)
    teams = config.teams_of(staff_id)
    team = teams[0] if teams else config.default_team()
    return Route("person", staff_id, team.id if team else None)


def _default_route(config: OrgConfig, *, fallback: bool = False) -> Route:
    team = config.default_team()
    if team is None:
        return Route("none", None, None, fallback)
    return Route("team", team.id, team.id, fallback)
