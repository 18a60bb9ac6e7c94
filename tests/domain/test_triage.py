from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.hours import BusinessCalendar
from bot.domain.org import OrgConfig
from bot.domain.triage import Route, TriageDecision, resolve_route, triage

MADRID = ZoneInfo("Europe/Madrid")
OPEN = datetime(2026, 5, 5, 10, 0, tzinfo=MADRID)  # a Tuesday morning
CLOSED = datetime(2026, 5, 5, 21, 0, tzinfo=MADRID)
STRANGER = "+34600999888"
JUAN = "+34911222333"  # vip, client, owner ana
CARMEN = "+34600555666"  # client, owner rocio (in no team)
SPAM = "+34902000111"  # blocked


def decide(
    clinic: OrgConfig,
    calendar: BusinessCalendar,
    text: str,
    caller: str | None = STRANGER,
    at: datetime = OPEN,
) -> TriageDecision:
    return triage(clinic, calendar, caller_number=caller, text=text, at=at)


def test_first_matching_rule_wins(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    decision = decide(clinic, calendar, "Es urgente, y quiero un presupuesto")
    assert (decision.category, decision.priority, decision.rule_index) == ("urgent", "urgent", 1)
    assert decision.matched_keyword == "urgente"
    assert (decision.route_kind, decision.route_id, decision.team_id) == ("team", "recepcion", "recepcion")


def test_keywords_ignore_accents_and_case(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    decision = decide(clinic, calendar, "¡Es una URGÉNCIA!")
    assert decision.category == "urgent"
    assert decision.matched_keyword == "urgencia"


def test_keywords_match_at_word_start_and_across_words(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    assert decide(clinic, calendar, "tengo muchos dolores").category == "urgent"
    assert decide(clinic, calendar, "quería pedir la PRIMERA   cita").category == "lead"
    assert decide(clinic, calendar, "mis condolores").category == "general"


def test_blocked_contact_is_rejected(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    decision = decide(clinic, calendar, "urgente", caller=SPAM)
    assert decision.action == "reject"
    assert (decision.category, decision.rule_index, decision.matched_tag) == ("blocked", 0, "blocked")
    assert (decision.route_kind, decision.route_id, decision.team_id) == ("none", None, None)
    assert not decision.transfer_allowed
    assert decision.contact is not None and decision.contact.name == "Spam"


def test_owner_route_goes_to_the_contacts_owner(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    decision = decide(clinic, calendar, "hola, soy Juan", caller="whatsapp:+34 911 22 23 33")
    assert decision.category == "client"
    assert decision.matched_tag == "client"
    assert (decision.route_kind, decision.route_id, decision.team_id) == ("person", "ana", "recepcion")
    assert decision.caller_number == JUAN
    assert not decision.route_fallback


def test_a_person_in_no_team_uses_the_default_team(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    decision = decide(clinic, calendar, "hola", caller=CARMEN)
    assert (decision.route_kind, decision.route_id, decision.team_id) == ("person", "rocio", "recepcion")


def test_staff_route_uses_the_persons_team(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    decision = decide(clinic, calendar, "una duda con la factura")
    assert (decision.route_kind, decision.route_id, decision.team_id) == ("person", "marta", "facturacion")


def test_rule_without_route_goes_to_the_default_team(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    decision = decide(clinic, calendar, "¿me da un presupuesto?")
    assert (decision.category, decision.priority) == ("lead", "high")
    assert (decision.route_kind, decision.route_id, decision.route_fallback) == ("team", "recepcion", False)


def test_unknown_route_falls_back_to_the_default_team(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    decision = decide(clinic, calendar, "he perdido la tarjeta")
    assert decision.category == "lost"
    assert (decision.route_kind, decision.route_id, decision.route_fallback) == ("team", "recepcion", True)


def test_no_rule_matches(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    decision = decide(clinic, calendar, "hola")
    assert (decision.category, decision.priority, decision.action) == ("general", "normal", "card")
    assert (decision.route_kind, decision.route_id, decision.rule_index) == ("team", "recepcion", None)
    assert decision.matched_keyword is None and decision.matched_tag is None


def test_hours_and_known_caller_conditions(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    night = decide(clinic, calendar, "hola", at=CLOSED)
    assert (night.category, night.route_kind, night.route_id, night.in_hours) == (
        "night",
        "person",
        "luis",
        False,
    )
    assert decide(clinic, calendar, "hola", at=OPEN).category == "general"
    assert decide(clinic, calendar, "hola", caller=JUAN, at=CLOSED).category == "client"


def test_transfer_allowed_only_in_hours(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    assert decide(clinic, calendar, "urgente", at=OPEN).transfer_allowed
    closed = decide(clinic, calendar, "urgente", at=CLOSED)
    assert closed.category == "urgent" and not closed.transfer_allowed
    assert not decide(clinic, calendar, "presupuesto", at=OPEN).transfer_allowed


def test_hidden_caller(clinic: OrgConfig, calendar: BusinessCalendar) -> None:
    decision = decide(clinic, calendar, "hola", caller="anonymous")
    assert decision.caller_number is None and decision.contact is None


def test_owner_route_without_contact_or_owner(clinic: OrgConfig) -> None:
    assert resolve_route(clinic, "owner", None) == Route("team", "recepcion", "recepcion")
    spam = clinic.contacts[2]
    assert resolve_route(clinic, "owner", spam) == Route("team", "recepcion", "recepcion")


def test_owner_who_is_not_staff_falls_back(clinic: OrgConfig) -> None:
    stray = clinic.contacts[0].model_copy(update={"owner": "ghost"})
    assert resolve_route(clinic, "owner", stray) == Route("team", "recepcion", "recepcion", fallback=True)


def test_fallback_team_and_no_teams(clinic: OrgConfig) -> None:
    organization = clinic.organization.model_copy(update={"fallback_team": "facturacion"})
    with_fallback = clinic.model_copy(update={"organization": organization})
    assert resolve_route(with_fallback, None, None) == Route("team", "facturacion", "facturacion")
    no_teams = clinic.model_copy(update={"teams": []})
    assert resolve_route(no_teams, "recepcion", None) == Route("none", None, None, fallback=True)
    assert resolve_route(no_teams, "ana", None) == Route("person", "ana", None)
