"""What can be read from a caller's words without a language model: their name, when they say it."""

from __future__ import annotations

import re

_INTRO = re.compile(
    r"\b(?:soy|me llamo|mi nombre es|le llama|te llama|my name is|this is|i am|i'm)\s+"
    r"((?:[A-ZÁÉÍÓÚÑÜ][\w'-]+)(?:\s+(?:de\s+la\s+|de\s+|del\s+)?[A-ZÁÉÍÓÚÑÜ][\w'-]+){0,3})",
    re.IGNORECASE,
)


def name_from_speech(text: str) -> str | None:
    """``"Hola, soy Juan Pérez, es urgente"`` → ``"Juan Pérez"``; None when no name is said.

    Only capitalised words count as a name, so "soy cliente vuestro" gives nothing.
    """
    for match in _INTRO.finditer(text):
        words = [w for w in match.group(1).split() if w[0].isupper() or w.lower() in ("de", "la", "del")]
        while words and not words[-1][0].isupper():
            words.pop()
        if words and words[0][0].isupper():
            return " ".join(words)
    return None
