"""A manager's data-protection request typed in a chat: ``privacidad exportar +34…`` or
``privacidad borrar +34…`` (English: ``privacy export|erase +34…``), after Slack's ``/centralita``
command or as a message to the Teams bot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.domain.text import normalize_text

PrivacyAction = Literal["export", "erase", "help"]
PRIVACY_WORDS = frozenset({"privacidad", "privacy", "rgpd", "gdpr"})
_ACTIONS: dict[str, PrivacyAction] = {
    "exportar": "export",
    "export": "export",
    "borrar": "erase",
    "eliminar": "erase",
    "erase": "erase",
    "delete": "erase",
}
_SPLIT = re.compile(r"\s+")


@dataclass(frozen=True)
class PrivacyRequest:
    """What was asked: ``help`` when the words are not an export or an erasure, or lack a number."""

    action: PrivacyAction
    number: str = ""


def is_privacy_request(text: str) -> bool:
    """The text starts with one of the privacy words (``privacidad …``)."""
    first = _SPLIT.split(text.strip(), maxsplit=1)[0]
    return normalize_text(first.lstrip("/")) in PRIVACY_WORDS


def parse_privacy_request(text: str) -> PrivacyRequest:
    """``[privacidad] exportar|borrar NUMBER`` read; anything else asks for help. The number is kept
    as written: the use case checks it."""
    words = _SPLIT.split(text.strip(), maxsplit=1) if text.strip() else []
    if words and normalize_text(words[0].lstrip("/")) in PRIVACY_WORDS:
        words = _SPLIT.split(words[1], maxsplit=1) if len(words) > 1 else []
    if len(words) < 2:
        return PrivacyRequest("help")
    action = _ACTIONS.get(normalize_text(words[0]))
    if action is None or not words[1].strip():
        return PrivacyRequest("help")
    return PrivacyRequest(action, words[1].strip())
