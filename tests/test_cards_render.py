"""What a card looks like, state by state, in Spanish and English: compared to files in tests/golden/.

Run with ``UPDATE_GOLDEN=1`` to (re)write the golden files after an intended change, then review the diff.
"""

from __future__ import annotations

import json
import os
import string
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.lifecycle import Actor, Change, refusal
from bot.i18n import CATALOGUES
from cards.actions import ActionId, CardStatus, Outcome
from cards.blockkit import render_blocks
from cards.build import build_card
from cards.model import CardFacts
from cards.text import render_text

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
NOW = datetime(2026, 11, 24, 9, 5, tzinfo=UTC)  # Tuesday 10:05 in Madrid

OPEN = CardFacts(
    card_id=42,
    version=1,
    status=CardStatus.OPEN,
    source="call",
    category="client",
    priority="urgent",
    caller_name="Juan Pérez",
    caller_number="+34911222333",
    company="Construcciones Pérez",
    summary="Soy Juan Pérez, se ha roto la tubería de la obra <urgente> & hay agua",
    created_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    claim_deadline=datetime(2026, 11, 24, 9, 2, tzinfo=UTC),
    team_name="Recepción",
    addressee_name="Ana García",
    claimed_by_name=None,
    resolved_by_name=None,
    outcome=None,
    callback_at=None,
    escalated_to_names=("Luis Martín",),
    recording_url="https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0",
    created_by_name=None,
    timezone="Europe/Madrid",
    locale="es",
)
STATES: dict[str, CardFacts] = {
    "open": OPEN,
    "claimed": replace(
        OPEN, version=2, status=CardStatus.CLAIMED, claimed_by_name="Ana García", escalated_to_names=()
    ),
    "callback": replace(
        OPEN,
        version=3,
        status=CardStatus.CALLBACK,
        source="recado",
        priority="normal",
        category="recado",
        caller_name=None,
        company=None,
        summary="Quiere cambiar la cita del jueves",
        recording_url=None,
        claimed_by_name="Luis Martín",
        callback_at=datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        created_by_name="Rocío Díaz",
        escalated_to_names=(),
    ),
    "resolved": replace(
        OPEN,
        version=4,
        status=CardStatus.RESOLVED,
        source="missed",
        priority="high",
        category="lead",
        caller_name=None,
        caller_number=None,
        company=None,
        summary="",
        addressee_name=None,
        recording_url=None,
        claimed_by_name="Marta López",
        resolved_by_name="Marta López",
        outcome=Outcome.QUALIFIED_LEAD,
    ),
}
CASES = [(state, locale) for state in STATES for locale in ("es", "en")]


def _check(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing: run the tests once with UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path.name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it)"


@pytest.mark.parametrize(("state", "locale"), CASES)
def test_block_kit_matches_the_golden_file(state: str, locale: str) -> None:
    view = build_card(replace(STATES[state], locale=locale), NOW)
    blocks = json.dumps(render_blocks(view), ensure_ascii=False, indent=2) + "\n"
    _check(GOLDEN / f"card_{state}_{locale}.json", blocks)


@pytest.mark.parametrize(("state", "locale"), CASES)
def test_plain_text_matches_the_golden_file(state: str, locale: str) -> None:
    view = build_card(replace(STATES[state], locale=locale), NOW)
    _check(GOLDEN / f"card_{state}_{locale}.txt", render_text(view) + "\n")


def test_golden_cards_say_what_each_state_means() -> None:
    """A guard on the goldens themselves, so a bad render cannot be blessed by UPDATE_GOLDEN unnoticed."""
    expectations = {
        ("open", "es"): [
            "Pendiente: nadie la ha reclamado",
            "Escalada a Luis Martín",
            "&lt;urgente&gt; &amp;",
        ],
        ("claimed", "en"): ["Claimed by Ana García", '"action_id": "release"'],
        ("callback", "es"): ["Devolución programada: Luis Martín, mañana 09:00", "Recado tomado por"],
        ("resolved", "en"): ["Closed by Marta López: Qualified lead", "Missed call"],
    }
    for (state, locale), needles in expectations.items():
        text = (GOLDEN / f"card_{state}_{locale}.json").read_text(encoding="utf-8")
        for needle in needles:
            assert needle in text, (state, locale, needle)
    resolved = json.loads((GOLDEN / "card_resolved_es.json").read_text(encoding="utf-8"))
    assert [b for b in resolved if b["type"] == "actions"] == []
    opened = json.loads((GOLDEN / "card_open_es.json").read_text(encoding="utf-8"))
    [actions] = [b for b in opened if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [
        "claim",
        "schedule_callback",
        "add_note",
        "reassign",
        "resolve",
    ]
    assert {b["block_id"] for b in opened} >= {"card-42-r1-head", "card-42-r1-actions"}


CHANGE_OF_ACTION = {
    ActionId.CLAIM: Change.CLAIM,
    ActionId.RELEASE: Change.RELEASE,
    ActionId.RESOLVE: Change.RESOLVE,
    ActionId.SCHEDULE_CALLBACK: Change.CALLBACK,
    ActionId.REASSIGN: Change.REASSIGN,
    ActionId.ADD_NOTE: Change.NOTE,
    ActionId.ACCEPT_TRANSFER: Change.ACCEPT_TRANSFER,
}


@pytest.mark.parametrize("state", STATES)
def test_a_card_offers_only_changes_its_state_allows(state: str) -> None:
    """The buttons of each state against the lifecycle's rules (for the card's holder, who may do
    the most): a button whose change the state refuses would only ever earn an ephemeral refusal."""
    facts = STATES[state]
    holder = Actor("ana")
    offered = [action.id for action in build_card(facts, NOW).actions]
    refused = {a: refusal(CHANGE_OF_ACTION[a], facts.status, "ana", holder) for a in offered}
    assert {a: r for a, r in refused.items() if r is not None} == {}


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def test_spanish_and_english_catalogues_have_the_same_keys() -> None:
    es, en = CATALOGUES["es"], CATALOGUES["en"]
    assert sorted(set(es) - set(en)) == [], "missing in English"
    assert sorted(set(en) - set(es)) == [], "missing in Spanish"


def test_each_text_has_the_same_placeholders_in_both_languages() -> None:
    es, en = CATALOGUES["es"], CATALOGUES["en"]
    different = {
        key: (_placeholders(es[key]), _placeholders(en[key]))
        for key in es.keys() & en.keys()
        if _placeholders(es[key]) != _placeholders(en[key])
    }
    assert different == {}
    assert _placeholders(es["card.status.callback"]) == {"name", "when"}  # the parser really finds them


def test_a_card_with_an_enormous_name_and_message_stays_within_slacks_limits() -> None:
    """Slack refuses the whole message (invalid_blocks) for a section over 3,000 characters or a
    field over 2,000; a receptionist's 3,000-character name must not cost the card."""
    huge = replace(OPEN, caller_name="Ñ" * 3000, company="Ó" * 3000, summary="dolor " * 1000)
    for block in render_blocks(build_card(huge, NOW)):
        assert len(block.get("text", {}).get("text", "")) <= 3000
        assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))
