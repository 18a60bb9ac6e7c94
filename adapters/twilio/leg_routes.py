"""What the webhooks of the calls we place share (a live transfer's staff leg, a click-to-call):
each is a plain POST route under one prefix, its form checked against X-Twilio-Signature first; the
card or callback and attempt it is about come from its URL (signed with the rest), and a request
about a call we do not know is logged and answered with safe TwiML, or a bare 204 for a status."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from adapters.twilio import legs, twiml
from adapters.twilio.signature import TwilioVerifier

log = logging.getLogger("centralita.twilio")
XML = "application/xml"
Endpoint = Callable[[Request], Awaitable[Response]]


class LegRoutes:
    """A router for the webhooks under ``prefix`` about one kind of ``subject`` (``card`` or
    ``callback``, the query parameter naming it). ``base``: their public URL, for the URLs our
    TwiML gives Twilio."""

    def __init__(self, prefix: str, subject: str, verifier: TwilioVerifier, public_url: str) -> None:
        self.router = APIRouter()
        self.prefix, self.subject, self.verifier = prefix, subject, verifier
        self.base = public_url.rstrip("/") + prefix

    def post(self, path: str) -> Callable[[Endpoint], Endpoint]:
        """A plain Starlette route (these read the raw request and answer a Response)."""

        def register(endpoint: Endpoint) -> Endpoint:
            self.router.add_route(self.prefix + path, endpoint, methods=["POST"], include_in_schema=False)
            return endpoint

        return register

    async def form(self, request: Request) -> dict[str, str]:
        """The form of a request Twilio really sent (403, 413, 415, 503 otherwise)."""
        return dict(await self.verifier.verified_form(request))  # type: ignore[arg-type]

    async def leg(self, request: Request) -> tuple[dict[str, str], legs.Leg]:
        """The verified form, and the subject and attempt its URL names (400 when it names none)."""
        form = await self.form(request)
        try:
            return form, legs.leg(request.query_params, self.subject)
        except legs.BadLegRequest as error:
            raise HTTPException(400, str(error)) from error

    def url(self, path: str, leg: legs.Leg) -> str:
        """The public URL of ``path`` for the same subject and attempt."""
        return f"{self.base}{path}?{self.subject}={leg.subject}&attempt={leg.attempt}"


def xml(body: str) -> Response:
    return Response(content=body, media_type=XML)


def unknown(message: str, *args: Any) -> Response:
    """Safe TwiML (a short goodbye, Spanish then English) for a call we do not know or that is over."""
    log.info(message, *args)
    return xml(twiml.safe_goodbye())


def no_content() -> Response:
    """What a status callback gets: nobody hears it."""
    return Response(status_code=204)
