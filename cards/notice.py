"""What happened, stored neutrally (a catalogue key and its values, people as staff ids), and its
rendering for one reader: their language, the organisation's time zone, and people as ``Person``
parts the channel writes in its own mention form.

Thread lines, direct messages and private notices are stored as a ``Notice`` in the outbox payload
(``Notice.to_payload``) and rendered when they are sent (``render_notice``), so one fact reads right
on Slack, Teams or the console, in Spanish or in English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.i18n import t
from cards.actions import Outcome
from cards.build import format_when, outcome_label
from cards.model import Person, Text

_MARK = "\x00"  # marks where a mention goes; taken out of every value first


@dataclass(frozen=True)
class Notice:
    """A catalogue ``key`` and its values, by kind:

    - ``text``: shown as written (a note, a caller's number, a level);
    - ``names``: staff ids, written by name (several joined with ", ");
    - ``mentions``: staff ids, written as the channel's mention of each (by name where they have no
      identity on it), several joined with spaces as mentions are;
    - ``outcomes``: ``Outcome`` values, written with their label in the reader's language;
    - ``times``: ISO 8601 instants, written in the organisation's zone (``today 10:32``).
    """

    key: str
    text: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    mentions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    outcomes: Mapping[str, str] = field(default_factory=dict)
    times: Mapping[str, str] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        """JSON for an outbox row (only the kinds that have values)."""
        found: dict[str, Any] = {"key": self.key}
        for kind in ("text", "names", "mentions", "outcomes", "times"):
            values = getattr(self, kind)
            if values:
                found[kind] = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        return found

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Notice:
        """Raises: KeyError when ``data`` has no key."""

        def people(kind: str) -> dict[str, tuple[str, ...]]:
            return {k: tuple(v) for k, v in (data.get(kind) or {}).items()}

        return cls(
            key=str(data["key"]),
            text=dict(data.get("text") or {}),
            names=people("names"),
            mentions=people("mentions"),
            outcomes=dict(data.get("outcomes") or {}),
            times=dict(data.get("times") or {}),
        )


@dataclass(frozen=True)
class Reader:
    """Who reads a notice and where: their language, the organisation's time zone, the time it is
    read, how a staff id becomes a ``Person`` on the channel it goes to, and values every notice
    about a card may use (``title``, ``caller``, ``summary``)."""

    locale: str
    timezone: str
    now: datetime
    person: Callable[[str], Person]
    card_values: Mapping[str, str] = field(default_factory=dict)


def render_notice(notice: Notice, reader: Reader) -> Text:
    """The notice in the reader's language, its mentions left as ``Person`` parts.

    Raises: KeyError when the catalogue has no such key or the text names a value not given."""
    loc = reader.locale
    people: list[Person] = []

    def marks(staff_ids: tuple[str, ...]) -> str:
        found = []
        for staff_id in staff_ids:
            people.append(reader.person(staff_id))
            found.append(f"{_MARK}{len(people) - 1}{_MARK}")
        return " ".join(found)

    values = {k: v.replace(_MARK, "") for k, v in reader.card_values.items()}
    values |= {k: v.replace(_MARK, "") for k, v in notice.text.items()}
    values |= {k: ", ".join(reader.person(i).name for i in ids) for k, ids in notice.names.items()}
    values |= {k: outcome_label(loc, Outcome(v)) for k, v in notice.outcomes.items()}
    values |= {
        k: format_when(datetime.fromisoformat(v), reader.timezone, loc, reader.now)
        for k, v in notice.times.items()
    }
    values |= {k: marks(ids) for k, ids in notice.mentions.items()}
    written = t(loc, notice.key, **values)
    parts: list[str | Person] = []
    for index, piece in enumerate(written.split(_MARK)):
        if index % 2:
            parts.append(people[int(piece)])
        elif piece:
            parts.append(piece)
    return Text(tuple(parts))
