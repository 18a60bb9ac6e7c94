"""A loopback stand-in for the Bot Connector service (the ``serviceUrl`` of Teams activities). Two
real clients talk to it: botbuilder's connector client for what a turn does (replies to an activity,
the channel listing at installation), and our own (``adapters.teams.connector``) for what the outbox
sends (cards as new threads, their updates, thread lines and 1:1 messages).

It answers ``POST /v3/conversations`` (create: a new thread in a channel, or a 1:1 chat),
``POST /v3/conversations/{id}/activities[/{replyTo}]``, ``PUT /v3/conversations/{id}/activities/{id}``
and ``GET /v3/teams/{id}/conversations``; records every call (``calls``, in order); keeps the last
version of every activity (``activities``); and can fail: ``down = True`` answers 503 to everything,
``fail(status, times, retry_after=..., code=...)`` answers the next ``times`` writes with ``status``
(429, 412, 502, 504, or 403 with ``code="MessageWritesBlocked"``). With ``check_token`` set, a write
without a token that function accepts gets 401. Each call keeps its ``path`` as sent (ids quoted).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class ConnectorCall:
    method: str
    conversation: str | None
    activity_id: str | None
    body: dict[str, Any]
    authorization: str | None
    at: float = field(default_factory=time.perf_counter)
    path: str = ""
    """The request's path as sent, its ids still quoted."""

    @property
    def card(self) -> dict[str, Any] | None:
        """The Adaptive Card the activity carries, if any."""
        for attachment in self.body.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content: dict[str, Any] = attachment["content"]
                return content
        activity = self.body.get("activity") or {}
        if activity:
            return ConnectorCall(self.method, None, None, activity, None).card
        return None


@dataclass
class _Failure:
    status: int
    retry_after: float | None
    code: str


class FakeConnector:
    def __init__(self) -> None:
        self.url = ""
        self.calls: list[ConnectorCall] = []
        self.refused: list[ConnectorCall] = []
        self.activities: dict[tuple[str, str], dict[str, Any]] = {}
        self.team_channels: dict[str, list[dict[str, str]]] = {}
        self.down = False
        self.check_token: Callable[[str | None], bool] | None = None
        self._failures: list[_Failure] = []
        self._ids = itertools.count(1_700_000_000_001)
        self.changed = asyncio.Event()
        self.app = Starlette(
            routes=[
                Route("/v3/conversations", self._create, methods=["POST"]),
                Route("/v3/conversations/{cid}/activities", self._send, methods=["POST"]),
                Route("/v3/conversations/{cid}/activities/{aid}", self._reply, methods=["POST"]),
                Route("/v3/conversations/{cid}/activities/{aid}", self._update, methods=["PUT"]),
                Route("/v3/teams/{team}/conversations", self._channels, methods=["GET"]),
            ]
        )

    def fail(self, status: int, times: int = 1, *, retry_after: float | None = None, code: str = "") -> None:
        self._failures += [_Failure(status, retry_after, code)] * times

    def of(self, method: str, **match: Any) -> list[ConnectorCall]:
        return [
            c for c in self.calls if c.method == method and all(getattr(c, k) == v for k, v in match.items())
        ]

    async def wait_for(
        self, method: str, count: int = 1, timeout: float = 10, **match: Any
    ) -> list[ConnectorCall]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.of(method, **match)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [(c.method, c.conversation) for c in self.calls]
                raise AssertionError(f"{count} × {method} {match} not seen; calls: {seen}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=0.05)

    def _new_id(self) -> str:
        return str(next(self._ids))

    async def _refusal(
        self, request: Request, method: str, cid: str | None, aid: str | None
    ) -> JSONResponse | None:
        body = await _json(request)
        call = ConnectorCall(
            method, cid, aid, body, request.headers.get("authorization"), path=_raw_path(request)
        )
        if self.down:
            return self._refuse(call, 503, None, "ServiceUnavailable")
        if self.check_token is not None and not self.check_token(call.authorization):
            return self._refuse(call, 401, None, "Unauthorized")
        if self._failures:
            failure = self._failures.pop(0)
            return self._refuse(call, failure.status, failure.retry_after, failure.code)
        self.calls.append(call)
        self.changed.set()
        return None

    def _refuse(self, call: ConnectorCall, status: int, retry_after: float | None, code: str) -> JSONResponse:
        self.refused.append(call)
        self.changed.set()
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        error = {"error": {"code": code or f"Http{status}", "message": f"stand-in answered {status}"}}
        return JSONResponse(error, status_code=status, headers=headers)

    async def _create(self, request: Request) -> JSONResponse:
        refused = await self._refusal(request, "create", None, None)
        if refused is not None:
            return refused
        body = self.calls[-1].body
        channel = ((body.get("channelData") or {}).get("channel") or {}).get("id")
        activity_id = self._new_id()
        if channel:
            conversation = f"{channel};messageid={activity_id}"
        else:
            member = ((body.get("members") or [{}])[0]).get("id", "someone")
            conversation = f"a:1on1-{member}"
        self.calls[-1].conversation = conversation
        if body.get("activity"):
            self.activities[(conversation, activity_id)] = body["activity"]
        return JSONResponse({"id": conversation, "activityId": activity_id if body.get("activity") else None})

    async def _send(self, request: Request) -> JSONResponse:
        cid = request.path_params["cid"]
        refused = await self._refusal(request, "send", cid, None)
        if refused is not None:
            return refused
        activity_id = self._new_id()
        self.calls[-1].activity_id = activity_id
        self.activities[(cid, activity_id)] = self.calls[-1].body
        return JSONResponse({"id": activity_id})

    async def _reply(self, request: Request) -> JSONResponse:
        cid, reply_to = request.path_params["cid"], request.path_params["aid"]
        refused = await self._refusal(request, "reply", cid, reply_to)
        if refused is not None:
            return refused
        activity_id = self._new_id()
        self.activities[(cid, activity_id)] = self.calls[-1].body
        return JSONResponse({"id": activity_id})

    async def _update(self, request: Request) -> JSONResponse:
        cid, aid = request.path_params["cid"], request.path_params["aid"]
        refused = await self._refusal(request, "update", cid, aid)
        if refused is not None:
            return refused
        self.activities[(cid, aid)] = self.calls[-1].body
        return JSONResponse({"id": aid})

    async def _channels(self, request: Request) -> JSONResponse:
        team = request.path_params["team"]
        refused = await self._refusal(request, "channels", team, None)
        if refused is not None:
            return refused
        return JSONResponse({"conversations": self.team_channels.get(team, [])})


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("ascii") if isinstance(raw, bytes) else request.url.path


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    import json

    value = json.loads(raw)
    return value if isinstance(value, dict) else {}
