"""Card actions from Teams (``Action.Execute`` invokes) and ``recado`` messages, handed to the same
use cases as Slack's. An action is answered with the card as it now stands, so the person who
clicked sees the new state at once; a refusal adds a line only they see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.teams.forms import recado_draft
from adapters.teams.parse import CHANNEL, CardAction
from adapters.teams.privacy import answer_card, erase_number, result_card
from bot.domain.recado import parse_recado
from bot.i18n import t
from bot.services.card_views import CardViews, CurrentCard
from bot.services.directory import Directory, Org
from bot.services.handling import CardHandling, Requester
from bot.services.privacy_desk import PrivacyDesk
from bot.services.recados import RecadoResult, Recados
from cards.actions import ActionId, ActionRequest
from cards.adaptive import read_when, render_card

if TYPE_CHECKING:
    from botbuilder.schema import Activity

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
    privacy: PrivacyDesk | None = None

    async def card_action(self, action: CardAction) -> dict[str, Any]:
        """The invoke's answer: the card now, with why the action did not go through if it did not."""
        current = await self.views.current(action.card_id) if action.card_id is not None else None
        if current is None or action.card_id is None or not current.org.admits(CHANNEL, action.tenant):
            # Another organisation's card is answered as if it did not exist, in the clicker's words.
            found = self.directory.by_staff(CHANNEL, action.user, action.tenant) if action.user else None
            org = found[0] if found else self.directory.of_workspace(CHANNEL, action.tenant)
            return message_answer(t(org.locale, "ephemeral.card_missing"))
        request = self._request(action, current)
        if request is None:
            return self._answer(current, t(current.org.locale, "teams.unknown_action"))
        who = Requester(CHANNEL, action.user or "", workspace=action.tenant)
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
        return card_answer(render_card(current.view, notice))

    def recado_author(self, user: str | None, tenant: str) -> Org | str:
        """The organisation of a staff member (of that tenant) who may post messages, or why they
        may not."""
        found = self.directory.by_staff(CHANNEL, user, tenant) if user else None
        if found is None:
            org = self.directory.of_workspace(CHANNEL, tenant)
            return t(org.locale, "teams.not_staff", org=org.config.organization.name)
        author = self.recados.author(_requester(user, tenant))
        return author.message if isinstance(author, RecadoResult) else author[0]

    async def recado(self, user: str | None, tenant: str, text: str) -> str:
        """The answer to a ``recado …`` message: where it went, or why it could not be posted."""
        org = self.recado_author(user, tenant)
        if isinstance(org, str):
            return org
        result = await self.recados.post(_requester(user, tenant), parse_recado(text, org.config))
        return result.message

    async def recado_form_sent(self, action: CardAction) -> str:
        """The answer to the ``recado`` form: where the message went, or what to fix."""
        org = self.recado_author(action.user, action.tenant)
        if isinstance(org, str):
            return org
        draft = recado_draft(action.data, org.config)
        if isinstance(draft, str):
            return draft
        return (await self.recados.post(_requester(action.user, action.tenant), draft)).message

    async def privacy_request(self, user: str | None, tenant: str, text: str) -> Activity:
        """The answer to ``privacidad …``: a text, or a card to confirm an erasure or to download."""
        from botbuilder.core import CardFactory, MessageFactory  # the SDK only once Teams is used

        assert self.privacy is not None
        answer = await self.privacy.request(_requester(user, tenant), text)
        card = answer_card(answer)
        if card is None:
            return MessageFactory.text(answer.text)
        return MessageFactory.attachment(CardFactory.adaptive_card(card))

    async def privacy_erase(self, action: CardAction) -> dict[str, Any]:
        """The confirmed erasure; the card that asked becomes what was done."""
        number = erase_number(action.data)
        if self.privacy is None or number is None:
            return message_answer(t(self.directory.default.locale, "teams.unknown_action"))
        answer = await self.privacy.erase(_requester(action.user, action.tenant), number)
        return card_answer(result_card(answer))


def _requester(user: str | None, tenant: str) -> Requester:
    return Requester(CHANNEL, user or "", workspace=tenant)
