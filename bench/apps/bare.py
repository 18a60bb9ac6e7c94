"""Baseline (1): FastAPI with constant answers, no signature check, no database."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from bench.constants import GATHER_TWIML


def build_app() -> FastAPI:
    app = FastAPI()

    @app.post("/twilio/voice")
    async def voice() -> Response:
        return Response(GATHER_TWIML, media_type="application/xml")

    @app.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
