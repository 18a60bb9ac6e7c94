"""Slack Block Kit rendering of the neutral card."""

from __future__ import annotations

import re
from typing import Any

from cards.actions import parse_button_value
from cards.model import ActionView, CardView, DirectView, Person, Text

Block = dict[str, Any]
_BLOCK_ID = re.compile(r"(?:card|dm)-([0-9]+)-")
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


def render_direct(view: DirectView, link: str | None) -> list[Block]:
    """A direct message: its text (with the card's link, where there is one) and its buttons."""
    text = mrkdwn_of(view.text) + (f"\n<{link}>" if link else "")
    blocks: list[Block] = [{"type": "section", "text": _mrkdwn(text)}]
    if view.actions and view.card_id is not None:
        elements = [_element(a) for a in view.actions]
        blocks.append({"type": "actions", "block_id": f"dm-{view.card_id}-actions", "elements": elements})
    return blocks


def mrkdwn_of(text: Text) -> str:
    """A text as Slack writes it: people with a Slack user as ``<@U…>`` mentions, others by name."""
    return "".join(p if isinstance(p, str) else _mention(p) for p in text.parts)


def _mention(person: Person) -> str:
    return f"<@{person.handle}>" if person.handle else person.name


def block_id(card_id: int, revision: int, part: str) -> str:
    """A new block id per revision, as Slack recommends for updated messages; it names the card,
    for the users select (which carries no value of its own)."""
    return f"card-{card_id}-r{revision}-{part}"


def parse_block_id(value: object) -> int:
    """The card a block of ours belongs to. Raises: NoSuchCard for an id beyond any card's;
    ValueError when it names none."""
    match = _BLOCK_ID.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a card block: {value!r:.40}")
    return parse_button_value(match.group(1))


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
    """A click does it: a button. A form that is one staff choice: a users select, right on the
    card. A form that starts with a required choice: a select of those choices, which opens the
    form with the one picked. Any other form: a button that opens it (see ``adapters.slack``)."""
    placeholder = {"type": "plain_text", "text": action.label[:150], "emoji": True}
    inputs = action.inputs
    if len(inputs) == 1 and inputs[0].kind == "staff":
        return {"type": "users_select", "action_id": action.id.value, "placeholder": placeholder}
    if inputs and inputs[0].kind == "choice" and inputs[0].required:
        options = [
            {"text": {"type": "plain_text", "text": o.label}, "value": f"{action.card_id}:{o.value}"}
            for o in inputs[0].choices
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
