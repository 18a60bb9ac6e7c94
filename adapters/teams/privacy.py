"""Teams' side of the managers' privacy requests: a message to the bot, ``privacidad
exportar|borrar NUMBER``. An erasure is asked back as an Adaptive Card whose *Erase* button is an
``Action.Execute``; its invoke runs the erasure and answers with what was done in place of the
question. An export is a one-time download link (a bot cannot hand a file over in Teams without
OneDrive consent cards)."""

from __future__ import annotations

from typing import Any

from bot.services.privacy_desk import DeskAnswer
from cards.adaptive import SCHEMA, VERSION

ERASE_VERB = "privacy_erase"


def answer_card(answer: DeskAnswer) -> dict[str, Any] | None:
    """The card of an answer that asks for a confirmation or gives a link; None for a plain text."""
    actions: list[dict[str, Any]] = []
    if answer.question is not None:
        question = answer.question
        actions.append(
            {
                "type": "Action.Execute",
                "verb": ERASE_VERB,
                "title": question.confirm,
                "style": "destructive",
                "data": {"number": question.number},
            }
        )
        return _card(answer.text, question.title, actions)
    if answer.link is not None:
        actions.append({"type": "Action.OpenUrl", "title": answer.link_label, "url": answer.link})
        return _card(answer.text, None, actions)
    return None


def result_card(answer: DeskAnswer) -> dict[str, Any]:
    """What replaces the question once the button was pressed: the result, and no button."""
    return _card(answer.text, None, [])


def erase_number(data: dict[str, Any]) -> str | None:
    number = data.get("number")
    return number if isinstance(number, str) and 0 < len(number) <= 32 else None


def _card(text: str, title: str | None, actions: list[dict[str, Any]]) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    if title:
        body.append({"type": "TextBlock", "text": title, "weight": "bolder", "wrap": True})
    body.append({"type": "TextBlock", "text": text, "wrap": True})
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        card["actions"] = actions
    return card
