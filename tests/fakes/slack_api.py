"""A loopback stand-in for the Slack Web API that the real slack_sdk client talks to.

It records every call, answers like Slack (``ok``, ``channel``, ``ts``), and can be told to fail:
``rate_limit(method, times, retry_after)`` answers 429 with Retry-After, ``down = True`` answers 503,
``views.publish`` answers with the published view's id (App Home), and
``refuse(method, error, **match)`` answers ``{"ok": false, "error": error}`` to the matching calls
(kept in ``refused``, not in ``calls``) until ``forgive(method)``, ``slow(method, seconds)`` makes
the method take that long, and ``with hold(method, **match)`` keeps the matching calls waiting until
the test releases them.

It also takes the posts Slack's ``response_url``s receive (``/hooks/<path>``, recorded as calls of
the method ``response_url`` with the JSON body and its ``path``); ``expire_hooks = True`` answers
them 404 ``expired_url``, as Slack does after 30 minutes. Socket Mode: ``apps.connections.open``
gives the URL of a WebSocket (``/socket``) that says ``hello``, takes ``push(kind, payload)``
envelopes and records what the app sends back in ``socket_replies``.
Tokens: ``tokens`` says which workspace each bot token is of (an OAuth install, answered from
``installs`` by its code, adds its token), ``members`` which workspaces a channel or user is in; a
call with a token of another workspace is refused (``channel_not_found``), and a ``revoked`` token
is answered ``token_revoked``.
``files_upload_v2`` works end to end: ``files.getUploadURLExternal`` hands out an upload URL on this
server, whose bytes land in ``uploads``, and ``files.completeUploadExternal`` shares them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)
    token: str | None = None
    """The bot token the call was made with (its ``Authorization: Bearer``)."""


@dataclass
class Hold:
    """Calls of ``method`` whose args contain ``match`` wait at the door until ``release()``."""

    method: str
    match: dict[str, Any]
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()

    def holds(self, method: str, args: dict[str, Any]) -> bool:
        matches = method == self.method and all(args.get(k) == v for k, v in self.match.items())
        return matches and not self.released.is_set()


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.down = False
        self._limits: dict[str, list[float]] = {}
        self._refusals: list[tuple[str, str, dict[str, Any]]] = []
        self._delays: dict[str, float] = {}
        self._holds: list[Hold] = []
        self.refused: list[SlackCall] = []
        self.outside: set[str] = set()
        """Channels the app is not a member of (``conversations.info`` says ``is_member: false``)."""
        self._ts = itertools.count(1)
        self.changed = asyncio.Event()
        self.uploads: dict[str, bytes] = {}
        """What was uploaded to each upload URL ``files.getUploadURLExternal`` handed out, by file id."""
        self._files = itertools.count(1)
        self.expire_hooks = False
        self.tokens: dict[str, str] = {"xoxb-test": "T0CLINICA"}
        """The workspace of each bot token Slack issued (an OAuth install adds its own)."""
        self.members: dict[str, set[str]] = {}
        """The workspaces a channel or user id is in: a call about one of them with a token of
        another workspace is refused ``channel_not_found``, as Slack does. Ids not listed: any."""
        self.revoked: set[str] = set()
        """Tokens Slack answers ``token_revoked`` (an app reinstalled, its old token revoked)."""
        self.installs: dict[str, dict[str, Any]] = {"c0de": GESTORIA_INSTALL}
        """What ``oauth.v2.access`` answers for each code (the workspace that installed the app)."""
        self.sockets: list[WebSocket] = []
        self.socket_replies: list[dict[str, Any]] = []
        """What the app sent back over Socket Mode (acknowledgements, with ``envelope_id``)."""
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._handle, methods=["POST", "GET"]),
                Route("/hooks/{path:path}", self._hook, methods=["POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
                WebSocketRoute("/socket", self._socket),
            ]
        )

    def rate_limit(self, method: str, times: int, retry_after: float = 1) -> None:
        self._limits[method] = [retry_after] * times

    def refuse(self, method: str, error: str, **match: Any) -> None:
        """Answer ``error`` (HTTP 200, ``ok: false``, as Slack does) to every call of ``method`` whose
        args contain ``match``."""
        self._refusals.append((method, error, match))

    def forgive(self, method: str) -> None:
        """Stop refusing calls of ``method`` (the cause was fixed)."""
        self._refusals = [r for r in self._refusals if r[0] != method]

    def slow(self, method: str, seconds: float) -> None:
        self._delays[method] = seconds

    @contextlib.contextmanager
    def hold(self, method: str, **match: Any) -> Iterator[Hold]:
        """Keep the calls of ``method`` whose args contain ``match`` waiting (their arguments read,
        no answer yet) until the hold is released, at the latest when the block ends (a failing test
        must not leave a request hanging in the server it stops)."""
        held = Hold(method, match)
        self._holds.append(held)
        try:
            yield held
        finally:
            held.release()

    def of(self, method: str, **match: Any) -> list[SlackCall]:
        """The calls of ``method`` whose args contain ``match``."""
        return [
            c for c in self.calls if c.method == method and all(c.args.get(k) == v for k, v in match.items())
        ]

    async def wait_for(
        self, method: str, count: int = 1, timeout: float = 10, **match: Any
    ) -> list[SlackCall]:
        """The calls of ``method`` whose args contain ``match``, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.of(method, **match)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} × {method} {match} not seen; calls: {[c.method for c in self.calls]}"
                )
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=0.05)

    async def push(self, kind: str, payload: dict[str, Any]) -> str:
        """Send a Socket Mode envelope (``interactive``, ``slash_commands``, ``events_api``) to the
        app connected last; its envelope id."""
        envelope_id = f"env-{next(self._ts)}"
        message = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": True,
        }
        await self.sockets[-1].send_json(message)
        return envelope_id

    async def _socket(self, websocket: WebSocket) -> None:
        """Socket Mode as Slack runs it: ``hello`` first, then envelopes; replies are recorded."""
        await websocket.accept()
        await websocket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"}}
        )
        self.sockets.append(websocket)
        self.changed.set()
        try:
            while True:
                self.socket_replies.append(await websocket.receive_json())
                self.changed.set()
        except WebSocketDisconnect:
            self.sockets.remove(websocket)

    async def _handle(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        if method == "apps.connections.open":
            self.calls.append(SlackCall(method, {}))
            return JSONResponse({"ok": True, "url": f"ws://{request.url.netloc}/socket"})
        if self.down:
            return JSONResponse({"ok": False, "error": "service_unavailable"}, status_code=503)
        limits = self._limits.get(method)
        if limits:
            retry_after = limits.pop(0)
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(int(retry_after))},
            )
        args = await _args(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ") or None
        wrong = self._wrong_token(method, token, args)
        if wrong is not None:
            self.refused.append(SlackCall(method, args, token=token))
            self.changed.set()
            return JSONResponse({"ok": False, "error": wrong})
        for held in self._holds:
            if held.holds(method, args):
                held.arrived.set()
                await held.released.wait()
        delay = self._delays.get(method)
        if delay:
            await asyncio.sleep(delay)
        for refused, error, match in self._refusals:
            if refused == method and all(args.get(k) == v for k, v in match.items()):
                self.refused.append(SlackCall(method, args))
                self.changed.set()
                return JSONResponse({"ok": False, "error": error})
        self.calls.append(SlackCall(method, args, token=token))
        self.changed.set()
        return JSONResponse(self._answer(method, args, token))

    def _wrong_token(self, method: str, token: str | None, args: dict[str, Any]) -> str | None:
        """Why Slack refuses ``token`` for this call: revoked, or of another workspace than the
        channel or user the call is about."""
        if token in self.revoked:
            return "token_revoked"
        team = self.tokens.get(token or "")
        if team is None or method == "oauth.v2.access":
            return None
        about = (args.get(key) for key in ("channel", "user", "users", "user_id"))
        for ref in (str(a) for a in about if a):
            if ref in self.members and team not in self.members[ref]:
                return "channel_not_found" if ref.startswith(("C", "G", "D")) else "user_not_found"
        return None

    async def _hook(self, request: Request) -> Response:
        """A post to a response URL: JSON in, plain ``ok`` out (as Slack answers)."""
        if self.expire_hooks:
            return PlainTextResponse("expired_url", status_code=404)
        args = {**json.loads(await request.body() or b"{}"), "path": request.path_params["path"]}
        self.calls.append(SlackCall("response_url", args))
        self.changed.set()
        return PlainTextResponse("ok")

    async def _upload(self, request: Request) -> PlainTextResponse:
        """Step 2 of ``files_upload_v2``: the file's bytes, posted to the URL step 1 gave."""
        if self.down:
            return PlainTextResponse("unavailable", status_code=503)
        self.uploads[request.path_params["file_id"]] = await request.body()
        self.changed.set()
        return PlainTextResponse("OK - uploaded")

    def _answer(self, method: str, args: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).removeprefix("U")}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._files):08d}"
            base = str(getattr(self, "url", "")).removesuffix("/api/")
            return {"ok": True, "file_id": file_id, "upload_url": f"{base}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = json.loads(args.get("files", "[]"))
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://clinica.slack.com/",
                "team": "Clínica",
                "user": "centralita",
                "team_id": self.tokens.get(token or "", "T0CLINICA"),
                "user_id": "U0BOT",
                "bot_id": "B0BOT",
            }
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"{1700000000 + next(self._ts)}.000100"
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": ts,
                "message": {"text": args.get("text")},
            }
        if method == "oauth.v2.access":
            answer = self.installs.get(str(args.get("code")))
            if answer is None:
                return {"ok": False, "error": "invalid_code"}
            self.tokens[answer["access_token"]] = answer["team"]["id"]
            return answer
        if method == "chat.getPermalink":
            ts = str(args.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "permalink": f"https://clinica.slack.com/archives/{args.get('channel')}/p{ts}",
            }
        if method == "views.publish":
            view = args.get("view") or {}
            return {"ok": True, "view": {"id": f"V0HOME{next(self._ts)}", "type": view.get("type", "home")}}
        if method == "conversations.info":
            channel = str(args.get("channel"))
            return {
                "ok": True,
                "channel": {"id": channel, "name": channel.lower(), "is_member": channel not in self.outside},
            }
        if method == "users.info":
            return {"ok": True, "user": {"id": args.get("user"), "deleted": False}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000200"}
        return {"ok": True}


def install_answer(team: str, name: str, token: str, bot_user: str, installer: str) -> dict[str, Any]:
    """What ``oauth.v2.access`` answers when the app is installed in ``team``."""
    return {
        "ok": True,
        "access_token": token,
        "token_type": "bot",
        "scope": "chat:write,commands,im:write",
        "bot_user_id": bot_user,
        "app_id": "A0APP",
        "team": {"id": team, "name": name},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {"id": installer},
    }


GESTORIA_INSTALL = install_answer("T0GESTORIA", "Gestoría Martínez", "xoxb-gestoria", "U0BOTG", "U0PEPE")
"""An install in the Gestoría's workspace (tests/fixtures/orgs)."""


async def _args(request: Request) -> dict[str, Any]:
    body = (await request.body()).decode()
    if not body:
        return dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        return dict(json.loads(body))
    args: dict[str, Any] = dict(parse_qsl(body))
    for key in ("blocks", "view"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args
