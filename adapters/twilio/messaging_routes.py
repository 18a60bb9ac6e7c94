"""Twilio messaging webhooks (SMS and WhatsApp): verify, parse, call one use case, answer.

While the database is unreachable what they bring is spooled (``SpooledMessages``) and Twilio gets
its usual answer; only when even the spool cannot be written is it 503 (Twilio then tries the number's
fallback URL, and its debugger shows the error)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from adapters.twilio import parse
from adapters.twilio.signature import TwilioVerifier
from bot.services.spooled_messages import SpooledMessages

PREFIX = "/twilio/messaging"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
"""What a messaging webhook answers: nothing is sent back from the request (replies are explicit)."""
LOST = "The database is unreachable and the spool cannot be written."


def messaging_router(messages: SpooledMessages, verifier: TwilioVerifier) -> APIRouter:
    router = APIRouter()

    async def incoming(request: Request) -> Response:
        form = await verifier.verified_form(request)
        try:
            message = parse.inbound_message(form)  # type: ignore[arg-type]
        except parse.BadTwilioRequest as error:
            raise HTTPException(400, str(error)) from error
        if await messages.received(message) == "lost":
            raise HTTPException(503, LOST)
        return Response(content=EMPTY_TWIML, media_type="application/xml")

    async def status(request: Request) -> Response:
        form = await verifier.verified_form(request)
        try:
            report = parse.message_status(form, request.query_params)  # type: ignore[arg-type]
        except parse.BadTwilioRequest as error:
            raise HTTPException(400, str(error)) from error
        saved = await messages.status(report)
        if saved is None:
            raise HTTPException(404, "No message Centralita sent has this id and MessageSid.")
        if saved == "lost":
            raise HTTPException(503, LOST)
        return Response(status_code=204)

    router.add_route(PREFIX, incoming, methods=["POST"], include_in_schema=False)
    router.add_route(PREFIX + "/status", status, methods=["POST"], include_in_schema=False)
    return router
