"""Twilio messaging webhooks (SMS and WhatsApp): verify, parse, call one use case, answer."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from adapters.twilio import parse
from adapters.twilio.signature import TwilioVerifier
from bot.services.inbound import MessageIntake
from bot.services.replies import ReplyStatuses

PREFIX = "/twilio/messaging"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
"""What a messaging webhook answers: nothing is sent back from the request (replies are explicit)."""


def messaging_router(intake: MessageIntake, statuses: ReplyStatuses, verifier: TwilioVerifier) -> APIRouter:
    router = APIRouter()

    async def incoming(request: Request) -> Response:
        form = await verifier.verified_form(request)
        try:
            message = parse.inbound_message(form)  # type: ignore[arg-type]
        except parse.BadTwilioRequest as error:
            raise HTTPException(400, str(error)) from error
        await intake.received(message)
        return Response(content=EMPTY_TWIML, media_type="application/xml")

    async def status(request: Request) -> Response:
        form = await verifier.verified_form(request)
        try:
            found = parse.message_status(form, request.query_params)  # type: ignore[arg-type]
        except parse.BadTwilioRequest as error:
            raise HTTPException(400, str(error)) from error
        if not await statuses.update(found.message_id, found.sid, found.status, found.error_code):
            raise HTTPException(404, "No message Centralita sent has this id and MessageSid.")
        return Response(status_code=204)

    router.add_route(PREFIX, incoming, methods=["POST"], include_in_schema=False)
    router.add_route(PREFIX + "/status", status, methods=["POST"], include_in_schema=False)
    return router
