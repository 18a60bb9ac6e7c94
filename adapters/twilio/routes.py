"""Twilio voice webhooks: verify, parse, call one use case, answer TwiML."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.datastructures import FormData

from adapters.twilio import parse, twiml
from adapters.twilio.signature import TwilioVerifier
from adapters.twilio.transfer_routes import conference_url, wait_url
from bot.services.calls import TERMINAL, CallStart, Saved
from bot.services.directory import Org
from bot.services.spooled import Reply, SpooledIntake
from bot.services.transfer import LiveTransfer

XML = "application/xml"
PREFIX = "/twilio/voice"
Endpoint = Callable[[Request], Awaitable[Response]]


class Documents:
    """TwiML documents, built once per organisation and moment: an organisation's texts and this
    server's URLs do not change while it runs, and building XML costs more than the rest of a reply."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._built: dict[tuple[str, str], str] = {}

    def get(self, org: Org, moment: str) -> str:
        key = (org.id, moment)
        document = self._built.get(key)
        if document is None:
            document = self._built[key] = self._build(org, moment)
        return document

    def _build(self, org: Org, moment: str) -> str:
        voice, base = twiml.Voice(org.config), self.base
        if moment == "ask_reason":
            return twiml.ask_reason(voice, f"{base}/gather")
        if moment in ("after_hours", "no_speech", "outage"):
            return twiml.record_voicemail(voice, moment, f"{base}/voicemail", f"{base}/recording")
        return twiml.goodbye(voice, moment)


def voice_router(
    intake: SpooledIntake, verifier: TwilioVerifier, public_url: str, transfer: LiveTransfer | None = None
) -> APIRouter:
    """While the database is unreachable ``intake`` spools what each webhook brings, and the caller
    hears the same as ever from the configuration in memory, except that a call that comes in is
    offered the voicemail (``outage``) rather than the speech prompt; when even the spool cannot be
    written, "please call back later" (``call_back_later``). ``transfer``: a caller put on hold for a
    live transfer who hangs up is told to its card."""
    router = APIRouter()
    documents = Documents(public_url.rstrip("/") + PREFIX)

    def post(path: str) -> Callable[[Endpoint], Endpoint]:
        """A plain Starlette route: these webhooks read the raw request and answer a Response, so
        FastAPI's parameter handling would only add its cost (about 70 µs a request)."""

        def register(endpoint: Endpoint) -> Endpoint:
            router.add_route(PREFIX + path, endpoint, methods=["POST"], include_in_schema=False)
            return endpoint

        return register

    async def verified(request: Request) -> tuple[FormData, Any]:
        form = await verifier.verified_form(request)
        try:
            return form, parse.call_info(form)  # type: ignore[arg-type]
        except parse.BadTwilioRequest as error:
            raise HTTPException(400, str(error)) from error

    @post("")
    async def incoming(request: Request) -> Response:
        _, call = await verified(request)
        start = await intake.start(call)
        if start is None:
            return _xml(twiml.unknown_number())
        if start.rejected:
            return _xml(twiml.reject())
        return _xml(documents.get(start.org, _first_moment(start)))

    @post("/gather")
    async def gathered(request: Request) -> Response:
        form, call = await verified(request)
        said = parse.speech(form)  # type: ignore[arg-type]
        if not said:
            org = intake.directory.by_number(call.to_number)
            if org is None:
                return _xml(twiml.unknown_number())
            return _xml(documents.get(org, "no_speech"))
        reply = await intake.answer(call, said)
        if reply is not None and reply.holding:
            return _hold(reply.org, call.call_sid, documents.base)
        return await _answer(_done(reply), documents, "message_taken")

    @post("/voicemail")
    async def voicemail(request: Request) -> Response:
        form, call = await verified(request)
        url = parse.recording_url(form)  # type: ignore[arg-type]
        if url is None:
            org = intake.directory.by_number(call.to_number)
            return _xml(documents.get(org, "voicemail_done") if org else twiml.unknown_number())
        return await _answer(intake.voicemail(call, url), documents, "voicemail_done")

    @post("/recording")
    async def recording(request: Request) -> Response:
        form, call = await verified(request)
        url = parse.recording_url(form)  # type: ignore[arg-type]
        reply = await intake.voicemail(call, url) if url else None
        return _stored(reply.saved if reply else "stored")

    @post("/status")
    async def status(request: Request) -> Response:
        form, call = await verified(request)
        status = parse.call_status(form)  # type: ignore[arg-type]
        saved = await intake.ended(call, status)
        if transfer is not None and saved == "stored" and status in TERMINAL:
            await transfer.caller_left(call.call_sid)
        return _stored(saved)

    return router


def _first_moment(start: CallStart) -> str:
    """What a caller hears first: the speech prompt in hours; the voicemail after hours, or while
    the database is unreachable (what they leave is spooled); "call back later" if even the spool
    could not be written."""
    if start.saved == "lost":
        return "call_back_later"
    if not start.in_hours:
        return "after_hours"
    return "outage" if start.saved == "spooled" else "ask_reason"


async def _answer(work: Awaitable[Reply | None], documents: Documents, goodbye_key: str) -> Response:
    """The goodbye once what the caller left is safe (in the database or the spool)."""
    reply = await work
    if reply is None:
        return _xml(twiml.unknown_number())
    return _xml(documents.get(reply.org, "call_back_later" if reply.saved == "lost" else goodbye_key))


def _stored(saved: Saved) -> Response:
    """A status or recording callback (nobody hears it): 204, or 503 when what it brought could be
    written neither to the database nor to the spool (Twilio's debugger shows it)."""
    if saved == "lost":
        raise HTTPException(503, "The database is unreachable and the spool cannot be written.")
    return Response(status_code=204)


async def _done(reply: Reply | None) -> Reply | None:
    return reply


def _hold(org: Org, call_sid: str, voice_base: str) -> Response:
    """The caller waits on hold for a live transfer, in the conference named after their CallSid."""
    voice = twiml.Voice(org.config)
    return _xml(
        twiml.hold_for_transfer(voice, call_sid, wait_url(voice_base, org), conference_url(voice_base))
    )


def _xml(body: str) -> Response:
    return Response(content=body, media_type=XML)
