"""TwiML documents for each moment of a call, built with the twilio library."""

from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

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


# Live transfer and click-to-call (issue 10) ------------------------------------------------------
WAIT_PAUSE_SECONDS = 20


def hold_for_transfer(voice: Voice, conference: str, wait_url: str, events_url: str) -> str:
    """The caller is told they are being put through, then waits alone in their own conference
    (named after their CallSid) hearing ``wait_url``'s message; staff joining starts it. The
    conference reports a participant leaving to ``events_url`` (the caller hanging up on hold)."""
    response = VoiceResponse()
    voice.say(response, voice.text("transfer_connecting"))
    dial = Dial()
    dial.conference(
        conference,
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        wait_url=wait_url,
        wait_method="POST",
        beep=False,
        status_callback=events_url,
        status_callback_event="leave",
        status_callback_method="POST",
    )
    response.append(dial)
    return str(response)


def wait_message(voice: Voice) -> str:
    """The conference's hold document, which Twilio plays in a loop: the message about every 20 s."""
    response = VoiceResponse()
    voice.say(response, voice.text("transfer_wait"))
    response.pause(length=WAIT_PAUSE_SECONDS)
    return str(response)


def whisper(voice: Voice, text: str, action: str) -> str:
    """What the staff member hears on answering; one key, sent to ``action`` (empty when none)."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf", num_digits=1, timeout=8, action=action, method="POST", action_on_empty_result=True
    )
    voice.say(gather, text)
    response.append(gather)
    return str(response)


def join_conference(conference: str) -> str:
    """The staff leg enters the caller's conference, which starts it; either hanging up ends it."""
    response = VoiceResponse()
    dial = Dial()
    dial.conference(conference, start_conference_on_enter=True, end_conference_on_exit=True, beep=False)
    response.append(dial)
    return str(response)


def dial_customer(number: str, caller_id: str, action: str) -> str:
    """Click-to-call: after the whisper, the customer is dialled with the organisation's number."""
    response = VoiceResponse()
    dial = Dial(caller_id=caller_id, answer_on_bridge=True, timeout=30, action=action, method="POST")
    dial.number(number)
    response.append(dial)
    return str(response)


def safe_goodbye() -> str:
    """For a Twilio request about a call we do not know: a short goodbye, Spanish then English."""
    response = VoiceResponse()
    for locale, language in UNKNOWN_NUMBER_LANGUAGES:
        response.say(t(locale, "voice.safe_goodbye"), language=language)
    response.hangup()
    return str(response)


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)
