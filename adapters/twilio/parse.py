"""Pure decoding of Twilio's form parameters. Every value is cleaned of what a database cannot store."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.domain.text import clean_text
from bot.services.calls import CallInfo
from bot.services.inbound import InboundMessage
from bot.services.replies import StatusReport

# Twilio's call ids: "CA" and 32 hexadecimal digits (34 characters).
_CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")


class BadTwilioRequest(ValueError):
    """A Twilio request without the parameters every request of its kind has."""


def call_info(form: Mapping[str, str]) -> CallInfo:
    """Raises: BadTwilioRequest when CallSid is missing or malformed."""
    sid = _field(form, "CallSid")
    if not _CALL_SID.fullmatch(sid):
        raise BadTwilioRequest("CallSid is missing or is not a Twilio call id (CA and 32 hex digits)")
    caller, called = _field(form, "From") or None, _field(form, "To") or None
    return CallInfo(call_sid=sid, from_number=caller, to_number=called)


def speech(form: Mapping[str, str]) -> str:
    return _field(form, "SpeechResult")


def recording_url(form: Mapping[str, str]) -> str | None:
    return _field(form, "RecordingUrl") or None


def call_status(form: Mapping[str, str]) -> str:
    return _field(form, "CallStatus").lower()


# Messaging (SMS and WhatsApp) -------------------------------------------------------------------
MAX_MEDIA = 10


def inbound_message(form: Mapping[str, str]) -> InboundMessage:
    """Raises: BadTwilioRequest when MessageSid is missing or malformed."""
    sid = _field(form, "MessageSid") or _field(form, "SmsMessageSid")
    if not sid.startswith(("SM", "MM")) or len(sid) > 64:
        raise BadTwilioRequest("MessageSid is missing or is not a Twilio message id (SM… or MM…)")
    sender = _field(form, "From")
    return InboundMessage(
        sid=sid,
        channel="whatsapp" if sender.lower().startswith("whatsapp:") else "sms",
        from_number=sender or None,
        to_number=_field(form, "To") or None,
        body=_field(form, "Body"),
        media=_media(form),
        profile_name=_field(form, "ProfileName") or None,
        button_payload=_field(form, "ButtonPayload") or None,
    )


def _media(form: Mapping[str, str]) -> tuple[str, ...]:
    """The links of what came with the message (kept as links, never fetched here)."""
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    links = (_field(form, f"MediaUrl{i}") for i in range(count))
    return tuple(link for link in links if link.startswith(("https://", "http://")))


def message_status(form: Mapping[str, str], query: Mapping[str, str]) -> StatusReport:
    """A status callback of a message we sent; our message id is in the callback URL's query.

    Raises: BadTwilioRequest when the id or the status is missing."""
    raw_id = (query.get("message") or "").strip()
    status = (_field(form, "MessageStatus") or _field(form, "SmsStatus")).lower()
    if not raw_id.isdigit() or len(raw_id) > 9 or not status:
        raise BadTwilioRequest(
            "not a status callback of a message Centralita sent (message id, MessageStatus)"
        )
    sid = _field(form, "MessageSid") or None
    code = _field(form, "ErrorCode") or None
    return StatusReport(int(raw_id), sid, status[:16], code[:16] if code else None)


def _field(form: Mapping[str, str], name: str) -> str:
    return clean_text(form.get(name) or "").strip()
