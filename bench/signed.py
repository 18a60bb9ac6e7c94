"""Requests shaped and signed like Twilio's and Slack's, with the platforms' own SDK helpers."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

from bench.constants import CARD_CHANNEL, CLAIMER, CLINIC_NUMBER, SLACK_SECRET, TWILIO_TOKEN
from bench.load import Prepared
from tests.support import block_actions, button, new_call_sid

FORM = "application/x-www-form-urlencoded"
ACCOUNT_SID = "AC" + "b" * 32
# Three reasons to call, so the burst's cards go through three triage rules and two channels.
REASONS = (
    "Hola, soy Pedro Gómez, quería pedir cita para una limpieza",
    "Buenas tardes, soy Laura Sanz, quería saber el precio de un implante",
    "Soy Carmen Ruiz, es urgente, tengo mucho dolor de muelas",
)


def caller_number(index: int) -> str:
    return f"+3460{index % 10_000_000:07d}"


def voice_params(sid: str, caller: str, status: str = "ringing") -> dict[str, str]:
    """The form Twilio posts to the voice URL when a call comes in."""
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": status,
        "Called": CLINIC_NUMBER,
        "CalledCountry": "ES",
        "CalledState": "Madrid",
        "Caller": caller,
        "CallerCountry": "ES",
        "Direction": "inbound",
        "From": caller,
        "FromCountry": "ES",
        "FromState": "Madrid",
        "To": CLINIC_NUMBER,
        "ToCountry": "ES",
        "ToState": "Madrid",
    }


class TwilioSigner:
    """Signs with X-Twilio-Signature over the server's public URL, as Twilio does."""

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")
        self.validator = RequestValidator(TWILIO_TOKEN)

    def prepare(self, path: str, params: dict[str, str]) -> Prepared:
        signature = self.validator.compute_signature(self.public_url + path, params)
        headers = {"Content-Type": FORM, "X-Twilio-Signature": signature}
        return Prepared(path, urlencode(params).encode(), headers)

    def incoming(self, index: int) -> Prepared:
        """A new call (unique CallSid) hitting ``POST /twilio/voice``."""
        return self.prepare("/twilio/voice", voice_params(new_call_sid(), caller_number(index)))

    def call(self, index: int, token: str) -> CallRequests:
        """The three webhooks of one answered call; ``token`` is said, so its card can be recognised."""
        sid, caller = new_call_sid(), caller_number(index)
        base = voice_params(sid, caller)
        speech = f"{REASONS[index % len(REASONS)]} (ref {token})"
        said = {**base, "CallStatus": "in-progress", "SpeechResult": speech, "Confidence": "0.91"}
        ended = {**base, "CallStatus": "completed", "CallDuration": "31"}
        return CallRequests(
            token,
            self.prepare("/twilio/voice", base),
            self.prepare("/twilio/voice/gather", said),
            self.prepare("/twilio/voice/status", ended),
        )


@dataclass(frozen=True)
class CallRequests:
    token: str
    voice: Prepared
    gather: Prepared
    status: Prepared


def claim_click(card_id: int, user: str = CLAIMER) -> Prepared:
    """A signed ``block_actions`` payload: ``user`` clicks *Claim* on the card."""
    payload = block_actions(button("claim", card_id), user, CARD_CHANNEL)
    body = urlencode({"payload": json.dumps(payload)})
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=timestamp, body=body) or ""
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
    return Prepared("/slack/events", body.encode(), headers)
