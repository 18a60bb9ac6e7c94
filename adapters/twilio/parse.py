"""Pure decoding of Twilio's form parameters."""

from __future__ import annotations

from collections.abc import Mapping

from bot.services.calls import CallInfo


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
