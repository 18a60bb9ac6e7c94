"""Twilio webhooks of a click-to-call callback: the staff leg's whisper, key pressed and status, and
the result of dialling the customer. Verified; a request about a call we do not know gets safe TwiML."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, HTTPException, Request, Response

from adapters.twilio import legs, twiml
from adapters.twilio.signature import TwilioVerifier
from bot.services.kept import KeptCallbacks

log = logging.getLogger("centralita.twilio")
XML = "application/xml"
PREFIX = "/twilio/voice/callback"
Endpoint = Callable[[Request], Awaitable[Response]]
# What the Dial of the customer reports (DialCallStatus), as a result on the card.
DIAL_RESULTS = {"completed": "answered", "answered": "answered", "busy": "busy", "no-answer": "no_answer"}
FAILED_LEG = {"busy", "no-answer", "failed", "canceled"}


def callback_router(kept: KeptCallbacks, verifier: TwilioVerifier, public_url: str) -> APIRouter:
    router = APIRouter()
    base = public_url.rstrip("/") + PREFIX

    def post(path: str) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            router.add_route(PREFIX + path, endpoint, methods=["POST"], include_in_schema=False)
            return endpoint

        return register

    async def leg_of(request: Request) -> tuple[dict[str, str], legs.Leg]:
        form = await verifier.verified_form(request)
        try:
            return dict(form), legs.leg(request.query_params, "callback")  # type: ignore[arg-type]
        except legs.BadLegRequest as error:
            raise HTTPException(400, str(error)) from error

    def query(leg: legs.Leg) -> str:
        return f"callback={leg.subject}&attempt={leg.attempt}"

    @post("/whisper")
    async def whisper(request: Request) -> Response:
        _, leg = await leg_of(request)
        found = await kept.dialling(leg.subject, leg.attempt)
        if found is None:
            log.info("callback whisper for %s attempt %s, which is over", leg.subject, leg.attempt)
            return _xml(twiml.safe_goodbye())
        return _xml(twiml.whisper(twiml.Voice(found.org.config), found.whisper, f"{base}/press?{query(leg)}"))

    @post("/press")
    async def press(request: Request) -> Response:
        form, leg = await leg_of(request)
        found = await kept.dialling(leg.subject, leg.attempt)
        if found is None:
            return _xml(twiml.safe_goodbye())
        if legs.digits(form) != "1":
            return _xml(twiml.goodbye(twiml.Voice(found.org.config), "transfer_declined"))
        action = f"{base}/dialled?{query(leg)}"
        return _xml(twiml.dial_customer(found.customer, found.caller_id, action))

    @post("/dialled")
    async def dialled(request: Request) -> Response:
        form, leg = await leg_of(request)
        status = (form.get("DialCallStatus") or "").strip().lower()
        seconds = (
            int(form.get("DialCallDuration") or 0) if (form.get("DialCallDuration") or "").isdigit() else 0
        )
        if not await kept.record(
            leg.subject, leg.attempt, DIAL_RESULTS.get(status, "failed"), seconds=seconds
        ):
            log.info(
                "dial result of callback %s attempt %s, already recorded or unknown", leg.subject, leg.attempt
            )
        return _xml(twiml.hang_up())

    @post("/leg")
    async def leg_status(request: Request) -> Response:
        form, leg = await leg_of(request)
        status = (form.get("CallStatus") or "").strip().lower()
        if status in FAILED_LEG:  # the staff phone itself did not answer: nobody was dialled
            await kept.record(leg.subject, leg.attempt, "error", error=status)
        return Response(status_code=204)

    return router


def _xml(body: str) -> Response:
    return Response(content=body, media_type=XML)
