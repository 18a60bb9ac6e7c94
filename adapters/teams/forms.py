"""The ``recado`` form (an Adaptive Card with the fields of Slack's ``/recado`` modal) and reading
its answers back into a draft."""

from __future__ import annotations

from typing import Any

from bot.domain.org import OrgConfig
from bot.domain.phones import normalize_phone, org_region
from bot.domain.recado import RecadoDraft
from bot.i18n import t
from cards.adaptive import SCHEMA, VERSION

RECADO_VERB = "recado"


def recado_form(config: OrgConfig) -> dict[str, Any]:
    locale = config.locale
    choices = [{"title": tm.name, "value": f"team:{tm.id}"} for tm in config.teams]
    choices += [{"title": s.name, "value": f"person:{s.id}"} for s in config.staff]
    reason = t(locale, "modal.recado.reason")
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": t(locale, "modal.recado.title"), "weight": "bolder", "wrap": True},
        {"type": "Input.Text", "id": "name", "label": t(locale, "modal.recado.name")},
        {"type": "Input.Text", "id": "phone", "label": t(locale, "modal.recado.phone"), "style": "tel"},
        {
            "type": "Input.ChoiceSet",
            "id": "to",
            "label": t(locale, "modal.recado.to"),
            "choices": choices[:100],
        },
        {
            "type": "Input.Toggle",
            "id": "urgent",
            "title": t(locale, "modal.recado.urgent"),
            "valueOn": "urgent",
            "valueOff": "",
        },
        {
            "type": "Input.Text",
            "id": "reason",
            "label": reason,
            "isMultiline": True,
            "isRequired": True,
            "errorMessage": reason,
        },
    ]
    submit = {
        "type": "Action.Execute",
        "verb": RECADO_VERB,
        "title": t(locale, "modal.recado.submit"),
        "data": {},
    }
    return {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body, "actions": [submit]}


def recado_draft(data: dict[str, Any], config: OrgConfig) -> RecadoDraft | str:
    """The form's answers as a draft, or what is wrong with them (in the organisation's language)."""
    locale = config.locale
    raw_phone, reason = _text(data, "phone"), _text(data, "reason")
    phone = normalize_phone(raw_phone, org_region(config.organization)) if raw_phone else None
    if raw_phone and phone is None:
        return t(locale, "modal.error.phone")
    if not reason:
        return t(locale, "modal.error.required")
    kind, _, addressee = _text(data, "to").partition(":")
    return RecadoDraft(
        caller_name=_text(data, "name") or None,
        caller_number=phone,
        addressee_kind=kind if kind in ("team", "person") else None,  # type: ignore[arg-type]
        addressee_id=addressee or None,
        urgent=_text(data, "urgent") == "urgent",
        reason=reason,
    )


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""
