"""Twilio voice webhooks: verify, parse, call one use case, answer TwiML."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.datastructures import FormData

from adapters.twilio import parse, twiml
from adapters.twilio.signature import TwilioVerifier
from bot.services.calls import CallIntake

XML = "application/xml"


def voice_router(intake: CallIntake, verifier: TwilioVerifier, public_url: str) -> APIRouter:
    router = APIRouter(prefix="/twilio/voice")
    base = public_url.rstrip("/") + "/twilio/voice"

    async def verified(request: Request) -> tuple[FormData, Any]:
        form = await verifier.verified_form(request)
        try:
            return form, parse.call_info(form)  # type: ignore[arg-type]
        except parse.BadTwilioRequest as error:
            raise HTTPException(400, str(error)) from error

    @router.post("")
    async def incoming(request: Request) -> Response:
        _, call = await verified(request)
        start = await intake.start(call)
        if start is None:
            return _xml(twiml.unknown_number())
        if start.rejected:
            return _xml(twiml.reject())
        voice = twiml.Voice(start.org.config)
        if not start.in_hours:
            return _xml(
                twiml.record_voicemail(voice, "after_hours", f"{base}/voicemail", f"{base}/recording")
            )
        return _xml(twiml.ask_reason(voice, f"{base}/gather"))

    @router.post("/gather")
    async def gathered(request: Request) -> Response:
        form, call = await verified(request)
        said = parse.speech(form)  # type: ignore[arg-type]
        if not said:
            org = intake.rt.directory.by_number(call.to_number)
            if org is None:
                return _xml(twiml.unknown_number())
            voice = twiml.Voice(org.config)
            return _xml(twiml.record_voicemail(voice, "no_speech", f"{base}/voicemail", f"{base}/recording"))
        return await _answer(intake.message(call, said), "message_taken")

    @router.post("/voicemail")
    async def voicemail(request: Request) -> Response:
        form, call = await verified(request)
        url = parse.recording_url(form)  # type: ignore[arg-type]
        if url is None:
            org = intake.rt.directory.by_number(call.to_number)
            return _xml(
                twiml.goodbye(twiml.Voice(org.config), "voicemail_done") if org else twiml.unknown_number()
            )
        return await _answer(intake.voicemail(call, url), "voicemail_done")

    @router.post("/recording")
    async def recording(request: Request) -> Response:
        form, call = await verified(request)
        url = parse.recording_url(form)  # type: ignore[arg-type]
        if url:
            await intake.voicemail(call, url)
        return Response(status_code=204)

    @router.post("/status")
    async def status(request: Request) -> Response:
        form, call = await verified(request)
        await intake.ended(call, parse.call_status(form))  # type: ignore[arg-type]
        return Response(status_code=204)

    return router


async def _answer(work: Awaitable[Any], goodbye_key: str) -> Response:
    org = await work
    if org is None:
        return _xml(twiml.unknown_number())
    return _xml(twiml.goodbye(twiml.Voice(org.config), goodbye_key))


def _xml(body: str) -> Response:
    return Response(content=body, media_type=XML)
