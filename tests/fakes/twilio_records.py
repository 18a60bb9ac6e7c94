"""A loopback stand-in for the Twilio REST endpoints that delete what Twilio keeps about callers
(recordings, call logs), which the real twilio client talks to (``TWILIO_API_BASE_URL``).

It checks the account's basic auth, records every DELETE in ``deleted`` as (kind, sid), answers 204
as Twilio does (404 for a sid deleted already), and ``fail(status, times)`` answers Twilio's error
JSON to the next ``times`` requests. (The ``transfer`` and ``whatsapp`` branches have their own
stand-in for calls and messages, tests/fakes/twilio_api.py; these routes can join it once one lands.)
"""

from __future__ import annotations

import base64

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-token"


class FakeTwilioRecords:
    def __init__(self) -> None:
        self.deleted: list[tuple[str, str]] = []
        self.url = ""
        self._failures: list[int] = []
        prefix = "/2010-04-01/Accounts/{account}"
        self.app = Starlette(
            routes=[
                Route(prefix + "/Recordings/{sid}.json", self._recording, methods=["DELETE"]),
                Route(prefix + "/Calls/{sid}.json", self._call, methods=["DELETE"]),
            ]
        )

    def fail(self, status: int, times: int = 1) -> None:
        self._failures = [status] * times

    def of(self, kind: str) -> list[str]:
        return [sid for k, sid in self.deleted if k == kind]

    async def _recording(self, request: Request) -> Response:
        return self._delete(request, "recording")

    async def _call(self, request: Request) -> Response:
        return self._delete(request, "call")

    def _delete(self, request: Request, kind: str) -> Response:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return _error(401, 20003, "Authenticate")
        if self._failures:
            return _error(self._failures.pop(0), 20500, "refused by the stand-in")
        sid = request.path_params["sid"]
        if (kind, sid) in self.deleted:
            return _error(404, 20404, "The requested resource was not found")
        self.deleted.append((kind, sid))
        return Response(status_code=204)


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "status": status}, status_code=status)
