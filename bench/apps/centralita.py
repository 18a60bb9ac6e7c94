"""Centralita itself, built by ``bot.app.create_app`` with the test clinic and the Slack stand-in."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from bench.constants import FIXTURE, SLACK_SECRET, SLACK_TOKEN, TWILIO_TOKEN
from bot.app import create_app
from bot.config import load_config
from bot.ports import Clock
from bot.settings import Settings

# A Tuesday morning in the clinic's office hours (not a holiday in Madrid).
OFFICE_MOMENT = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))


class OfficeClock:
    """The wall clock moved to ``OFFICE_MOMENT`` when the server starts: seconds pass for real, but
    every run sees the clinic open, so the figures do not depend on the hour the bench is run."""

    def __init__(self, moment: datetime = OFFICE_MOMENT) -> None:
        self.offset = moment - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def build_app(
    url: str,
    connect_args: dict[str, Any],
    public_url: str,
    slack_url: str | None,
    clock: str,
    spool: str | None = None,
    config: str | None = None,
    extra: dict[str, str] | None = None,
) -> FastAPI:
    spool = spool or tempfile.mkdtemp(prefix="centralita-bench-spool-")
    environment = _environment(url, public_url, slack_url) | (extra or {})
    settings = Settings(**environment, CENTRALITA_SPOOL_DIR=spool)
    chosen: Clock | None = OfficeClock() if clock == "office" else None
    organisation = load_config(config or FIXTURE)
    return create_app(settings, configs=[organisation], clock=chosen, connect_args=connect_args, tune_gc=True)


def _environment(url: str, public_url: str, slack_url: str | None) -> dict[str, Any]:
    """Explicit values win over the process environment and ``.env``: the intervals stay at their
    defaults whatever the shell exports, so runs compare."""
    env: dict[str, Any] = {
        "DATABASE_URL": url,
        "CENTRALITA_PUBLIC_URL": public_url,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "CENTRALITA_SWEEP_SECONDS": Settings.model_fields["sweep_seconds"].default,
        "CENTRALITA_OUTBOX_POLL_SECONDS": Settings.model_fields["outbox_poll_seconds"].default,
    }
    if slack_url:
        env |= {
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_URL": slack_url,
        }
    return env
