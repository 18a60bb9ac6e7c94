"""What a card opened by a customer's SMS or WhatsApp message shows of them: the channel, how long a
free-text reply can still go (WhatsApp's 24-hour window), the last reply's delivery, an opt-out,
the links of what they sent."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import t
from cards.model import CardFacts

CHANNEL_NAMES = {"whatsapp": "WhatsApp", "sms": "SMS"}
EXPLAINED_ERRORS = frozenset({"63016", "21610", "63014", "63018", "21211", "21614", "not_configured"})
"""Twilio's error codes said in words on the card; any other is shown as its code."""


def is_customer_card(facts: CardFacts) -> bool:
    return facts.source in CHANNEL_NAMES


def customer_fields(facts: CardFacts, when: str, now: datetime) -> list[tuple[str, str | None]]:
    """(catalogue key of the label, value) of each line; ``when`` is the window's closing time as
    the card writes times."""
    if not is_customer_card(facts):
        return []
    loc = facts.locale
    return [
        ("card.field.channel", CHANNEL_NAMES[facts.source]),
        ("card.field.window", window_line(facts, when, now)),
        ("card.field.reply", reply_line(facts)),
        ("card.field.opted_out", t(loc, "card.opted_out") if facts.opted_out else None),
        ("card.field.media", " ".join(facts.media) if facts.media else None),
    ]


def window_line(facts: CardFacts, when: str, now: datetime) -> str | None:
    """ "puede responder durante 3 h más (hasta hoy 14:05)", or that it is closed."""
    closes = facts.reply_window_closes
    if closes is None or facts.opted_out:
        return None
    left = (closes - now).total_seconds()
    if left <= 0:
        return t(facts.locale, "card.window.closed")
    if left >= 3600:
        return t(facts.locale, "card.window.hours", hours=int(left // 3600), when=when)
    return t(facts.locale, "card.window.minutes", minutes=max(1, int(left // 60)), when=when)


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
