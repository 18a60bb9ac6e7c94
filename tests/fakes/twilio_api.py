"""A loopback stand-in for Twilio REST that the real twilio client talks to (``TWILIO_API_BASE_URL``).

It answers the Calls create, Call update and Messages create endpoints as Twilio does (JSON with a
``sid``), checks the account's basic auth, records every request in ``requests``, and can be told to
fail: ``fail(kind, status, times)`` answers Twilio's error JSON with ``status`` (4xx, 5xx) to the
next ``times`` requests of that kind (``call``, ``update`` or ``sms``: any Messages create, SMS or
WhatsApp), with Twilio's error ``code`` when given; ``slow(kind, seconds)`` delays the answers (past
the client's timeout, a request times out, and what it asked for is done all the same, as Twilio
would: it is in ``requests`` from its arrival).
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
from starlette.responses import JSONResponse
from starlette.routing import Route

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-token"


@dataclass
class TwilioRequest:
    kind: str
    """``call`` (Calls create), ``update`` (a call's update) or ``sms`` (Messages create)."""
    form: dict[str, Any]
    call_sid: str | None = None
    sid: str | None = None
    """The sid answered (a new call's or message's)."""
    at: float = field(default_factory=time.perf_counter)


class FakeTwilio:
    def __init__(self) -> None:
        self.requests: list[TwilioRequest] = []
        self.url = ""
        self._failures: dict[str, list[tuple[int, int | None]]] = {}
        self._delays: dict[str, float] = {}
        self._sids = itertools.count(1)
        self.changed = asyncio.Event()
        prefix = "/2010-04-01/Accounts/{account}"
        self.app = Starlette(
            routes=[
                Route(prefix + "/Calls.json", self._create_call, methods=["POST"]),
                Route(prefix + "/Calls/{sid}.json", self._update_call, methods=["POST"]),
                Route(prefix + "/Messages.json", self._create_message, methods=["POST"]),
            ]
        )

    def fail(self, kind: str, status: int, times: int = 1, code: int | None = None) -> None:
        self._failures[kind] = [(status, code)] * times

    def slow(self, kind: str, seconds: float) -> None:
        self._delays[kind] = seconds

    def of(self, kind: str) -> list[TwilioRequest]:
        return [r for r in self.requests if r.kind == kind]

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

    async def _create_call(self, request: Request) -> JSONResponse:
        return await self._answer(request, "call", "CA")

    async def _update_call(self, request: Request) -> JSONResponse:
        return await self._answer(request, "update", None, call_sid=request.path_params["sid"])

    async def _create_message(self, request: Request) -> JSONResponse:
        return await self._answer(request, "sms", "SM")

    async def _answer(
        self, request: Request, kind: str, prefix: str | None, call_sid: str | None = None
    ) -> JSONResponse:
        if not _authorised(request):
            return _error(401, 20003, "Authenticate")
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        failures = self._failures.get(kind)
        failure = failures.pop(0) if failures else None
        sid = None if failure else f"{prefix}{next(self._sids):032x}" if prefix else call_sid
        # Recorded on arrival: a request answered too late for the client was done at Twilio all the same.
        self.requests.append(TwilioRequest(f"{kind}-refused" if failure else kind, form, call_sid, sid))
        self.changed.set()
        delay = self._delays.get(kind)
        if delay:
            await asyncio.sleep(delay)
        if failure is not None:
            status, code = failure
            return _error(status, code or (21211 if status < 500 else 20500), "refused by the stand-in")
        body: dict[str, Any] = {"sid": sid, "account_sid": ACCOUNT_SID, "status": "queued"}
        body |= {"to": form.get("To"), "from": form.get("From")}
        return JSONResponse(body, status_code=201 if prefix else 200)


def _authorised(request: Request) -> bool:
    expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    return request.headers.get("authorization") == f"Basic {expected}"


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "status": status}, status_code=status)
