"""Twilio's X-Twilio-Signature, checked against the public URL Twilio called."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import parse_qsl, urlparse

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile
from twilio.request_validator import RequestValidator, add_port, compare, remove_port

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
            HTTPException: 503 when no auth token is configured; 403 on a missing or wrong signature,
            or a body that is not UTF-8 (Twilio signs text, so it did not sign that); 413 when the
            body is far bigger than any Twilio sends; 415 when a signed body is not a form.
        """
        if self.validator is None:
            raise HTTPException(503, "Twilio is not configured: set TWILIO_AUTH_TOKEN.")
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            raise HTTPException(403, "Missing X-Twilio-Signature: this request does not come from Twilio.")
        fields = await _fields(request)
        if fields is None or not self._signed(self.public_url_of(request), fields, signature):
            raise HTTPException(
                403, "Wrong X-Twilio-Signature: check TWILIO_AUTH_TOKEN and CENTRALITA_PUBLIC_URL."
            )
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise HTTPException(415, "Twilio webhooks are form-encoded (application/x-www-form-urlencoded).")
        return FormData(fields)

    def _signed(self, url: str, fields: list[tuple[str, str | UploadFile]], signature: str) -> bool:
        """What ``RequestValidator.validate`` checks for a form (the URL as given, then with the
        default port added or removed, since Twilio signs either), with the SDK's own signature:
        the fields are grouped once instead of searched for each name, and the second URL is tried
        only when the first does not match."""
        assert self.validator is not None
        params = _Params()
        for name, value in fields:
            params[name].append(str(value))
        parsed = urlparse(url)
        for candidate in dict.fromkeys((url, remove_port(parsed), add_port(parsed))):
            if compare(self.validator.compute_signature(candidate, params), signature):
                return True
        return False


class _Params(defaultdict[str, list[str]]):
    """Form fields by name, with the ``getall`` that ``RequestValidator.compute_signature`` uses
    for a multi-dict."""

    def __init__(self) -> None:
        super().__init__(list)

    def getall(self, name: str) -> list[str]:
        return self[name]


async def _fields(request: Request) -> list[tuple[str, str | UploadFile]] | None:
    """The url-encoded body, parsed with the standard library (half the cost of Starlette's
    multipart-capable parser, on every webhook); None when it is not UTF-8.

    Raises: HTTPException 413 when it is far bigger than any Twilio sends."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, "Request body too large for a Twilio webhook.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return list(parse_qsl(text, keep_blank_values=True))
