"""A person's home (Slack App Home): their cards, their callbacks of today, their teams' queue.
Facts in, a neutral view out; each channel renders it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.phones import format_phone
from bot.i18n import t
from cards.build import card_title, format_when
from cards.model import CardFacts


@dataclass(frozen=True)
class HomeCallback:
    card: CardFacts
    due_at: datetime
    overdue: bool


@dataclass(frozen=True)
class HomeFacts:
    name: str
    locale: str
    now: datetime
    mine: tuple[CardFacts, ...]
    callbacks: tuple[HomeCallback, ...]
    queue: tuple[CardFacts, ...]


@dataclass(frozen=True)
class HomeSection:
    heading: str
    lines: tuple[str, ...]
    empty: str


@dataclass(frozen=True)
class HomeView:
    title: str
    sections: tuple[HomeSection, ...]


def build_home(home: HomeFacts) -> HomeView:
    loc = home.locale
    callbacks = tuple(_callback_line(home, c) for c in home.callbacks)
    mine = HomeSection(
        t(loc, "home.mine"), tuple(_line(home, c) for c in home.mine) + callbacks, t(loc, "home.mine_empty")
    )
    queue = HomeSection(
        t(loc, "home.queue"), tuple(_line(home, c) for c in home.queue), t(loc, "home.queue_empty")
    )
    return HomeView(t(loc, "home.title", name=home.name), (mine, queue))


def _who(card: CardFacts) -> str:
    return card.caller_name or format_phone(card.caller_number) or t(card.locale, "card.unknown_caller")


def _line(home: HomeFacts, card: CardFacts) -> str:
    when = format_when(card.created_at, card.timezone, home.locale, home.now)
    return t(home.locale, "home.card", title=card_title(card), caller=_who(card), when=when, id=card.card_id)


def _callback_line(home: HomeFacts, callback: HomeCallback) -> str:
    card = callback.card
    when = format_when(callback.due_at, card.timezone, home.locale, home.now)
    key = "home.callback_overdue" if callback.overdue else "home.callback"
    return t(home.locale, key, caller=_who(card), when=when, id=card.card_id)
