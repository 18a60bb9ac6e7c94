"""Pure decoding of Slack payloads into what the use cases take."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cards.actions import Outcome, parse_button_value, parse_option_value
from cards.blockkit import parse_block_id


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


def modal_context(card_id: int | None, channel: str | None) -> str:
    return json.dumps({"card": card_id, "channel": channel})


def read_modal_context(view: dict[str, Any]) -> tuple[int | None, str | None]:
    """Raises: ValueError when the modal's private metadata is not ours."""
    data = json.loads(view.get("private_metadata") or "{}")
    card = data.get("card")
    return (int(card) if card is not None else None), data.get("channel")


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
