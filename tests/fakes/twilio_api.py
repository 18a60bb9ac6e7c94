"""A loopback stand-in for Twilio REST that the real twilio client talks to (``TWILIO_API_BASE_URL``).

It answers the Calls create, Call update and Messages create endpoints as Twilio does (JSON with a
``sid``), checks the account's basic auth, records every request in ``requests``, and can be told to
fail: ``fail(kind, status, times)`` answers Twilio's error JSON with ``status`` (4xx, 5xx) to the
next ``times`` requests of that kind (``call``, ``update`` or ``sms``: any Messages create, SMS or
WhatsApp; ``redact`` and ``delete``: a message's update with an empty ``Body``, its DELETE, the
message's sid recorded as ``call_sid``), with Twilio's error ``code`` when given; ``slow(kind, seconds)`` delays them (past the
client's timeout, a request times out).
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

    async def _redact_message(self, request: Request) -> JSONResponse:
        return await self._answer(request, "redact", None, call_sid=request.path_params["sid"])

    async def _delete_message(self, request: Request) -> Response:
        answer = await self._answer(request, "delete", None, call_sid=request.path_params["sid"])
        return answer if answer.status_code >= 400 else Response(status_code=204)

    async def _answer(
        self, request: Request, kind: str, prefix: str | None, call_sid: str | None = None
    ) -> JSONResponse:
        if not _authorised(request):
            return _error(401, 20003, "Authenticate")
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        delay = self._delays.get(kind)
        if delay:
            await asyncio.sleep(delay)
        failures = self._failures.get(kind)
        if failures:
            status, code = failures.pop(0)
            self.requests.append(TwilioRequest(f"{kind}-refused", form, call_sid))
            self.changed.set()
            code = code or (21211 if status < 500 else 20500)
            return _error(status, code, "refused by the stand-in")
        sid = f"{prefix}{next(self._sids):032x}" if prefix else call_sid
        self.requests.append(TwilioRequest(kind, form, call_sid, sid))
        self.changed.set()
        body: dict[str, Any] = {"sid": sid, "account_sid": ACCOUNT_SID, "status": "queued"}
        body |= {"to": form.get("To"), "from": form.get("From")}
        return JSONResponse(body, status_code=201 if prefix else 200)


def _authorised(request: Request) -> bool:
    expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    return request.headers.get("authorization") == f"Basic {expected}"


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "status": status}, status_code=status)
