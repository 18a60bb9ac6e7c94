"""A loopback stand-in for Twilio REST that the real twilio client talks to (``TWILIO_API_BASE_URL``),
for everything Centralita asks of it, behind the account's basic auth (``ACCOUNT_SID``,
``AUTH_TOKEN``):

- ``call``: Calls create; ``update``: a call's update (a redirect); ``sms``: Messages create (SMS or
  WhatsApp). Answered as Twilio does, JSON with a ``sid``.
- ``delete-recording``, ``delete-call``: deleting a recording or a call's log; 204, or 404 for a sid
  deleted already.
- ``redact``, ``delete``: a message's update with an empty ``Body`` and its DELETE (the message's
  sid recorded as ``call_sid``).
- ``account``: the account itself; ``numbers``: its phone numbers, each with the voice webhook
  ``numbers`` maps it to (what ``centralita doctor`` reads).

Every request is in ``requests`` from its arrival, as a ``TwilioRequest`` of its kind. ``fail(kind,
status, times)`` answers Twilio's error JSON with ``status`` (4xx, 5xx) to the next ``times``
requests of that kind (recorded as ``<kind>-refused``), with Twilio's error ``code`` when given;
``slow(kind, seconds)`` delays the answers (past the client's timeout, a request times out, and what
it asked for is done all the same, as Twilio would).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-token"
GONE = (404, 20404, "The requested resource was not found")


@dataclass
class TwilioRequest:
    kind: str
    form: dict[str, Any]
    call_sid: str | None = None
    """The call a ``update`` or ``delete-call`` is about."""
    sid: str | None = None
    """The sid answered (a new call's or message's), or the one deleted."""
    at: float = field(default_factory=time.perf_counter)


class FakeTwilio:
    def __init__(self) -> None:
        self.requests: list[TwilioRequest] = []
        self.numbers: dict[str, str] = {}
        self.url = ""
        self._failures: dict[str, list[tuple[int, int | None]]] = {}
        self._delays: dict[str, float] = {}
        self._sids = itertools.count(1)
        self.changed = asyncio.Event()
        prefix = "/2010-04-01/Accounts/{account}"
        self.app = Starlette(
            routes=[
                Route(prefix + ".json", self._account, methods=["GET"]),
                Route(prefix + "/IncomingPhoneNumbers.json", self._numbers, methods=["GET"]),
                Route(prefix + "/Calls.json", self._create_call, methods=["POST"]),
                Route(prefix + "/Calls/{sid}.json", self._update_call, methods=["POST"]),
                Route(prefix + "/Calls/{sid}.json", self._delete_call, methods=["DELETE"]),
                Route(prefix + "/Recordings/{sid}.json", self._delete_recording, methods=["DELETE"]),
                Route(prefix + "/Messages.json", self._create_message, methods=["POST"]),
                Route(prefix + "/Messages/{sid}.json", self._redact_message, methods=["POST"]),
                Route(prefix + "/Messages/{sid}.json", self._delete_message, methods=["DELETE"]),
            ]
        )

    def fail(self, kind: str, status: int, times: int = 1, code: int | None = None) -> None:
        self._failures[kind] = [(status, code)] * times

    def slow(self, kind: str, seconds: float) -> None:
        self._delays[kind] = seconds

    def of(self, kind: str) -> list[TwilioRequest]:
        return [r for r in self.requests if r.kind == kind]

    def sids(self, kind: str) -> list[str | None]:
        return [r.sid for r in self.of(kind)]

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 10) -> list[TwilioRequest]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.of(kind)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} × {kind} not seen; requests: {[r.kind for r in self.requests]}"
                )
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=0.05)

    async def _create_call(self, request: Request) -> Response:
        return await self._answer(request, "call", "CA")

    async def _update_call(self, request: Request) -> Response:
        return await self._answer(request, "update", None, call_sid=request.path_params["sid"])

    async def _create_message(self, request: Request) -> Response:
        return await self._answer(request, "sms", "SM")

    async def _delete_call(self, request: Request) -> Response:
        return await self._answer(request, "delete-call", None, call_sid=request.path_params["sid"])

    async def _delete_recording(self, request: Request) -> Response:
        return await self._answer(request, "delete-recording", None, sid=request.path_params["sid"])

    async def _redact_message(self, request: Request) -> Response:
        return await self._answer(request, "redact", None, call_sid=request.path_params["sid"])

    async def _delete_message(self, request: Request) -> Response:
        answer = await self._answer(request, "delete", None, call_sid=request.path_params["sid"])
        return answer if answer.status_code >= 400 else Response(status_code=204)

    async def _answer(
        self,
        request: Request,
        kind: str,
        prefix: str | None,
        call_sid: str | None = None,
        sid: str | None = None,
    ) -> Response:
        if not _authorised(request):
            return _error(401, 20003, "Authenticate")
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        failures = self._failures.get(kind)
        failure = failures.pop(0) if failures else None
        if failure is None and kind.startswith("delete-") and (sid or call_sid) in self.sids(kind):
            return _error(*GONE)
        if failure is None:
            sid = f"{prefix}{next(self._sids):032x}" if prefix else sid or call_sid
        # Recorded on arrival: a request answered too late for the client was done at Twilio all the same.
        self.requests.append(TwilioRequest(f"{kind}-refused" if failure else kind, form, call_sid, sid))
        self.changed.set()
        delay = self._delays.get(kind)
        if delay:
            await asyncio.sleep(delay)
        if failure is not None:
            status, code = failure
            return _error(status, code or (21211 if status < 500 else 20500), "refused by the stand-in")
        if kind.startswith("delete-"):
            return Response(status_code=204)
        body: dict[str, Any] = {"sid": sid, "account_sid": ACCOUNT_SID, "status": "queued"}
        body |= {"to": form.get("To"), "from": form.get("From")}
        return JSONResponse(body, status_code=201 if prefix else 200)

    async def _account(self, request: Request) -> Response:
        if not _authorised(request):
            return _error(401, 20003, "Authenticate")
        sid = request.path_params["account"]
        return JSONResponse({"sid": sid, "friendly_name": "Clínica", "status": "active"})

    async def _numbers(self, request: Request) -> Response:
        if not _authorised(request):
            return _error(401, 20003, "Authenticate")
        wanted = request.query_params.get("PhoneNumber")
        rows = [
            {"sid": f"PN{i:032d}", "phone_number": number, "voice_url": url, "voice_method": "POST"}
            for i, (number, url) in enumerate(self.numbers.items())
            if wanted in (None, number)
        ]
        return JSONResponse(
            {"incoming_phone_numbers": rows, "page": 0, "page_size": 50, "next_page_uri": None,
             "uri": str(request.url.path), "first_page_uri": str(request.url.path), "previous_page_uri": None}
        )  # fmt: skip


def _authorised(request: Request) -> bool:
    expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    return request.headers.get("authorization") == f"Basic {expected}"


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "status": status}, status_code=status)
