"""Baseline (2): the least a correct Twilio webhook does: check X-Twilio-Signature against the public
URL with twilio's RequestValidator, INSERT one row, answer TwiML.

It uses Centralita's own engine factory (same driver, pool and SQLite pragmas), so the ratio
measures what Centralita adds on top of "verify + one insert", not a different database setup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncEngine
from twilio.request_validator import RequestValidator

from bench.constants import GATHER_TWIML, TWILIO_TOKEN
from bot.store.db import create_engine

METADATA = MetaData()
CALLS = Table(
    "bench_call",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("call_sid", String(64), unique=True, nullable=False),
    Column("from_number", String(32)),
    Column("to_number", String(32)),
    Column("started_at", DateTime, nullable=False),
)


def build_app(url: str, connect_args: dict[str, Any], public_url: str) -> FastAPI:
    engine = create_engine(url, connect_args=connect_args)
    validator = RequestValidator(TWILIO_TOKEN)
    app = FastAPI(lifespan=_lifespan(engine))

    @app.post("/twilio/voice")
    async def voice(request: Request) -> Response:
        form = await request.form()
        signature = request.headers.get("x-twilio-signature", "")
        if not validator.validate(public_url.rstrip("/") + request.url.path, form, signature):
            return Response(status_code=403)
        await _insert(engine, form)
        return Response(GATHER_TWIML, media_type="application/xml")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _lifespan(engine: AsyncEngine) -> Any:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(METADATA.create_all)
        yield
        await engine.dispose()

    return lifespan


async def _insert(engine: AsyncEngine, form: Any) -> None:
    row = {
        "call_sid": form["CallSid"],
        "from_number": form.get("From"),
        "to_number": form.get("To"),
        "started_at": datetime.now(UTC).replace(tzinfo=None),
    }
    async with engine.begin() as connection:
        await connection.execute(CALLS.insert().values(**row))
