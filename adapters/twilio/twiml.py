"""TwiML documents for each moment of a call, built with the twilio library."""

from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, VoiceResponse

from bot.domain.org import OrgConfig
from bot.i18n import t


@dataclass(frozen=True)
class Voice:
    """What the caller hears: the config's own texts first, the catalogue's otherwise."""

    config: OrgConfig

    def text(self, key: str) -> str:
        own = getattr(self.config.voice, key, None)
        if own:
            return str(own)
        return t(self.config.locale, f"voice.{key}", org=self.config.organization.name)

    def say(self, response: VoiceResponse | Gather, text: str) -> None:
        voice = self.config.voice
        response.say(text, language=voice.language, voice=voice.voice)


def ask_reason(voice: Voice, action: str) -> str:
    """Greeting, then a speech gather in the organisation's language for name and reason."""
    cfg = voice.config.voice
    response = VoiceResponse()
    gather = Gather(
        input="speech",
        language=cfg.language,
        speech_timeout="auto",
        timeout=cfg.gather_seconds,
        action=action,
        method="POST",
        action_on_empty_result=True,
    )
    voice.say(gather, voice.text("greeting"))
    voice.say(gather, voice.text("prompt"))
    response.append(gather)
    return str(response)


def record_voicemail(voice: Voice, intro_key: str, action: str, recording_callback: str) -> str:
    """A message (after hours, after silence, or while the database is down), then a recording:
    the caller's voicemail."""
    response = VoiceResponse()
    if intro_key in ("after_hours", "outage"):
        voice.say(response, voice.text("greeting"))
    voice.say(response, voice.text(intro_key))
    response.record(
        max_length=voice.config.voice.voicemail_seconds,
        play_beep=True,
        action=action,
        method="POST",
        recording_status_callback=recording_callback,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
        timeout=5,
    )
    return str(response)


def goodbye(voice: Voice, key: str) -> str:
    response = VoiceResponse()
    voice.say(response, voice.text(key))
    response.hangup()
    return str(response)


def reject() -> str:
    response = VoiceResponse()
    response.reject(reason="rejected")
    return str(response)


UNKNOWN_NUMBER_LANGUAGES = (("es", "es-ES"), ("en", "en-GB"))


def unknown_number() -> str:
    """No organisation answers on this number, so no locale is known: Spanish first, then English."""
    response = VoiceResponse()
    for locale, language in UNKNOWN_NUMBER_LANGUAGES:
        response.say(t(locale, "voice.unknown_number"), language=language)
    response.hangup()
    return str(response)
