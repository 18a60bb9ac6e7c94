"""A receptionist's free-text message ("recado") read into who called, for whom, how urgent and why.

"Juan Pérez +34 600 111 222 para Ana urgente: quiere presupuesto" gives the caller's name and number,
the addressee (a staff member or a team), the urgency and the reason ("quiere presupuesto").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from bot.domain.org import OrgConfig
from bot.domain.phones import find_phone, org_region
from bot.domain.text import normalize_text

AddresseeKind = Literal["team", "person"]
Addressee = tuple[AddresseeKind, str]
Span = tuple[int, int]

URGENT_WORDS = frozenset({"urgente", "urgent", "urgencia", "emergencia", "emergency"})
MARKERS: tuple[tuple[str, ...], ...] = (("a", "la", "atencion", "de"), ("para",), ("for",), ("attn",))
_NAME_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "van", "von", "da", "di"})
_WORD = re.compile(r"\w+")
_MENTION = re.compile(r"(?<![\w@])@([a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?)")
"""A staff or team id after ``@``: the neutral mention. Each channel's adapter writes its platform's
mentions so before the text gets here (Slack's ``<@U…>`` and ``<#C…>``)."""
_NOT_NAME = re.compile(r"[^\w\s'.-]")
_STRAY_SEPARATORS = re.compile(r"\s*([,;])(?:\s*[,;])*\s*")
_EDGE = " \t\n,;:.-–—"


@dataclass(frozen=True)
class RecadoDraft:
    caller_name: str | None
    caller_number: str | None
    addressee_kind: AddresseeKind | None
    addressee_id: str | None
    urgent: bool
    reason: str


@dataclass(frozen=True)
class _Token:
    norm: str
    start: int
    end: int


def parse_recado(text: str, config: OrgConfig) -> RecadoDraft:
    body = unicodedata.normalize("NFC", text).strip()
    colon = separator_index(body)
    head_end = len(body) if colon is None else colon
    tokens = _tokens(body)
    phone = find_phone(body[:head_end], org_region(config.organization))
    number = phone[0] if phone else _number_in(body[head_end:], config)
    addressee, addressee_span = find_addressee(body[:head_end], config)
    urgent_spans = [(t.start, t.end) for t in tokens if t.norm in URGENT_WORDS]
    consumed = [*urgent_spans, *([phone[1:]] if phone else []), *([addressee_span] if addressee_span else [])]
    blanked = _blank(body, consumed)
    ends = [_marker_start(tokens, head_end), addressee_span[0] if addressee_span else None, colon]
    boundary = min((end for end in ends if end is not None), default=None)
    name, name_span = _caller_name(blanked, phone[1] if phone else None, boundary)
    reason = _reason(blanked if name_span is None else _blank(blanked, [name_span]), colon)
    return RecadoDraft(
        caller_name=name,
        caller_number=number,
        addressee_kind=addressee[0] if addressee else None,
        addressee_id=addressee[1] if addressee else None,
        urgent=bool(urgent_spans),
        reason=reason or body,
    )


def separator_index(text: str) -> int | None:
    """The first ':' that separates who from why (not one inside 10:30 or https://)."""
    for index, char in enumerate(text):
        if char != ":":
            continue
        before, after = text[index - 1 : index], text[index + 1 : index + 3]
        if not (before.isdigit() and after[:1].isdigit()) and after != "//":
            return index
    return None


def find_addressee(head: str, config: OrgConfig) -> tuple[Addressee | None, Span | None]:
    """The staff member or team ``head`` says the message is for, and the span of text that named it."""
    mention = _mention(head, config)
    if mention[0] is not None:
        return mention
    table = addressee_table(config)
    keys = sorted((k for k, v in table.items() if v is not None), key=len, reverse=True)
    words = _tokens(head)
    for index in range(len(words)):
        found = _addressee_at(head, words, index, keys)
        if found is not None:
            key, span = found
            return table[key], span
    return None, None


def addressee_table(config: OrgConfig) -> dict[tuple[str, ...], Addressee | None]:
    """Normalised words that name someone → who; None where the words name two different ones."""
    table: dict[tuple[str, ...], Addressee | None] = {}
    entries: list[tuple[str, Addressee]] = []
    for staff in config.staff:
        entries += [(staff.id, ("person", staff.id)), (staff.name, ("person", staff.id))]
        entries.append((staff.name.split()[0], ("person", staff.id)))
    for team in config.teams:
        entries += [(team.id, ("team", team.id)), (team.name, ("team", team.id))]
    for words, target in entries:
        key = tuple(_WORD.findall(normalize_text(words)))
        if key:
            table[key] = target if table.get(key, target) == target else None
    return table


def _addressee_at(
    head: str, words: list[_Token], index: int, keys: list[tuple[str, ...]]
) -> tuple[tuple[str, ...], Span] | None:
    start = _marker_end(head, words, index)
    if start is None:
        return None
    norms = tuple(t.norm for t in words[start:])
    key = next((k for k in keys if norms[: len(k)] == k), None)
    if key is None:
        return None
    first = words[index].start - (1 if start == index else 0)
    return key, (first, words[start + len(key) - 1].end)


def _marker_end(head: str, words: list[_Token], index: int) -> int | None:
    """Index of the first word after a marker starting at ``index`` ("para", "for", "@"), or None."""
    if head[words[index].start - 1 : words[index].start] == "@":
        return index
    norms = tuple(t.norm for t in words[index:])
    marker = next((m for m in MARKERS if norms[: len(m)] == m), None)
    return None if marker is None else index + len(marker)


def _mention(head: str, config: OrgConfig) -> tuple[Addressee | None, Span | None]:
    """The first ``@id`` that names a staff member or a team."""
    for match in _MENTION.finditer(head):
        ref = match.group(1)
        if config.staff_member(ref) is not None:
            return ("person", ref), match.span()
        if config.team(ref) is not None:
            return ("team", ref), match.span()
    return None, None


def _caller_name(
    blanked: str, phone_start: int | None, boundary: int | None
) -> tuple[str | None, Span | None]:
    if phone_start is not None:
        name = _clean_name(blanked[:phone_start])
        if name:
            return name, (0, phone_start)
    if boundary is None:
        return None, None
    name = _clean_name(blanked[:boundary])
    return (name, (0, boundary)) if name and looks_like_name(name) else (None, None)


def looks_like_name(words: str) -> bool:
    """One to four words, capitalised except for particles inside ("María de la Fuente")."""
    parts = words.split()
    if not 1 <= len(parts) <= 4 or not parts[0][:1].isupper():
        return False
    return all(p[:1].isupper() or p.casefold() in _NAME_PARTICLES for p in parts)


def _marker_start(tokens: list[_Token], head_end: int) -> int | None:
    words = [t for t in tokens if t.end <= head_end]
    norms = tuple(t.norm for t in words)
    for index, token in enumerate(words):
        if any(norms[index : index + len(m)] == m for m in MARKERS):
            return token.start
    return None


def _reason(blanked: str, colon: int | None) -> str:
    return _clean(blanked if colon is None else blanked[colon + 1 :])


def _number_in(text: str, config: OrgConfig) -> str | None:
    found = find_phone(text, org_region(config.organization))
    return found[0] if found else None


def _tokens(text: str) -> list[_Token]:
    return [_Token(normalize_text(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def _blank(text: str, spans: list[Span]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _clean(text: str) -> str:
    return _STRAY_SEPARATORS.sub(r"\1 ", " ".join(text.split())).strip(_EDGE)


def _clean_name(text: str) -> str:
    return " ".join(_NOT_NAME.sub(" ", text).split()).strip(" .-'")
