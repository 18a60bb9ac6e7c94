"""``POST /api/messages``: the Bot Framework's one endpoint. Token first, then the turn."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from adapters.teams.identity import Unauthorized
from adapters.teams.lazy import TeamsStack
from adapters.teams.parse import BadActivity, activity_from, channel_id_of, service_url_of

if TYPE_CHECKING:
    from botbuilder.core import ActivityHandler

log = logging.getLogger("centralita.teams")


def teams_router(teams: TeamsStack, make_bot: Callable[[], ActivityHandler]) -> APIRouter:
    """The route; the SDK's gateway and the bot are built at the first activity (see
    ``adapters.teams.lazy``), after the checks that need neither."""
    router = APIRouter()
    bot = cache(make_bot)

    @router.post("/api/messages")
    async def messages(request: Request) -> Response:
        if teams.auth.enabled and not request.headers.get("Authorization"):
            return _refused("no Authorization header")
        if "application/json" not in request.headers.get("content-type", ""):
            return JSONResponse({"error": "activities are JSON (Content-Type: application/json)"}, 415)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        gateway = teams.gateway
        try:
            verified = await gateway.authenticate(
                request.headers.get("Authorization"), service_url_of(body), channel_id_of(body)
            )
        except Unauthorized as error:
            return _refused(str(error))
        try:
            activity = activity_from(body)
        except BadActivity as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        invoke = await gateway.process(verified, activity, bot().on_turn)
        if invoke is not None:
            return JSONResponse(invoke.body, status_code=invoke.status)
        return Response(status_code=201)

    return router


def _refused(reason: str) -> Response:
    log.warning("Teams request refused (401): %s", reason)
    return JSONResponse({"error": "unauthorized"}, status_code=401)
