"""Twilio webhooks of a live transfer: the caller's hold message, and the staff leg (whisper, key
pressed, status). Each is verified, and a request about a call we do not know gets safe TwiML."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, HTTPException, Request, Response

from adapters.twilio import legs, twiml
from adapters.twilio.signature import TwilioVerifier
from bot.services.directory import Directory, Org
from bot.services.transfer import Connect, LiveTransfer

log = logging.getLogger("centralita.twilio")
XML = "application/xml"
PREFIX = "/twilio/voice/transfer"
Endpoint = Callable[[Request], Awaitable[Response]]


def wait_url(voice_base: str, org: Org) -> str:
    """The hold message's URL for a caller of ``org`` (the conference's ``waitUrl``)."""
    return f"{voice_base}/transfer/wait?org={org.id}"


def transfer_router(transfer: LiveTransfer, verifier: TwilioVerifier, public_url: str) -> APIRouter:
    router = APIRouter()
    base = public_url.rstrip("/") + PREFIX
    directory = transfer.rt.directory

    def post(path: str) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            router.add_route(PREFIX + path, endpoint, methods=["POST"], include_in_schema=False)
            return endpoint

        return register

    async def leg_of(request: Request) -> tuple[dict[str, str], legs.Leg]:
        form = await verifier.verified_form(request)
        try:
            return dict(form), legs.leg(request.query_params, "card")  # type: ignore[arg-type]
        except legs.BadLegRequest as error:
            raise HTTPException(400, str(error)) from error

    @post("/wait")
    async def wait(request: Request) -> Response:
        await verifier.verified_form(request)
        org = _org(directory, legs.org_of(request.query_params))
        if org is None:
            log.warning("hold message asked for an unknown organisation")
            return _xml(twiml.wait_message(twiml.Voice(directory.default.config)))
        return _xml(twiml.wait_message(twiml.Voice(org.config)))

    @post("/whisper")
    async def whisper(request: Request) -> Response:
        _, leg = await leg_of(request)
        found = await transfer.whisper(leg.subject, leg.attempt)
        if found is None:
            log.info("whisper for card %s attempt %s, which is over", leg.subject, leg.attempt)
            return _xml(twiml.safe_goodbye())
        action = f"{base}/press?card={leg.subject}&attempt={leg.attempt}"
        return _xml(twiml.whisper(twiml.Voice(found.org.config), found.text, action))

    @post("/press")
    async def press(request: Request) -> Response:
        form, leg = await leg_of(request)
        outcome = await transfer.pressed(leg.subject, leg.attempt, legs.digits(form))
        if isinstance(outcome, Connect):
            return _xml(twiml.join_conference(outcome.conference))
        if outcome is None:
            org = await transfer.org_of_card(leg.subject)
            if org is None:
                log.warning("key pressed for card %s, which we do not know", leg.subject)
                return _xml(twiml.safe_goodbye())
            return _xml(twiml.goodbye(twiml.Voice(org.config), "transfer_gone"))
        return _xml(twiml.goodbye(twiml.Voice(outcome.config), "transfer_declined"))

    @post("/leg")
    async def leg_status(request: Request) -> Response:
        form, leg = await leg_of(request)
        status = (form.get("CallStatus") or "").strip().lower()
        call_sid = (form.get("CallSid") or "").strip()[:64]
        if not await transfer.leg_status(leg.subject, leg.attempt, status, call_sid):
            log.warning("status %r of a transfer call for card %s, which we do not know", status, leg.subject)
        return Response(status_code=204)

    return router


def _org(directory: Directory, org_id: str) -> Org | None:
    return directory.get(org_id) if org_id in directory.ids else None


def _xml(body: str) -> Response:
    return Response(content=body, media_type=XML)
