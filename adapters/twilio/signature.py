"""Twilio's X-Twilio-Signature, checked against the public URL Twilio called."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator


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
            415 when the body is not a form.
        """
        if self.validator is None:
            raise HTTPException(503, "Twilio is not configured: set TWILIO_AUTH_TOKEN.")
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            raise HTTPException(403, "Missing X-Twilio-Signature: this request does not come from Twilio.")
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise HTTPException(415, "Twilio webhooks are form-encoded (application/x-www-form-urlencoded).")
        form = await request.form()
        if not self.validator.validate(self.public_url_of(request), form, signature):
            raise HTTPException(
                403, "Wrong X-Twilio-Signature: check TWILIO_AUTH_TOKEN and CENTRALITA_PUBLIC_URL."
            )
        return form
