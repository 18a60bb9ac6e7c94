"""Adaptive Cards (version 1.5, the newest Teams renders) from the neutral card.

Every action is an ``Action.Execute`` whose ``verb`` is the action id and whose ``data`` carries the
card id; an action that needs answers opens its form in place (``Action.ShowCard``) and the form's
own ``Action.Execute`` sends them, merged into ``data`` under the inputs' names. A date and time is
two inputs, ``<name>_date`` and ``<name>_time``, read back in the organisation's time zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cards.model import ActionView, CardView, DirectView, FormView, InputView

Card = dict[str, Any]
VERSION = "1.5"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_KEY = "card_id"
"""The ``data`` key that carries the card id back."""
_PRIORITY_COLOR = {"urgent": "attention", "high": "warning"}


def render_card(view: CardView, notice: str | None = None) -> Card:
    """The card as everyone sees it; ``notice`` is a line for one person only (the answer to their
    click: why it did not go through)."""
    body: list[Card] = []
    if notice:
        body.append(_text(notice, color="attention", weight="bolder"))
    body += [
        _text(
            view.title, size="medium", weight="bolder", color=_PRIORITY_COLOR.get(view.priority, "default")
        ),
        _text(view.headline, weight="bolder", size="large"),
    ]
    if view.fields:
        body.append({"type": "FactSet", "facts": [{"title": f.label, "value": f.value} for f in view.fields]})
    body += [_text(view.said_label, weight="bolder"), _text(view.summary or "—", is_subtle=True)]
    if view.recording_url and view.recording_label:
        body.append(_text(f"🎙️ [{_markdown(view.recording_label)}]({view.recording_url})"))
    body.append(_text(view.status_line, weight="bolder"))
    if view.escalation_line:
        body.append(_text(f"⏫ {view.escalation_line}", color="warning"))
    return _card(body, view.actions, view.fallback_text, view.timezone)


def render_direct(view: DirectView, link: str | None = None) -> Card:
    """A direct message: its text, the actions the person can take on the card from there, and a
    link to the card's message (``link``), where there is one."""
    card = _card([_text(view.text.plain())], view.actions, view.text.plain(), view.timezone)
    if link:
        opening = {"type": "Action.OpenUrl", "title": view.link_label or link, "url": link}
        card["actions"] = [*card.get("actions", []), opening]
    return card


def read_when(data: dict[str, Any], name: str, timezone: str) -> datetime | None:
    """The instant a date and a time input answered (None when either is missing or malformed)."""
    day, moment = data.get(f"{name}_date"), data.get(f"{name}_time")
    if not isinstance(day, str) or not isinstance(moment, str):
        return None
    try:
        local = datetime.fromisoformat(f"{day}T{moment}")
    except ValueError:
        return None
    return local.replace(tzinfo=ZoneInfo(timezone)) if local.tzinfo is None else local


def _card(body: list[Card], actions: tuple[ActionView, ...], fallback: str, timezone: str) -> Card:
    card: Card = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        card["actions"] = [_action(a, timezone) for a in actions]
    if fallback:
        card["fallbackText"] = fallback
    return card


def _action(action: ActionView, timezone: str) -> Card:
    if action.form is None:
        return _execute(action, action.label)
    return {
        "type": "Action.ShowCard",
        "title": action.label,
        "card": {
            "type": "AdaptiveCard",
            "body": [_text(action.form.title, weight="bolder"), *_inputs(action.form, timezone)],
            "actions": [_execute(action, action.form.submit)],
        },
    }


def _execute(action: ActionView, title: str) -> Card:
    execute: Card = {
        "type": "Action.Execute",
        "verb": action.id.value,
        "title": title,
        "data": {CARD_KEY: action.card_id},
    }
    if action.style == "primary":
        execute["style"] = "positive"
    elif action.style == "danger":
        execute["style"] = "destructive"
    if action.form is not None:
        execute["associatedInputs"] = "auto"
    return execute


def _inputs(form: FormView, timezone: str) -> list[Card]:
    found: list[Card] = []
    for item in form.inputs:
        found += _input(item, timezone)
    return found


def _input(item: InputView, timezone: str) -> list[Card]:
    common: Card = {"label": item.label, "isRequired": item.required}
    if item.required:
        common["errorMessage"] = item.label
    if item.kind == "text":
        return [{"type": "Input.Text", "id": item.name, "isMultiline": item.multiline, **common}]
    if item.kind in ("choice", "staff"):
        choices = [{"title": c.label, "value": c.value} for c in item.choices]
        select: Card = {"type": "Input.ChoiceSet", "id": item.name, "choices": choices, "style": "compact"}
        if item.initial:
            select["value"] = item.initial
        if item.kind == "staff" and item.actor_default and not item.initial:
            common = {**common, "isRequired": False}
            common.pop("errorMessage", None)
        return [{**select, **common}]
    return _date_and_time(item, common, timezone)


def _date_and_time(item: InputView, common: Card, timezone: str) -> list[Card]:
    day: Card = {"type": "Input.Date", "id": f"{item.name}_date", **common}
    moment: Card = {"type": "Input.Time", "id": f"{item.name}_time", **common}
    if item.initial:
        local = datetime.fromisoformat(item.initial).astimezone(ZoneInfo(timezone))
        day["value"], moment["value"] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M")
    return [day, moment]


def _text(text: str, **style: Any) -> Card:
    block: Card = {"type": "TextBlock", "text": text, "wrap": True}
    for key, value in style.items():
        name = "isSubtle" if key == "is_subtle" else key
        if value != "default":
            block[name] = value
    return block


def _markdown(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")
