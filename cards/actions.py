"""Stable action ids (the public contract) and the typed values buttons carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
    REPLY_CUSTOMER = "reply_customer"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    CALLED_BACK = "called_back"
    NO_ANSWER = "no_answer"
    SPAM = "spam"
    QUALIFIED_LEAD = "qualified_lead"


_OUTCOMES = frozenset(outcome.value for outcome in Outcome)
MAX_CARD_ID = 2**31 - 1
"""The largest id a card can have: the databases' INTEGER (PostgreSQL's is 32 bits)."""


class NoSuchCard(ValueError):
    """A well-formed card id that no card can have (beyond ``MAX_CARD_ID``): the person is told
    there is no such card, as for one that does not exist."""


@dataclass(frozen=True)
class ActionRequest:
    """An action a person asked for on a card, whatever the channel it came from: the verb, the
    card, and the answers to its form (``cards.model.InputView.name`` → field). ``staff`` is a staff
    id or the person's user id on the channel the request came from."""

    action: ActionId
    card_id: int
    note: str = ""
    outcome: Outcome | None = None
    staff: str | None = None
    when: datetime | None = None
    tell_caller: bool = False

    @classmethod
    def from_inputs(cls, action: ActionId, card_id: int, values: dict[str, object]) -> ActionRequest:
        """From a form's answers by input name (``note``, ``outcome``, ``assignee``, ``when``).

        Raises: ValueError when an outcome is not one of ours or a time is not a datetime."""
        outcome, when = values.get("outcome"), values.get("when")
        if when is not None and not isinstance(when, datetime):
            raise ValueError(f"not a date and time: {when!r}")
        staff = values.get("assignee")
        return cls(
            action,
            card_id,
            note=str(values.get("note") or "").strip(),
            outcome=Outcome(str(outcome)) if outcome else None,
            staff=str(staff) if staff else None,
            when=when,
            tell_caller=str(values.get("tell_caller") or "") in ("yes", "true", "True"),
        )


def button_value(card_id: int) -> str:
    """The value a button carries: the card id."""
    return str(card_id)


def option_value(card_id: int, outcome: Outcome) -> str:
    return f"{card_id}:{outcome.value}"


def parse_button_value(value: object) -> int:
    """Raises: NoSuchCard for a number beyond any card's id; ValueError when the value does not
    carry a card id."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise ValueError(f"not a card id: {value!r:.40}")
    if len(value) > len(str(MAX_CARD_ID)) or int(value) > MAX_CARD_ID:
        raise NoSuchCard(f"no card can have the id {value:.40}")
    return int(value)


def parse_option_value(value: object) -> tuple[int, Outcome]:
    """Raises: NoSuchCard (see ``parse_button_value``); ValueError when the value is not
    ``<card id>:<outcome>``."""
    if not isinstance(value, str):
        raise ValueError(f"not a card option: {value!r:.40}")
    card, _, outcome = value.partition(":")
    if outcome not in _OUTCOMES:
        raise ValueError(f"not an outcome: {outcome!r:.40}")
    return parse_button_value(card), Outcome(outcome)
