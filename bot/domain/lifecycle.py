"""A card's lifecycle: open → claimed → resolved, with release, reassign, note and callback.

Pure rules: which change a person may make to a card in a given state, and the state it leaves the
card in. ``bot.services.handling`` applies them before its compare-and-set. The renderer's buttons per
state (``cards.build``) are checked against them in ``tests/test_cards_render.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CardStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    CALLBACK = "callback"
    RESOLVED = "resolved"


class Change(StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    RESOLVE = "resolve"
    NOTE = "note"
    REASSIGN = "reassign"
    CALLBACK = "callback"
    ACCEPT_TRANSFER = "accept_transfer"


HELD = frozenset({CardStatus.CLAIMED, CardStatus.CALLBACK})
"""States in which a card belongs to someone (``claimed_by``)."""


@dataclass(frozen=True)
class Refusal:
    """Why a change is refused: a catalogue key (``ephemeral.*``), the card's state, and ``holder``,
    the staff id the text names (the edge turns it into a name)."""

    key: str
    status: CardStatus
    holder: str | None = None


@dataclass(frozen=True)
class Actor:
    staff_id: str
    manager: bool = False


def refusal(change: Change, status: CardStatus, holder: str | None, actor: Actor) -> Refusal | None:
    """None when ``actor`` may make ``change`` to a card in ``status`` held by ``holder``."""
    if change in (Change.CLAIM, Change.ACCEPT_TRANSFER):
        return None if status is CardStatus.OPEN else _taken(status, holder)
    if change is Change.RELEASE:
        if status not in HELD:
            return Refusal("ephemeral.not_allowed", status)
        if holder not in (actor.staff_id, None) and not actor.manager:
            return Refusal("ephemeral.not_claimer", status, holder)
        return None
    if change is Change.NOTE:
        return None
    if status is CardStatus.RESOLVED:  # resolve, reassign, callback
        return Refusal("ephemeral.not_allowed", status)
    return None


def status_after(change: Change, status: CardStatus) -> CardStatus:
    """The state an allowed change leaves the card in."""
    if change in (Change.CLAIM, Change.ACCEPT_TRANSFER):
        return CardStatus.CLAIMED
    if change is Change.RELEASE:
        return CardStatus.OPEN
    if change is Change.RESOLVE:
        return CardStatus.RESOLVED
    if change is Change.CALLBACK:
        return CardStatus.CALLBACK
    if change is Change.REASSIGN:
        return CardStatus.CALLBACK if status is CardStatus.CALLBACK else CardStatus.CLAIMED
    return status  # a note changes no state


def _taken(status: CardStatus, holder: str | None) -> Refusal:
    if status in HELD and holder:
        return Refusal("ephemeral.already_claimed", status, holder)
    return Refusal("ephemeral.not_allowed", status)
