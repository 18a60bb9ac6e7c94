"""Slack Block Kit rendering of the neutral card."""

from __future__ import annotations

from typing import Any

from cards.actions import block_id
from cards.model import ActionView, CardView

Block = dict[str, Any]
# Slack refuses the whole message (invalid_blocks) for a section text over 3,000 characters or a
# field over 2,000: a caller's name or message that long is cut rather than the card lost.
TEXT_CHARS, FIELD_CHARS = 3000, 2000


def render_blocks(view: CardView) -> list[Block]:
    """The blocks of a card message. Block ids change with every revision."""
    blocks = [_head(view), _said(view)]
    if view.recording_url and view.recording_label:
        blocks.append(_context(view, "rec", f"🎙️ <{view.recording_url}|{escape(view.recording_label)}>"))
    blocks.append(_context(view, "status", _status_text(view)))
    if view.actions:
        blocks.append(
            {
                "type": "actions",
                "block_id": block_id(view.card_id, view.revision, "actions"),
                "elements": [_element(a) for a in view.actions],
            }
        )
    return blocks


def escape(text: str) -> str:
    """Slack's three control characters, escaped as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _head(view: CardView) -> Block:
    block: Block = {
        "type": "section",
        "block_id": block_id(view.card_id, view.revision, "head"),
        "text": _mrkdwn(f"*{escape(view.title)}*\n*{escape(view.headline)}*"),
    }
    if view.fields:
        fields = view.fields[:10]
        block["fields"] = [_mrkdwn(f"*{escape(f.label)}*\n{escape(f.value)}", FIELD_CHARS) for f in fields]
    return block


def _said(view: CardView) -> Block:
    quoted = "\n".join(f"> {escape(line)}" for line in view.summary.splitlines() or [""])
    return {
        "type": "section",
        "block_id": block_id(view.card_id, view.revision, "said"),
        "text": _mrkdwn(f"*{escape(view.said_label)}*\n{quoted}"),
    }


def _status_text(view: CardView) -> str:
    lines = [escape(view.status_line)]
    if view.escalation_line:
        lines.append(f"⏫ {escape(view.escalation_line)}")
    return "  ·  ".join(lines)


def _context(view: CardView, part: str, text: str) -> Block:
    return {
        "type": "context",
        "block_id": block_id(view.card_id, view.revision, part),
        "elements": [_mrkdwn(text)],
    }


def _element(action: ActionView) -> Block:
    placeholder = {"type": "plain_text", "text": action.label[:150], "emoji": True}
    if action.control == "staff_select":
        return {"type": "users_select", "action_id": action.id.value, "placeholder": placeholder}
    if action.control == "outcome_select":
        options = [
            {"text": {"type": "plain_text", "text": o.label}, "value": o.value} for o in action.options
        ]
        return {
            "type": "static_select",
            "action_id": action.id.value,
            "placeholder": placeholder,
            "options": options,
        }
    button: Block = {
        "type": "button",
        "action_id": action.id.value,
        "text": placeholder,
        "value": action.value,
    }
    if action.style != "default":
        button["style"] = action.style
    return button


def _mrkdwn(text: str, limit: int = TEXT_CHARS) -> Block:
    return {"type": "mrkdwn", "text": text[:limit]}
