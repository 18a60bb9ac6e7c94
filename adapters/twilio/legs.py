"""Pure decoding of what Twilio sends about the calls we place: the card or callback and attempt our
own URLs carry (signed by Twilio with the rest), the key pressed, and the events of a caller's
conference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class BadLegRequest(ValueError):
    """A request whose URL does not name what it is about."""


@dataclass(frozen=True)
class Leg:
    """``subject``: the card (transfer) or callback (click-to-call) id; ``attempt``: which try."""

    subject: int
    attempt: int


def leg(query: Mapping[str, str], subject: str) -> Leg:
    """Raises: BadLegRequest when ``subject`` or ``attempt`` is missing or not a small number."""
    return Leg(_number(query, subject), _number(query, "attempt"))


@dataclass(frozen=True)
class ConferenceEvent:
    """A caller's conference (named after their CallSid) reporting ``event`` about ``call_sid``."""

    conference: str
    call_sid: str
    event: str

    @property
    def caller_left(self) -> bool:
        """The caller themself left (hung up, or was taken out to voicemail), not the staff leg."""
        return self.event == "participant-leave" and self.call_sid == self.conference


def conference_event(form: Mapping[str, str]) -> ConferenceEvent:
    """Raises: BadLegRequest when the conference's name or the event is missing."""
    conference = (form.get("FriendlyName") or "").strip()[:64]
    call_sid = (form.get("CallSid") or "").strip()[:64]
    event = (form.get("StatusCallbackEvent") or "").strip().lower()[:32]
    if not conference or not event:
        raise BadLegRequest("not a conference event (FriendlyName, StatusCallbackEvent)")
    return ConferenceEvent(conference, call_sid, event)


def digits(form: Mapping[str, str]) -> str:
    return (form.get("Digits") or "").strip()


def org_of(query: Mapping[str, str]) -> str:
    return (query.get("org") or "").strip()


def _number(query: Mapping[str, str], name: str) -> int:
    value = (query.get(name) or "").strip()
    if not value.isdigit() or len(value) > 9:
        raise BadLegRequest(f"the URL's '{name}' is missing or not a number")
    return int(value)
