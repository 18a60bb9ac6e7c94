"""The modals staff and receptionists fill in: close with outcome, callback, note, recado."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.domain.org import OrgConfig
from bot.i18n import t
from cards.actions import Outcome
from cards.build import outcome_label

CALLBACK = "schedule_callback_modal"
NOTE = "add_note_modal"
RECADO = "recado_modal"
RESOLVE = "resolve_modal"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:75], "emoji": True}


def _input(block: str, label: str, element: dict[str, Any], optional: bool = False) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block,
        "label": _plain(label),
        "optional": optional,
        "element": {**element, "action_id": block},
    }


def _modal(
    callback_id: str, title: str, submit: str, locale: str, metadata: str, blocks: list[Any]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title[:24]),
        "submit": _plain(submit),
        "close": _plain(t(locale, "modal.cancel")),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def callback_modal(locale: str, metadata: str, now: datetime, assignee: str | None) -> dict[str, Any]:
    initial = int((now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0).timestamp())
    who: dict[str, Any] = {"type": "users_select"}
    if assignee:
        who["initial_user"] = assignee
    blocks = [
        _input(
            "when", t(locale, "modal.callback.when"), {"type": "datetimepicker", "initial_date_time": initial}
        ),
        _input("assignee", t(locale, "modal.callback.assignee"), who),
        _input(
            "note", t(locale, "modal.callback.note"), {"type": "plain_text_input", "multiline": True}, True
        ),
        _input(
            "tell_caller",
            t(locale, "modal.callback.tell_caller"),
            {"type": "checkboxes", "options": [_option(t(locale, "modal.callback.tell_caller_yes"), "yes")]},
            True,
        ),
    ]
    return _modal(
        CALLBACK, t(locale, "modal.callback.title"), t(locale, "modal.submit"), locale, metadata, blocks
    )


def resolve_modal(locale: str, metadata: str, chosen: Outcome) -> dict[str, Any]:
    """Close a card: the outcome picked on the card (it can still be changed) and an optional note."""
    options = [_option(outcome_label(locale, outcome), outcome.value) for outcome in Outcome]
    initial = next(o for o in options if o["value"] == chosen.value)
    select: dict[str, Any] = {"type": "static_select", "options": options, "initial_option": initial}
    blocks = [
        _input("outcome", t(locale, "modal.resolve.outcome"), select),
        _input(
            "note", t(locale, "modal.resolve.note"), {"type": "plain_text_input", "multiline": True}, True
        ),
    ]
    return _modal(
        RESOLVE, t(locale, "modal.resolve.title"), t(locale, "modal.resolve.submit"), locale, metadata, blocks
    )


def note_modal(locale: str, metadata: str) -> dict[str, Any]:
    blocks = [_input("note", t(locale, "modal.note.text"), {"type": "plain_text_input", "multiline": True})]
    return _modal(NOTE, t(locale, "modal.note.title"), t(locale, "modal.submit"), locale, metadata, blocks)


def recado_modal(config: OrgConfig, metadata: str) -> dict[str, Any]:
    locale = config.locale
    options = [_option(f"{tm.name}", f"team:{tm.id}") for tm in config.teams]
    options += [_option(s.name, f"person:{s.id}") for s in config.staff]
    urgent = {"type": "checkboxes", "options": [_option(t(locale, "modal.recado.urgent"), "urgent")]}
    blocks = [
        _input("name", t(locale, "modal.recado.name"), {"type": "plain_text_input"}, True),
        _input("phone", t(locale, "modal.recado.phone"), {"type": "plain_text_input"}, True),
        _input("to", t(locale, "modal.recado.to"), {"type": "static_select", "options": options[:100]}, True),
        _input("urgent", t(locale, "modal.recado.urgent"), urgent, True),
        _input("reason", t(locale, "modal.recado.reason"), {"type": "plain_text_input", "multiline": True}),
    ]
    return _modal(
        RECADO, t(locale, "modal.recado.title"), t(locale, "modal.recado.submit"), locale, metadata, blocks
    )


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(label), "value": value}
