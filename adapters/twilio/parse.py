"""Pure decoding of Twilio's form parameters. Every value is cleaned of what a database cannot store."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.domain.text import clean_text
from bot.services.calls import CallInfo

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


def _field(form: Mapping[str, str], name: str) -> str:
    return clean_text(form.get(name) or "").strip()
