"""A loopback stand-in for the Twilio REST calls ``centralita doctor`` makes (``TWILIO_API_BASE_URL``):
the account itself and the account's phone numbers with their voice webhooks, behind basic auth.
``numbers`` maps each number the account has to its voice URL."""

from __future__ import annotations

import base64

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ACCOUNT_SID = "AC" + "2" * 32
AUTH_TOKEN = "twilio-account-token"


class FakeTwilioAccount:
    def __init__(self) -> None:
        self.numbers: dict[str, str] = {}
        self.url = ""
        prefix = "/2010-04-01/Accounts/{account}"
        self.app = Starlette(
            routes=[
                Route(prefix + ".json", self._account),
                Route(prefix + "/IncomingPhoneNumbers.json", self._numbers),
            ]
        )

    async def _account(self, request: Request) -> JSONResponse:
        if not _authorised(request):
            return _refused()
        sid = request.path_params["account"]
        return JSONResponse({"sid": sid, "friendly_name": "Clínica", "status": "active"})

    async def _numbers(self, request: Request) -> JSONResponse:
        if not _authorised(request):
            return _refused()
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


def _refused() -> JSONResponse:
    return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
