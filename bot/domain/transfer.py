"""A live transfer's states, and what each end of a staff member's call means for it. Pure rules;
``bot.services.transfer`` applies them."""

from __future__ import annotations

from enum import StrEnum


class TransferState(StrEnum):
    WAITING = "waiting"
    """The caller is on hold in their own conference; the card offers Accept transfer."""
    RINGING = "ringing"
    """Someone accepted: their phone is being called (the card is claimed by them meanwhile)."""
    CONNECTED = "connected"
    """They pressed 1 and joined the caller's conference."""
    VOICEMAIL = "voicemail"
    """Nobody was connected within the hold time: the caller was offered voicemail; call back."""
    ABANDONED = "abandoned"
    """The caller hung up while waiting; call back."""


ON_HOLD = frozenset({TransferState.WAITING, TransferState.RINGING})
"""States in which the caller is still waiting on hold."""

FAILED_LEG = frozenset({"busy", "no-answer", "failed", "canceled"})
"""Twilio call statuses of a staff call that did not connect."""


def leg_notice(status: str) -> str | None:
    """The notice key (``transfer.notice.*``) a staff call's status leaves on the card, or None when
    the status says nothing about the attempt (it is still going, or it ended after connecting)."""
    if status in FAILED_LEG:
        return status.replace("-", "_")
    if status == "completed":  # answered, then hung up without pressing 1
        return "no_press"
    return None
