"""What a card opened by a customer's SMS or WhatsApp message shows of them: the channel, how long a
free-text reply can still go (WhatsApp's 24-hour window), the last reply's delivery, an opt-out,
the links of what they sent."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import t
from cards.actions import ActionId
from cards.model import CardFacts, DirectView

CHANNEL_NAMES = {"whatsapp": "WhatsApp", "sms": "SMS"}
EXPLAINED_ERRORS = frozenset({"63016", "21610", "63014", "63018", "21211", "21614", "not_configured"})
"""Twilio's error codes said in words on the card; any other is shown as its code."""


def is_customer_card(facts: CardFacts) -> bool:
    return facts.source in CHANNEL_NAMES


def customer_fields(facts: CardFacts, now: datetime) -> list[tuple[str, str | None]]:
    """(catalogue key of the label, value) of each line."""
    if not is_customer_card(facts):
        return []
    loc = facts.locale
    return [
        ("card.field.channel", CHANNEL_NAMES[facts.source]),
        ("card.field.window", window_line(facts, now)),
        ("card.field.reply", reply_line(facts)),
        ("card.field.opted_out", t(loc, "card.opted_out") if facts.opted_out else None),
        ("card.field.media", " ".join(facts.media) if facts.media else None),
    ]


def window_line(facts: CardFacts, now: datetime) -> str | None:
    """ "puede responder hasta el 25/11 a las 14:05", or that it is closed. A date and a time, never
    "3 h más" or "hoy": the card sits in the channel between renders, and it is rendered again when
    the window closes (``bot.services.windows``)."""
    closes = facts.reply_window_closes
    if closes is None or facts.opted_out:
        return None
    if closes <= now:
        return t(facts.locale, "card.window.closed")
    local = closes.astimezone(ZoneInfo(facts.timezone))
    date = local.strftime("%d/%m" if facts.locale == "es" else "%m/%d")
    return t(facts.locale, "card.window.until", date=date, time=local.strftime("%H:%M"))


def reply_line(facts: CardFacts) -> str | None:
    if facts.reply_status is None:
        return None
    status = t(facts.locale, f"card.reply.{facts.reply_status}")
    code = facts.reply_error
    if not code:
        return status
    if code in EXPLAINED_ERRORS:
        return t(
            facts.locale, "card.reply.error", status=status, reason=t(facts.locale, f"twilio.error.{code}")
        )
    return t(facts.locale, "card.reply.error_code", status=status, code=code)


# Staff reached on their phone (WhatsApp, SMS): the actions of a DM as codes they answer with -----
PHONE_CODES: dict[ActionId, str] = {ActionId.CLAIM: "1", ActionId.CALL_NOW: "2", ActionId.CALLBACK_DONE: "3"}
_WORDS: dict[str, ActionId] = {
    "reclamar": ActionId.CLAIM,
    "reclamo": ActionId.CLAIM,
    "claim": ActionId.CLAIM,
    "llámame": ActionId.CALL_NOW,
    "llamame": ActionId.CALL_NOW,
    "call me": ActionId.CALL_NOW,
    "hecho": ActionId.CALLBACK_DONE,
    "done": ActionId.CALLBACK_DONE,
}


def phone_text(view: DirectView) -> str:
    """A DM as one text message: its text, then the code of each action it offers
    ("Responda: 1 = Reclamar · 2 = Llamar ahora")."""
    codes = [f"{PHONE_CODES[a.id]} = {a.label}" for a in view.actions if a.id in PHONE_CODES]
    text = view.text.plain()
    return f"{text}\n{view.answer_label} {' · '.join(codes)}" if codes else text


def action_from_reply(text: str, button_payload: str | None) -> ActionId | None:
    """What a staff member's answer on their phone asks for: a quick-reply button's id, a code or
    a word; None when it is none of them."""
    if button_payload:
        try:
            return ActionId(button_payload.strip().lower())
        except ValueError:
            return None
    word = text.strip().strip(".!¡").lower()
    by_code = {code: action for action, code in PHONE_CODES.items()}
    return by_code.get(word) or _WORDS.get(word)
