"""Stable action ids (the public contract) and the typed values buttons carry."""

from __future__ import annotations

import re
from enum import StrEnum

from bot.domain.lifecycle import CardStatus as CardStatus  # the card's states, shown by renderers


class ActionId(StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    RESOLVE = "resolve"
    SCHEDULE_CALLBACK = "schedule_callback"
    ACCEPT_TRANSFER = "accept_transfer"
    REASSIGN = "reassign"
    ADD_NOTE = "add_note"
    CALL_NOW = "call_now"
    RESCHEDULE_CALLBACK = "reschedule_callback"
    CALLBACK_DONE = "callback_done"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    CALLED_BACK = "called_back"
    NO_ANSWER = "no_answer"
    SPAM = "spam"
    QUALIFIED_LEAD = "qualified_lead"


_BLOCK_ID = re.compile(r"^card-(\d+)-r\d+-")


def button_value(card_id: int) -> str:
    """The value a button carries: the card id."""
    return str(card_id)


def option_value(card_id: int, outcome: Outcome) -> str:
    return f"{card_id}:{outcome.value}"


def block_id(card_id: int, revision: int, part: str) -> str:
    """A new block id per revision, as Slack recommends for updated messages."""
    return f"card-{card_id}-r{revision}-{part}"


def parse_button_value(value: str | None) -> int:
    """Raises: ValueError when the value does not carry a card id."""
    if value is None or not value.isdigit():
        raise ValueError(f"not a card id: {value!r}")
    return int(value)


def parse_option_value(value: str | None) -> tuple[int, Outcome]:
    """Raises: ValueError when the value is not ``<card id>:<outcome>``."""
    card, _, outcome = (value or "").partition(":")
    return parse_button_value(card), Outcome(outcome)


def parse_block_id(value: str | None) -> int:
    """Raises: ValueError when the block id does not name a card."""
    match = _BLOCK_ID.match(value or "")
    if not match:
        raise ValueError(f"not a card block: {value!r}")
    return int(match.group(1))
