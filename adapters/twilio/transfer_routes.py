"""Twilio webhooks of a live transfer: the caller's hold message and conference events, and the
staff leg (whisper, key pressed, status), through ``LegRoutes``: each is verified, and a request
about a call we do not know gets safe TwiML (or a 204 for a status) and a log line."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, Response

from adapters.twilio import legs, twiml
from adapters.twilio.leg_routes import LegRoutes, no_content, unknown, xml
from adapters.twilio.signature import TwilioVerifier
from bot.services.directory import Directory, Org
from bot.services.transfer import Connect, LiveTransfer

log = logging.getLogger("centralita.twilio")
PREFIX = "/twilio/voice/transfer"


def wait_url(voice_base: str, org: Org) -> str:
    """The hold message's URL for a caller of ``org`` (the conference's ``waitUrl``)."""
    return f"{voice_base}/transfer/wait?org={org.id}"


def conference_url(voice_base: str) -> str:
    """Where the caller's conference reports a participant leaving (its ``statusCallback``)."""
    return f"{voice_base}/transfer/conference"


def transfer_router(transfer: LiveTransfer, verifier: TwilioVerifier, public_url: str) -> APIRouter:
    routes = LegRoutes(PREFIX, "card", verifier, public_url)
    directory = transfer.rt.directory

    @routes.post("/wait")
    async def wait(request: Request) -> Response:
        await routes.form(request)
        org = _org(directory, legs.org_of(request.query_params))
        if org is None:
            log.warning("hold message asked for an unknown organisation")
            return xml(twiml.wait_message(twiml.Voice(directory.default.config)))
        return xml(twiml.wait_message(twiml.Voice(org.config)))

    @routes.post("/conference")
    async def conference(request: Request) -> Response:
        """The caller leaving their own conference while on hold: they hung up while waiting."""
        try:
            event = legs.conference_event(await routes.form(request))
        except legs.BadLegRequest as error:
            raise HTTPException(400, str(error)) from error
        if event.caller_left and not await transfer.caller_left(event.call_sid):
            log.info("conference %s left, which is no call we know", event.conference)
        return no_content()

    @routes.post("/whisper")
    async def whisper(request: Request) -> Response:
        _, leg = await routes.leg(request)
        found = await transfer.whisper(leg.subject, leg.attempt)
        if found is None:
            return unknown("whisper for card %s attempt %s, which is over", leg.subject, leg.attempt)
        return xml(twiml.whisper(twiml.Voice(found.org.config), found.text, routes.url("/press", leg)))

    @routes.post("/press")
    async def press(request: Request) -> Response:
        form, leg = await routes.leg(request)
        outcome = await transfer.pressed(leg.subject, leg.attempt, legs.digits(form))
        if isinstance(outcome, Connect):
            return xml(twiml.join_conference(outcome.conference))
        if outcome is None:
            org = await transfer.org_of_card(leg.subject)
            if org is None:
                return unknown("key pressed for card %s, which we do not know", leg.subject)
            return xml(twiml.goodbye(twiml.Voice(org.config), "transfer_gone"))
        return xml(twiml.goodbye(twiml.Voice(outcome.config), "transfer_declined"))

    @routes.post("/leg")
    async def leg_status(request: Request) -> Response:
        form, leg = await routes.leg(request)
        status = (form.get("CallStatus") or "").strip().lower()
        call_sid = (form.get("CallSid") or "").strip()[:64]
        if not await transfer.leg_status(leg.subject, leg.attempt, status, call_sid):
            log.warning("status %r of a transfer call for card %s, which we do not know", status, leg.subject)
        return no_content()

    return routes.router


def _org(directory: Directory, org_id: str) -> Org | None:
    return directory.get(org_id) if org_id in directory.ids else None
