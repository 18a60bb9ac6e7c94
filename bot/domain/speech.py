"""What can be read from a caller's words without a language model: their name, when they say it."""

from __future__ import annotations

import re

_INTRO = re.compile(
    r"\b(?:soy|me llamo|mi nombre es|le llama|te llama|my name is|this is|i am|i'm)\s+([^,.;:!?¡¿]+)",
    re.IGNORECASE,
)
_CONNECTORS = frozenset({"de", "la", "del", "las", "los"})
# Words that end a name, or show that what follows "soy" is not one ("soy cliente vuestro").
_NOT_NAMES = frozenset(
    {
        # Spanish
        "y", "e", "o", "que", "el", "un", "una", "su", "tu", "vuestro", "vuestra", "cliente", "paciente",
        "nuevo", "nueva", "yo", "a", "al", "en", "con", "para", "por", "es", "está", "estoy", "llamo",
        "llamaba", "quería", "queria", "quiero", "tengo", "necesito", "desde", "muy", "urgente", "hola",
        "bueno", "buenos", "buenas", "pues", "sí", "si", "no", "ya",
        # English
        "and", "or", "the", "an", "your", "client", "patient", "calling", "from", "about", "wanted",
        "want", "need", "is", "with", "for", "just", "new", "hello", "hi",
    }
)  # fmt: skip
_MAX_WORDS = 4


def name_from_speech(text: str) -> str | None:
    """``"Hola, soy Juan Pérez, es urgente"`` → ``"Juan Pérez"``; None when no name is said.

    Whatever the letter case (speech recognition often writes none): ``"hola soy juan pérez"`` gives
    ``"Juan Pérez"``. A name is the words after the introduction, up to punctuation or a word that
    names nothing ("soy cliente vuestro" gives nothing); lower-case names are capitalised.
    """
    for match in _INTRO.finditer(text):
        words = _name_words(match.group(1).split())
        if words:
            return " ".join(_capitalised(w) for w in words)
    return None


def _name_words(words: list[str]) -> list[str]:
    taken: list[str] = []
    for word in words[: _MAX_WORDS + 2]:
        lower = word.lower()
        if lower in _NOT_NAMES or not word[0].isalpha():
            break
        if lower in _CONNECTORS and not taken:
            break
        taken.append(word)
    while taken and taken[-1].lower() in _CONNECTORS:
        taken.pop()
    names = [w for w in taken if w.lower() not in _CONNECTORS]
    return taken if 0 < len(names) <= _MAX_WORDS else []


def _capitalised(word: str) -> str:
    if word.lower() in _CONNECTORS:
        return word.lower()
    return word if not word.islower() else word[0].upper() + word[1:]
