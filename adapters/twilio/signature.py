"""Twilio's X-Twilio-Signature, checked against the public URL Twilio called."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile
from twilio.request_validator import RequestValidator

# Twilio's webhooks are a few dozen short fields; anything far bigger is not from Twilio.
MAX_BODY_BYTES = 64 * 1024


class TwilioVerifier:
    def __init__(self, auth_token: str | None, public_url: str) -> None:
        self.validator = RequestValidator(auth_token) if auth_token else None
        self.public_url = public_url.rstrip("/")

    def public_url_of(self, request: Request) -> str:
        query = request.url.query
        return f"{self.public_url}{request.url.path}" + (f"?{query}" if query else "")

    async def verified_form(self, request: Request) -> FormData:
        """The form of a request Twilio really sent.

        Raises:
            HTTPException: 503 when no auth token is configured, 403 on a missing or wrong signature,
            415 when the body is not a form, 413 when it is far bigger than any Twilio sends, 400 when
            it is not UTF-8.
        """
        if self.validator is None:
            raise HTTPException(503, "Twilio is not configured: set TWILIO_AUTH_TOKEN.")
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            raise HTTPException(403, "Missing X-Twilio-Signature: this request does not come from Twilio.")
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise HTTPException(415, "Twilio webhooks are form-encoded (application/x-www-form-urlencoded).")
        form = await _form(request)
        if not self.validator.validate(self.public_url_of(request), form, signature):
            raise HTTPException(
                403, "Wrong X-Twilio-Signature: check TWILIO_AUTH_TOKEN and CENTRALITA_PUBLIC_URL."
            )
        return form


async def _form(request: Request) -> FormData:
    """The url-encoded body, parsed with the standard library (half the cost of Starlette's
    multipart-capable parser, on every webhook)."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, "Request body too large for a Twilio webhook.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HTTPException(400, "Twilio webhooks are UTF-8; this body is not.") from error
    fields: list[tuple[str, str | UploadFile]] = list(parse_qsl(text, keep_blank_values=True))
    return FormData(fields)
