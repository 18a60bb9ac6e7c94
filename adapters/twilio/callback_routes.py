"""Twilio webhooks of a click-to-call callback: the staff leg's whisper, key pressed and status, and
the result of dialling the customer, through ``LegRoutes``: verified, and a request about a call we
do not know gets safe TwiML."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response

from adapters.twilio import legs, twiml
from adapters.twilio.leg_routes import LegRoutes, no_content, unknown, xml
from adapters.twilio.signature import TwilioVerifier
from bot.services.kept import KeptCallbacks

log = logging.getLogger("centralita.twilio")
PREFIX = "/twilio/voice/callback"
# What the Dial of the customer reports (DialCallStatus), as a result on the card.
DIAL_RESULTS = {"completed": "answered", "answered": "answered", "busy": "busy", "no-answer": "no_answer"}
FAILED_LEG = {"busy", "no-answer", "failed", "canceled"}


def callback_router(kept: KeptCallbacks, verifier: TwilioVerifier, public_url: str) -> APIRouter:
    routes = LegRoutes(PREFIX, "callback", verifier, public_url)

    @routes.post("/whisper")
    async def whisper(request: Request) -> Response:
        _, leg = await routes.leg(request)
        found = await kept.dialling(leg.subject, leg.attempt)
        if found is None:
            return unknown("callback whisper for %s attempt %s, which is over", leg.subject, leg.attempt)
        return xml(twiml.whisper(twiml.Voice(found.org.config), found.whisper, routes.url("/press", leg)))

    @routes.post("/press")
    async def press(request: Request) -> Response:
        form, leg = await routes.leg(request)
        found = await kept.dialling(leg.subject, leg.attempt)
        if found is None:
            return unknown("key pressed for callback %s attempt %s, which is over", leg.subject, leg.attempt)
        if legs.digits(form) != "1":
            return xml(twiml.goodbye(twiml.Voice(found.org.config), "transfer_declined"))
        return xml(twiml.dial_customer(found.customer, found.caller_id, routes.url("/dialled", leg)))

    @routes.post("/dialled")
    async def dialled(request: Request) -> Response:
        form, leg = await routes.leg(request)
        status = (form.get("DialCallStatus") or "").strip().lower()
        duration = (form.get("DialCallDuration") or "").strip()
        seconds = int(duration) if duration.isdigit() and len(duration) <= 9 else 0
        if not await kept.record(
            leg.subject, leg.attempt, DIAL_RESULTS.get(status, "failed"), seconds=seconds
        ):
            log.info(
                "dial result of callback %s attempt %s, already recorded or unknown", leg.subject, leg.attempt
            )
        return xml(twiml.hang_up())

    @routes.post("/leg")
    async def leg_status(request: Request) -> Response:
        form, leg = await routes.leg(request)
        status = (form.get("CallStatus") or "").strip().lower()
        if status in FAILED_LEG:  # the staff phone itself did not answer: nobody was dialled
            await kept.record(leg.subject, leg.attempt, "error", error=status)
        return no_content()

    return routes.router
