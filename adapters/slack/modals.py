"""The modals staff and receptionists fill in: a card action's form (close with outcome, callback,
note, reassign), rendered from its neutral ``FormView``, and the recado form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.org import OrgConfig
from bot.i18n import t
from cards.actions import ActionId
from cards.model import FormView, InputView

RECADO = "recado_modal"


def form_callback_id(action: ActionId) -> str:
    """The modal of an action's form: ``resolve_modal``, ``add_note_modal``, …"""
    return f"{action.value}_modal"


def form_modal(action: ActionId, form: FormView, metadata: str, actor: str | None) -> dict[str, Any]:
    """An action's form as a modal; a staff input with no initial value starts at ``actor`` (the
    Slack user filling it in) when the form says so."""
    blocks = [_input(f.name, f.label, _element(f, actor), not f.required) for f in form.inputs]
    return {
        "type": "modal",
        "callback_id": form_callback_id(action),
        "title": _plain(form.title[:24]),
        "submit": _plain(form.submit),
        "close": _plain(form.cancel),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def _element(field: InputView, actor: str | None) -> dict[str, Any]:
    if field.kind == "datetime":
        element: dict[str, Any] = {"type": "datetimepicker"}
        if field.initial:
            element["initial_date_time"] = int(datetime.fromisoformat(field.initial).timestamp())
        return element
    if field.kind == "staff":
        who: dict[str, Any] = {"type": "users_select"}
        if field.actor_default and actor:
            who["initial_user"] = actor
        return who
    if field.kind == "choice":
        options = [_option(o.label, o.value) for o in field.choices]
        select: dict[str, Any] = {"type": "static_select", "options": options}
        initial = next((o for o in options if o["value"] == field.initial), None)
        if initial is not None:
            select["initial_option"] = initial
        return select
    return (
        {"type": "plain_text_input", "multiline": True} if field.multiline else {"type": "plain_text_input"}
    )


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
