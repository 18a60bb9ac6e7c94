"""A card as it stands now, for a channel that answers an action with the card itself (Teams
``Action.Execute``), and the words for an action that did not go through."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import t
from bot.services.directory import Org
from bot.services.facts import card_facts
from bot.services.runtime import Runtime
from bot.store.models import Card
from cards.build import build_card
from cards.model import CardView


@dataclass(frozen=True)
class CurrentCard:
    view: CardView
    org: Org
    holder_name: str | None


class CardViews:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def current(self, card_id: int) -> CurrentCard | None:
        """The card's view now (None: no such card, or its organisation is no longer served)."""
        async with self.runtime.sessions() as session:
            card = await session.get(Card, card_id)
        if card is None or card.org_id not in self.runtime.directory.ids:
            return None
        org = self.runtime.directory.get(card.org_id)
        view = build_card(card_facts(card, org), self.runtime.clock.now())
        return CurrentCard(view, org, org.name_of(card.claimed_by))

    @staticmethod
    def refusal(current: CurrentCard, reason: str | None, channel_key: str | None = None) -> str:
        """Why an action was refused, in the organisation's language. ``reason`` is the catalogue
        key handling answered with; ``channel_key`` replaces it where a channel words it its own way."""
        org = current.org
        values = {
            "name": current.holder_name or "?",
            "status": current.view.status_line,
            "org": org.config.organization.name,
        }
        return t(org.locale, channel_key or reason or "ephemeral.failed", **values)
