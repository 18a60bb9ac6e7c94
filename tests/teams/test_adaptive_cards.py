"""Adaptive Cards, state by state, in Spanish and English: valid against the 1.5 schema and equal to
the golden files in tests/golden/ (``UPDATE_GOLDEN=1`` rewrites them after an intended change)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cards.actions import ActionId
from cards.adaptive import read_when, render_card, render_direct
from cards.build import action_view, build_card
from cards.model import DirectView, OptionView, Text
from tests.teams.cardschema import assert_valid_card
from tests.test_cards_render import CASES, GOLDEN, NOW, STATES, _check

STAFF = (OptionView("Ana García", "ana"), OptionView("Luis Martín", "luis"))


def _card(state: str, locale: str, notice: str | None = None) -> dict[str, object]:
    view = build_card(replace(STATES[state], locale=locale, staff=STAFF), NOW)
    return render_card(view, notice)


@pytest.mark.parametrize(("state", "locale"), CASES)
def test_adaptive_card_is_valid_and_matches_the_golden_file(state: str, locale: str) -> None:
    card = _card(state, locale)
    assert_valid_card(card)
    _check(GOLDEN / f"adaptive_{state}_{locale}.json", json.dumps(card, ensure_ascii=False, indent=2) + "\n")


def _executes(card: dict[str, object]) -> list[dict[str, object]]:
    found = []
    for action in card.get("actions", []):  # type: ignore[attr-defined]
        if action["type"] == "Action.Execute":
            found.append(action)
        else:
            found += _executes(action["card"])
    return found


def test_every_action_is_an_execute_whose_verb_is_the_action_id_and_whose_data_is_the_card() -> None:
    card = _card("open", "es")
    verbs = [a["verb"] for a in _executes(card)]
    assert verbs == ["claim", "schedule_callback", "add_note", "reassign", "resolve"]
    assert all(a["data"] == {"card_id": 42} for a in _executes(card))
    shown = {a["title"]: a["card"] for a in card["actions"] if a["type"] == "Action.ShowCard"}  # type: ignore[index]
    assert set(shown) == {"Programar devolución", "Añadir nota", "Reasignar a…", "Cerrar con resultado…"}
    resolve_inputs = [
        i["id"] for i in shown["Cerrar con resultado…"]["body"] if i["type"].startswith("Input.")
    ]
    assert resolve_inputs == ["outcome", "note"]
    callback_inputs = [
        i["id"] for i in shown["Programar devolución"]["body"] if i["type"].startswith("Input.")
    ]
    assert callback_inputs == ["when_date", "when_time", "assignee", "note", "tell_caller"]


def test_a_notice_for_the_clicker_comes_first_and_the_card_stays_valid() -> None:
    card = _card("claimed", "en", notice="Luis Martín has already claimed it.")
    assert_valid_card(card)
    assert card["body"][0]["text"] == "Luis Martín has already claimed it."  # type: ignore[index]


def test_a_direct_message_is_a_small_valid_card_with_its_buttons() -> None:
    view = DirectView(
        Text.of("Escalada: Urgente · Cliente — Juan Pérez"),
        42,
        (action_view(ActionId.CLAIM, 42, "es"),),
        timezone="Europe/Madrid",
    )
    card = render_direct(view)
    assert_valid_card(card)
    assert [a["verb"] for a in _executes(card)] == ["claim"]


def test_a_date_and_time_are_read_back_in_the_organisation_time_zone() -> None:
    when = read_when({"when_date": "2026-11-25", "when_time": "09:30"}, "when", "Europe/Madrid")
    assert when == datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    assert read_when({"when_date": "2026-11-25"}, "when", "Europe/Madrid") is None
    assert read_when({"when_date": "mañana", "when_time": "9"}, "when", "Europe/Madrid") is None


def test_the_schema_check_refuses_a_card_teams_would_not_render() -> None:
    card = _card("open", "en")
    broken = {**card, "msteams": {"entities": []}, "body": [{"type": "TextBlock"}]}
    with pytest.raises(AssertionError):
        assert_valid_card(broken)

