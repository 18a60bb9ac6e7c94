"""Text from outside, made storable; and comparison that ignores case, accents and spacing ("URGÉNCIA"
and "urgencia" are the same word)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
# Control characters (C0 and C1, DEL) but tab and newline, and lone UTF-16 surrogates: PostgreSQL
# refuses NUL and surrogates in text, and none of them means anything in a name or a message.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(s: str) -> str:
    """``s`` without the characters a database cannot store (NUL, lone surrogates) and the other
    control characters; tabs and newlines stay. Every text from outside (speech, messages, names,
    ids) goes through it where it is parsed."""
    return _UNSTORABLE.sub("", s)


def normalize_text(s: str) -> str:
    """Casefold, strip accents (NFKD without combining marks) and collapse whitespace."""
    decomposed = unicodedata.normalize("NFKD", s.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare).strip()


def contains_keyword(text_norm: str, keyword: str) -> bool:
    """Whether ``keyword`` occurs in the already normalised text, starting at a word start.

    The keyword is normalised here, so config values with accents or capitals work; it may be
    several words ("primera cita"). "dolor" matches "dolor" and "dolores", not "condolor".
    """
    pattern = _keyword_pattern(keyword)
    return pattern is not None and pattern.search(text_norm) is not None


@lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """Keywords come from the configuration: a few dozen, asked about on every call."""
    key = normalize_text(keyword)
    return re.compile(r"(?<!\w)" + re.escape(key)) if key else None
