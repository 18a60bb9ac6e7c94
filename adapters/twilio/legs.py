"""Pure decoding of what Twilio sends about the calls we place: the card or callback and attempt our
own URLs carry (signed by Twilio with the rest), and the key pressed."""

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


def digits(form: Mapping[str, str]) -> str:
    return (form.get("Digits") or "").strip()


def org_of(query: Mapping[str, str]) -> str:
    return (query.get("org") or "").strip()


def _number(query: Mapping[str, str], name: str) -> int:
    value = (query.get(name) or "").strip()
    if not value.isdigit() or len(value) > 9:
        raise BadLegRequest(f"the URL's '{name}' is missing or not a number")
    return int(value)
