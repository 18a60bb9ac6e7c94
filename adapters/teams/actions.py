"""Card actions from Teams (``Action.Execute`` invokes) and ``recado`` messages, handed to the same
use cases as Slack's. An action is answered with the card as it now stands, so the person who
clicked sees the new state at once; a refusal adds a line only they see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.teams.parse import CHANNEL, CardAction
from bot.domain.recado import parse_recado
from bot.i18n import t
from bot.services.card_views import CardViews, CurrentCard
from bot.services.directory import Directory
from bot.services.handling import CardHandling, Requester
from bot.services.recados import RecadoResult, Recados
from cards.actions import ActionId, ActionRequest
from cards.adaptive import read_when, render_card

CARD_ANSWER = "application/vnd.microsoft.card.adaptive"
MESSAGE_ANSWER = "application/vnd.microsoft.activity.message"
_CHANNEL_WORDING = {"ephemeral.not_staff": "teams.not_staff", "unsupported": "teams.missing_input"}


def card_answer(card: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "type": CARD_ANSWER, "value": card}


def message_answer(text: str) -> dict[str, Any]:
    """A toast instead of a card (written raw: the SDK's ``AdaptiveCardInvokeResponse`` cannot
    serialize a string value)."""
    return {"statusCode": 200, "type": MESSAGE_ANSWER, "value": text}


@dataclass(frozen=True)
class TeamsActions:
    handling: CardHandling
    views: CardViews
    recados: Recados
    directory: Directory

    async def card_action(self, action: CardAction) -> dict[str, Any]:
        """The invoke's answer: the card now, with why the action did not go through if it did not."""
        current = await self.views.current(action.card_id) if action.card_id is not None else None
        if current is None or action.card_id is None:
            return message_answer(t(self.directory.default.locale, "ephemeral.card_missing"))
        request = self._request(action, current)
        if request is None:
            return self._answer(current, t(current.org.locale, "teams.unknown_action"))
        who = Requester(CHANNEL, action.user or "")
        result = await self.handling.perform(request, who)
        after = await self.views.current(action.card_id) or current
        notice = (
            None
            if result.ok
            else CardViews.refusal(after, result.reason, _CHANNEL_WORDING.get(result.reason or ""))
        )
        return self._answer(after, notice)

    def _request(self, action: CardAction, current: CurrentCard) -> ActionRequest | None:
        try:
            verb = ActionId(action.verb)
            values = {**action.data, "when": read_when(action.data, "when", current.org.timezone)}
            return ActionRequest.from_inputs(verb, current.view.card_id, values)
        except ValueError:
            return None

    @staticmethod
    def _answer(current: CurrentCard, notice: str | None) -> dict[str, Any]:
        return card_answer(render_card(current.view, current.org.timezone, notice))

    async def recado(self, user: str | None, text: str) -> str:
        """The answer to a ``recado …`` message: where it went, or why it could not be posted."""
        who = Requester(CHANNEL, user or "")
        found = self.directory.by_staff(CHANNEL, who.user_ref) if user else None
        if found is None:
            org = self.directory.default
            return t(org.locale, "teams.not_staff", org=org.config.organization.name)
        author = self.recados.author(who)
        if isinstance(author, RecadoResult):
            return author.message
        result = await self.recados.post(who, parse_recado(text, author[0].config))
        return result.message
