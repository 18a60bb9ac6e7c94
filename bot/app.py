"""The composition root: settings and config in, a FastAPI app with every channel wired out."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.console.publisher import ConsolePublisher
from adapters.email.publisher import EmailPublisher, SmtpServer
from adapters.email.routes import link_router
from adapters.slack.client import close_session, open_session, web_client
from adapters.slack.publisher import SlackPublisher
from adapters.slack.routes import AfterAck, SlackDeps, build_bolt, slack_router
from adapters.twilio.routes import voice_router
from adapters.twilio.signature import TwilioVerifier
from adapters.webhook.publisher import Secrets, WebhookPublisher
from bot.config import load_config
from bot.domain.links import LinkSigner
from bot.domain.org import OrgConfig
from bot.metrics_http import metrics_route, time_requests
from bot.ports import ChannelPublisher, Clock, SystemClock
from bot.services.callbacks import CallbackReminders
from bot.services.calls import CallIntake
from bot.services.card_links import CardLinks
from bot.services.delivery import Delivery
from bot.services.digest import DigestReader
from bot.services.digest_sending import DigestSending
from bot.services.directory import Directory
from bot.services.escalation import Escalation
from bot.services.handling import CardHandling
from bot.services.health import database_health
from bot.services.metrics import MetricsReader
from bot.services.recados import Recados
from bot.services.runtime import Runtime
from bot.services.sync import sync_config
from bot.services.weekly import WeeklyReader
from bot.settings import Settings
from bot.store.db import create_engine, create_report_engine, is_postgres, session_factory
from bot.store.migrate import upgrade_async
from jobs.delivery import DeliveryWorker, WakeUp
from jobs.scheduler import Heartbeat

log = logging.getLogger("centralita")
# Python's defaults are (700, 10, 10); with them the collector ran every few hundred allocations
# during a burst of calls. Measured with `make bench` (d): about a tenth less CPU per call.
GC_THRESHOLDS = (20_000, 50, 100)


@dataclass
class Services:
    runtime: Runtime
    intake: CallIntake
    handling: CardHandling
    recados: Recados
    escalation: Escalation
    reminders: CallbackReminders
    delivery: Delivery
    digests: DigestSending | None = None


def create_app(
    settings: Settings | None = None,
    *,
    configs: list[OrgConfig] | None = None,
    clock: Clock | None = None,
    connect_args: dict[str, Any] | None = None,
    api: bool = True,
    tune_gc: bool = False,
) -> FastAPI:
    """Build the whole server. ``configs``, ``clock`` and ``connect_args`` exist for tests and benchmarks.

    ``tune_gc`` (for a server process, not tests): once started, everything loaded so far (libraries,
    configuration, compiled SQL) moves out of the garbage collector's sight, so its full collections
    stop walking tens of thousands of objects that live as long as the process; and collections run
    less often (``GC_THRESHOLDS``): a webhook allocates thousands of short-lived objects."""
    settings = settings or Settings()
    configs = configs or [load_config(settings.config_path)]
    engine = create_engine(settings.async_database_url, connect_args=connect_args)
    wake = WakeUp()
    slack_client = _slack_client(settings) if settings.slack_enabled else None
    runtime = Runtime(
        sessions=session_factory(engine),
        directory=Directory(configs),
        clock=clock or SystemClock(),
        signal=wake,
        card_channel="slack" if slack_client else "console",
        postgres=is_postgres(engine),
        links=_link_signer(settings),
    )
    services = _services(runtime, slack_client, _email_publisher(settings))
    reports = create_report_engine(settings.async_database_url, connect_args=connect_args)
    reader = DigestReader(session_factory(reports), runtime.directory, runtime.clock)
    weekly = WeeklyReader(session_factory(reports), runtime.directory)
    services.digests = DigestSending(
        runtime, reader, email="email" in services.delivery.publishers, weekly=weekly
    )
    heartbeat = Heartbeat(services.escalation, services.reminders, settings.sweep_seconds, services.digests)
    worker = DeliveryWorker(services.delivery, wake, settings.outbox_poll_seconds)
    after_ack = AfterAck()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upgrade_async(settings.async_database_url, connect_args=connect_args)
        await sync_config(runtime)
        if slack_client is not None:
            await open_session(slack_client)
        heartbeat.start()
        worker.start()
        if tune_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
        log.info("Centralita ready: cards go to %s", runtime.card_channel)
        yield
        await after_ack.drain()
        await heartbeat.stop()
        await worker.stop()
        webhooks = services.delivery.publishers.get("webhook")
        if isinstance(webhooks, WebhookPublisher):
            await webhooks.close()
        if slack_client is not None:
            await close_session(slack_client)
        await reports.dispose()
        await engine.dispose()

    app = FastAPI(title="Centralita", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services, app.state.heartbeat = services, heartbeat
    _health_route(app, runtime, heartbeat)
    metrics_route(app, MetricsReader(session_factory(reports), runtime.directory.ids, runtime.clock))
    if api:
        _channel_routes(app, settings, services, slack_client, configs, after_ack)
    time_requests(app)
    return app


def _slack_client(settings: Settings) -> AsyncWebClient:
    assert settings.slack_bot_token is not None
    return web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_base)


def _link_signer(settings: Settings) -> LinkSigner | None:
    """Cards go by email (with signed links) when email is set up and a link secret is given."""
    if not settings.email_enabled or settings.link_secret is None:
        return None
    return LinkSigner(settings.link_secret.get_secret_value().encode(), settings.public_url)


def _webhook_secrets(directory: Directory) -> Secrets:
    def secret(org_id: str, index: int) -> str | None:
        try:
            hooks = directory.get(org_id).config.webhooks
        except KeyError:
            return None
        return hooks[index].secret if index < len(hooks) else None

    return secret


def _email_publisher(settings: Settings) -> EmailPublisher | None:
    if settings.smtp_url is None or not settings.smtp_from:
        return None
    server = SmtpServer.from_url(settings.smtp_url.get_secret_value(), settings.smtp_ca_file)
    return EmailPublisher(server, settings.smtp_from)


def _services(
    runtime: Runtime, slack_client: AsyncWebClient | None, email: EmailPublisher | None = None
) -> Services:
    publishers: dict[str, ChannelPublisher] = {"console": ConsolePublisher()}
    if slack_client is not None:
        publishers["slack"] = SlackPublisher(slack_client)
    if email is not None:
        publishers["email"] = email
    if any(org.config.webhooks for org in runtime.directory):
        publishers["webhook"] = WebhookPublisher(_webhook_secrets(runtime.directory))
    return Services(
        runtime=runtime,
        intake=CallIntake(runtime),
        handling=CardHandling(runtime),
        recados=Recados(runtime),
        escalation=Escalation(runtime),
        reminders=CallbackReminders(runtime),
        delivery=Delivery(runtime, publishers),
    )


def _channel_routes(
    app: FastAPI,
    settings: Settings,
    services: Services,
    slack_client: AsyncWebClient | None,
    configs: list[OrgConfig],
    after_ack: AfterAck,
) -> None:
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
    verifier = TwilioVerifier(token, settings.public_url)
    app.include_router(voice_router(services.intake, verifier, settings.public_url))
    signer = services.runtime.links
    if signer is not None:
        app.include_router(link_router(CardLinks(services.runtime, services.handling, signer)))
    if slack_client is not None and settings.slack_signing_secret is not None:
        runtime = services.runtime
        deps = SlackDeps(services.handling, services.recados, runtime.directory, runtime.clock, after_ack)
        bolt = build_bolt(
            slack_client, settings.slack_signing_secret.get_secret_value(), deps, configs[0].reception.command
        )
        app.include_router(slack_router(bolt))


def _health_route(app: FastAPI, runtime: Runtime, heartbeat: Heartbeat) -> None:
    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        body: dict[str, Any] = {
            "scheduler": "running" if heartbeat.running else "stopped",
            "channel": runtime.card_channel,
        }
        try:
            body["outbox"] = await database_health(runtime)
            body["database"] = "ok"
        except Exception as error:  # any database failure is reported, not raised
            body["database"] = f"unreachable: {type(error).__name__}"
        healthy = body["database"] == "ok" and heartbeat.running
        body["status"] = "ok" if healthy else "degraded"
        return JSONResponse(body, status_code=200 if healthy else 503)
