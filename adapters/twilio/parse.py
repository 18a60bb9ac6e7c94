"""Pure decoding of Twilio's form parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.text import clean_text
from bot.services.calls import CallInfo
from bot.services.inbound import InboundMessage


class BadTwilioRequest(ValueError):
    """A Twilio request without the parameters every request of its kind has."""


def call_info(form: Mapping[str, str]) -> CallInfo:
    """Raises: BadTwilioRequest when CallSid is missing or malformed."""
    sid = (form.get("CallSid") or "").strip()
    if not sid.startswith("CA") or len(sid) > 64:
        raise BadTwilioRequest("CallSid is missing or is not a Twilio call id (CA…)")
    return CallInfo(call_sid=sid, from_number=form.get("From") or None, to_number=form.get("To") or None)


def speech(form: Mapping[str, str]) -> str:
    return (form.get("SpeechResult") or "").strip()


def recording_url(form: Mapping[str, str]) -> str | None:
    url = (form.get("RecordingUrl") or "").strip()
    return url or None


def call_status(form: Mapping[str, str]) -> str:
    return (form.get("CallStatus") or "").strip().lower()


# Messaging (SMS and WhatsApp) -------------------------------------------------------------------
MAX_MEDIA = 10


def inbound_message(form: Mapping[str, str]) -> InboundMessage:
    """Raises: BadTwilioRequest when MessageSid is missing or malformed."""
    sid = _message_field(form, "MessageSid") or _message_field(form, "SmsMessageSid")
    if not sid.startswith(("SM", "MM")) or len(sid) > 64:
        raise BadTwilioRequest("MessageSid is missing or is not a Twilio message id (SM… or MM…)")
    sender = _message_field(form, "From")
    return InboundMessage(
        sid=sid,
        channel="whatsapp" if sender.lower().startswith("whatsapp:") else "sms",
        from_number=sender or None,
        to_number=_message_field(form, "To") or None,
        body=_message_field(form, "Body"),
        media=_media(form),
        profile_name=_message_field(form, "ProfileName") or None,
        button_payload=_message_field(form, "ButtonPayload") or None,
    )


def _media(form: Mapping[str, str]) -> tuple[str, ...]:
    """The links of what came with the message (kept as links, never fetched here)."""
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    links = (_message_field(form, f"MediaUrl{i}") for i in range(count))
    return tuple(link for link in links if link.startswith(("https://", "http://")))


@dataclass(frozen=True)
class MessageStatus:
    message_id: int
    sid: str | None
    status: str
    error_code: str | None


def message_status(form: Mapping[str, str], query: Mapping[str, str]) -> MessageStatus:
    """A status callback of a message we sent; our message id is in the callback URL's query.

    Raises: BadTwilioRequest when the id or the status is missing."""
    raw_id = (query.get("message") or "").strip()
    status = (_message_field(form, "MessageStatus") or _message_field(form, "SmsStatus")).lower()
    if not raw_id.isdigit() or len(raw_id) > 9 or not status:
        raise BadTwilioRequest(
            "not a status callback of a message Centralita sent (message id, MessageStatus)"
        )
    sid = _message_field(form, "MessageSid") or None
    code = _message_field(form, "ErrorCode") or None
    return MessageStatus(int(raw_id), sid, status[:16], code[:16] if code else None)


def _message_field(form: Mapping[str, str], name: str) -> str:
    """A field cleaned of what a database cannot store (NUL, lone surrogates)."""
    return clean_text(form.get(name) or "").strip()
