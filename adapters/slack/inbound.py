"""A request to ``/slack/events``: its signature checked on the raw body before anything is decoded,
then decoded the way Bolt does it, with anything that is not a Slack payload refused.

Bolt decodes the body (``payload=`` JSON, UTF-8) before its own signature check, so an unsigned
request with a body that is not UTF-8, or a timestamp that is not a number, raised inside Bolt.
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request

from adapters.slack.parse import MalformedSlackRequest, check_shape

_TIMESTAMP_DIGITS = 12
"""A Unix time in seconds has 10 digits until the year 2286; far longer is not a time."""


class SlackSignature:
    """Slack's ``X-Slack-Signature`` (HMAC-SHA256 of ``v0:<timestamp>:<body>``), checked by the SDK's
    ``SignatureVerifier`` with the signing secret Bolt has, within Slack's five minutes."""

    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)

    def refusal(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """Why this request was not signed by Slack; None when it was."""
        timestamp = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if not timestamp or not signature:
            return "missing X-Slack-Signature or X-Slack-Request-Timestamp"
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _TIMESTAMP_DIGITS):
            return "X-Slack-Request-Timestamp is not a Unix time"
        if not signature.isascii():
            return "invalid signature"
        try:
            signed = self._verifier.is_valid(body, timestamp, signature)
        except UnicodeDecodeError:  # the SDK signs text: a body that is not UTF-8 was not signed
            signed = False
        return None if signed else "invalid or expired signature"


def bolt_request(request: Request, body: bytes) -> AsyncBoltRequest:
    """The verified request as Bolt takes it.

    Raises: MalformedSlackRequest when the body is not a Slack payload (a JSON object, or a form)
    or is not shaped like one where Bolt reads it before our listeners."""
    try:
        found = to_async_bolt_request(request, body)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as error:
        # Bolt's decoding: JSON that does not parse, or a payload that is a list, a number…
        raise MalformedSlackRequest(f"not a Slack payload ({type(error).__name__})") from error
    if not isinstance(found.body, dict):
        raise MalformedSlackRequest("not a Slack payload (not a JSON object)")
    check_shape(found.body)
    return found
