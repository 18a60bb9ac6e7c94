"""Pure decoding of Slack payloads into what the use cases take."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.org import OrgConfig
from cards.actions import Outcome, parse_button_value, parse_option_value
from cards.blockkit import parse_block_id
from cards.model import FormView

_SLACK_MENTION = re.compile(r"<([@#])(\w+)(?:\|([^>]*))?>")


@dataclass(frozen=True)
class Click:
    action_id: str
    card_id: int
    user: str
    channel: str | None
    trigger_id: str | None
    outcome: Outcome | None = None
    selected_user: str | None = None


def parse_click(body: dict[str, Any], action: dict[str, Any]) -> Click:
    """Raises: ValueError/KeyError when the payload does not name a card."""
    action_id = str(action["action_id"])
    outcome, selected, card_id = None, None, None
    if "selected_option" in action:
        card_id, outcome = parse_option_value((action.get("selected_option") or {}).get("value"))
    elif "selected_user" in action:
        selected, card_id = action.get("selected_user"), parse_block_id(action.get("block_id"))
    else:
        card_id = parse_button_value(action.get("value"))
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return Click(action_id, card_id, body["user"]["id"], channel, body.get("trigger_id"), outcome, selected)


def neutral_mentions(text: str, config: OrgConfig) -> str:
    """Slack's mentions written the neutral way the domain reads (``@staff_id``, ``@team_id``):
    ``<@U0ANA|ana>`` of a staff member, ``<#C0RECEP|recepcion>`` of a team's channel. A mention of
    anyone else keeps its label (or its id)."""

    def neutral(match: re.Match[str]) -> str:
        sigil, ref, label = match.groups()
        if sigil == "@":
            staff = config.staff_by_identity("slack", ref)
            return f"@{staff.id}" if staff else (label or ref)
        team = next((t for t in config.teams if t.slack_channel == ref), None)
        return f"@{team.id}" if team else f"#{label or ref}"

    return _SLACK_MENTION.sub(neutral, text)


def modal_context(card_id: int | None, channel: str | None, reply_url: str | None = None) -> str:
    data: dict[str, Any] = {"card": card_id, "channel": channel}
    if reply_url:
        data["reply_url"] = reply_url
    return json.dumps(data)


def read_modal_context(view: dict[str, Any]) -> tuple[int | None, str | None]:
    """Raises: ValueError when the modal's private metadata is not ours."""
    data = json.loads(view.get("private_metadata") or "{}")
    card = data.get("card")
    return (int(card) if card is not None else None), data.get("channel")


def modal_reply_url(view: dict[str, Any]) -> str | None:
    """The response URL of the command that opened the modal, where it has one."""
    url = json.loads(view.get("private_metadata") or "{}").get("reply_url")
    return str(url) if url else None


def form_values(view: dict[str, Any], form: FormView) -> dict[str, Any]:
    """A submitted modal's answers, by the name of each of the form's inputs."""
    return {field.name: state_value(view, field.name) for field in form.inputs}


def state_value(view: dict[str, Any], block: str) -> Any:
    """The value of the input in ``block`` (the action id equals the block id in our modals)."""
    element = ((view.get("state") or {}).get("values") or {}).get(block, {}).get(block) or {}
    kind = element.get("type")
    if kind == "datetimepicker":
        seconds = element.get("selected_date_time")
        return datetime.fromtimestamp(int(seconds), UTC) if seconds is not None else None
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "static_select":
        return (element.get("selected_option") or {}).get("value")
    if kind == "checkboxes":
        return bool(element.get("selected_options"))
    return (element.get("value") or "").strip()
