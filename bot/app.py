"""The composition root: settings and config in, a FastAPI app with every channel wired out."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.console.publisher import ConsolePublisher
from adapters.email.publisher import EmailPublisher, SmtpServer
from adapters.email.routes import link_router
from adapters.slack.auth import AuthStatus, SlackAuth
from adapters.slack.client import close_session, open_session, web_client
from adapters.slack.home import HomeTabs
from adapters.slack.install import SlackInstall, install_router
from adapters.slack.privacy import PRIVACY_COMMAND
from adapters.slack.routes import AfterAck, SlackDeps, build_bolt, slack_router
from adapters.slack.socket import SocketMode
from adapters.slack.workspaces import SlackWorkspaces
from adapters.teams.actions import TeamsActions
from adapters.teams.identity import TeamsAuth
from adapters.teams.lazy import TeamsStack
from adapters.teams.routes import teams_router
from adapters.twilio.callback_routes import callback_router
from adapters.twilio.client import TwilioRestSetup
from adapters.twilio.messaging import TwilioMessaging
from adapters.twilio.messaging_routes import messaging_router
from adapters.twilio.phone import PhonePublisher, senders
from adapters.twilio.records import TwilioRecordsClient
from adapters.twilio.rest import TwilioCallControl
from adapters.twilio.routes import voice_router
from adapters.twilio.signature import TwilioVerifier
from adapters.twilio.transfer_routes import transfer_router
from adapters.webhook.publisher import Secrets, WebhookPublisher
from bot.body_limit import BodyLimit
from bot.config import ConfigError
from bot.config_set import load_configs
from bot.domain.links import LinkSigner
from bot.domain.org import PHONE_CHANNELS, OrgConfig
from bot.errors import UserError
from bot.metrics_http import metrics_route, time_requests
from bot.ports import (
    CallControl,
    ChannelPublisher,
    Clock,
    Messaging,
    NoCallControl,
    NoMessaging,
    NoTwilioRecords,
    Publisher,
    SystemClock,
    TwilioRecords,
)
from bot.privacy_http import export_route
from bot.services.callbacks import CallbackReminders
from bot.services.calls import CallIntake
from bot.services.card_links import CardLinks
from bot.services.card_views import CardViews
from bot.services.channels import Channels
from bot.services.conversations import Conversations
from bot.services.delivery import Delivery
from bot.services.digest import DigestReader
from bot.services.digest_sending import DigestSending
from bot.services.directory import Directory
from bot.services.escalation import Escalation
from bot.services.export_links import ExportLinks
from bot.services.handling import CardHandling
from bot.services.health import HealthLimits, database_health, delivery_problems, spool_health
from bot.services.home import HomeViews
from bot.services.inbound import MessageIntake
from bot.services.kept import KeptCallbacks, OverdueCallbacks
from bot.services.metrics import MetricsReader
from bot.services.privacy import Privacy
from bot.services.privacy_desk import PrivacyDesk
from bot.services.recados import Recados
from bot.services.replay import Replay
from bot.services.replies import ReplySending
from bot.services.retention import Retention
from bot.services.runtime import Runtime
from bot.services.spooled import DatabaseState, SpooledIntake, Spooler, within
from bot.services.spooled_messages import SpooledMessages
from bot.services.staff_phone import StaffPhone
from bot.services.sync import sync_config
from bot.services.transfer import LiveTransfer, TransferHolds
from bot.services.weekly import WeeklyReader
from bot.services.windows import ReplyWindows
from bot.settings import Settings
from bot.store.db import create_engine, create_report_engine, is_postgres, session_factory
from bot.store.migrate import upgrade_async
from bot.store.probe import database_problem, shown
from bot.store.spool import Spool
from jobs.delivery import DeliveryWorker, WakeUp
from jobs.replay import SpoolReplayer
from jobs.scheduler import Heartbeat

if TYPE_CHECKING:
    from adapters.teams.bot import CentralitaBot
    from adapters.teams.publisher import TeamsPublisher

log = logging.getLogger("centralita")
# Python's defaults are (700, 10, 10); with them the collector ran every few hundred allocations
# during a burst of calls. Measured with `make bench` (d): about a tenth less CPU per call.
GC_THRESHOLDS = (20_000, 50, 100)
SLACK_CHECK_WAIT = 3.0
"""How long the start waits for Slack's answer to ``auth.test`` before it goes on without it."""


class StartupProblem(UserError):
    """Something the operator must fix before the server can start; the message says what."""


HEALTH_WAIT_SECONDS = 3.0
"""How long /healthz waits for the database before it reports it unreachable."""


@dataclass
class Services:
    runtime: Runtime
    intake: CallIntake
    handling: CardHandling
    recados: Recados
    escalation: Escalation
    reminders: CallbackReminders
    delivery: Delivery
    webhooks: SpooledIntake
    """The voice use cases as the webhooks call them: into the spool while the database is down."""
    replay: Replay
    messages: SpooledMessages
    """The messaging use cases as the webhooks call them: into the spool while the database is down."""
    conversations: Conversations
    transfer: LiveTransfer
    holds: TransferHolds
    kept: KeptCallbacks
    overdue: OverdueCallbacks
    retention: Retention
    privacy: Privacy
    records: TwilioRecords
    """Twilio REST for what Twilio keeps about callers; ``open_records``/``close_records`` around use."""

    digests: DigestSending | None = None

    async def open_records(self) -> None:
        if isinstance(self.records, TwilioRecordsClient):
            await self.records.open()

    async def close_records(self) -> None:
        if isinstance(self.records, TwilioRecordsClient):
            await self.records.close()


def create_app(
    settings: Settings | None = None,
    *,
    configs: list[OrgConfig] | None = None,
    clock: Clock | None = None,
    connect_args: dict[str, Any] | None = None,
    api: bool = True,
    tune_gc: bool = False,
    slack_auth: SlackAuth | None = None,
    address: str | None = None,
    reload_on_hangup: bool = False,
    publishers: dict[str, ChannelPublisher] | None = None,
) -> FastAPI:
    """Build the whole server. ``configs``, ``clock``, ``connect_args`` and ``publishers`` (more
    channels, by name: a test's stand-in for a channel's port) exist for tests and benchmarks.

    ``tune_gc`` (for a server process, not tests): once started, everything loaded so far (libraries,
    configuration, compiled SQL) moves out of the garbage collector's sight, so its full collections
    stop walking tens of thousands of objects that live as long as the process; and collections run
    less often (``GC_THRESHOLDS``): a webhook allocates thousands of short-lived objects.

    ``slack_auth``: the token already checked by ``preflight``; without it the start checks it.
    ``address``: where ``serve`` listens, for the line that says the server is ready.

    Raises:
        StartupProblem: (when the app starts) Slack refused the token and ``CENTRALITA_SLACK_CHECK``
        is ``strict``."""
    settings = settings or Settings()
    configs = configs or load_configs(settings.config_path)
    engine = create_engine(settings.async_database_url, connect_args=connect_args)
    wake = WakeUp()
    slack_client = _slack_client(settings) if settings.slack_enabled else None
    teams = TeamsStack(_teams_auth(settings))
    if slack_client is not None and slack_auth is None and settings.slack_bot_token is not None:
        slack_auth = SlackAuth(str(slack_client.token))
    install = _slack_install(settings, engine)
    slack = _slack(slack_client, slack_auth, install)
    messaging = _messaging(settings)
    channels = _publishers(slack, settings) | _phones(messaging, configs) | (publishers or {})
    runtime = Runtime(
        sessions=session_factory(engine),
        directory=Directory(configs),
        clock=clock or SystemClock(),
        signal=wake,
        channels=Channels.of([*channels, "teams"] if teams.auth.enabled else channels),
        postgres=is_postgres(engine),
        links=_link_signer(settings) if "email" in channels else None,
    )
    conversations = Conversations(runtime)
    # The Teams publisher reads the stored conversations, so it comes after.
    teams_publisher = _teams_publisher(teams, conversations) if teams.auth.enabled else None
    if teams_publisher is not None:
        channels.setdefault("teams", teams_publisher)
    spool = Spool(settings.spool_dir)
    call_control = _call_control(settings)
    if any(org.config.webhooks for org in runtime.directory):
        channels["webhook"] = WebhookPublisher(_webhook_secrets(runtime.directory))
    replies = ReplySending(runtime, messaging, settings.public_url)
    services = _services(runtime, channels, spool, conversations, call_control, replies, _records(settings))
    reports = create_report_engine(settings.async_database_url, connect_args=connect_args)
    reader = DigestReader(session_factory(reports), runtime.directory, runtime.clock)
    weekly = WeeklyReader(session_factory(reports), runtime.directory)
    services.digests = DigestSending(runtime, reader, email="email" in channels, weekly=weekly)
    heartbeat = Heartbeat(
        services.escalation,
        services.reminders,
        settings.sweep_seconds,
        services.holds,
        services.overdue,
        services.digests,
        retention=services.retention,
        windows=ReplyWindows(runtime),
    )
    worker = DeliveryWorker(services.delivery, wake, settings.outbox_poll_seconds)
    replayer = SpoolReplayer(services.replay)
    after_ack = AfterAck()
    sockets: list[SocketMode] = []  # Socket Mode, when the API is served and SLACK_APP_TOKEN is set

    async def prepare_database() -> None:
        await upgrade_async(settings.async_database_url, connect_args=connect_args)
        await sync_config(runtime)
        if install is not None:
            await install.prepare()

    async def reload_config() -> None:
        """The organisation files read again and served from now on (SIGHUP): a file that is not
        valid changes nothing and is logged. Cards in flight keep the policy copied onto them."""
        try:
            runtime.directory.replace(load_configs(settings.config_path))
        except ConfigError as error:
            log.error("configuration not reloaded, the previous one is kept:\n%s", error)
            return
        await sync_config(runtime)
        log.info("configuration reloaded: %s", ", ".join(runtime.directory.ids))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.replay.prepare(prepare_database)  # later, if the database is unreachable now
        if slack_client is not None:
            await open_session(slack_client)
            if slack_auth is not None:
                await _check_slack(slack_auth, slack_client, settings)
        if isinstance(call_control, TwilioCallControl):
            await call_control.open()
        if isinstance(messaging, TwilioMessaging):
            await messaging.open()
        await services.open_records()
        heartbeat.start()
        worker.start()
        for socket in sockets:
            await socket.start()
        replayer.start()  # its first pass replays what a previous process left in the spool
        if reload_on_hangup:
            _on_hangup(reload_config)
        if tune_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(*GC_THRESHOLDS)
        log.info("Centralita ready: %s", ready_line(settings, runtime, configs, address))
        _log_teams_auth(teams)
        yield
        for socket in sockets:
            await socket.stop()
        await after_ack.drain()
        await replayer.stop()
        spool.close()
        await heartbeat.stop()
        await worker.stop()
        if teams_publisher is not None:
            await teams_publisher.close()
        await services.close_records()
        if slack_client is not None:
            if slack_auth is not None:
                await slack_auth.close()
            await close_session(slack_client)
        if isinstance(call_control, TwilioCallControl):
            await call_control.close()
        if isinstance(messaging, TwilioMessaging):
            await messaging.close()
        webhooks = channels.get("webhook")
        if isinstance(webhooks, WebhookPublisher):
            await webhooks.close()
        await reports.dispose()
        await engine.dispose()

    app = FastAPI(title="Centralita", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit)  # 413 for bodies far bigger than any webhook's, before they are held
    app.state.services, app.state.heartbeat = services, heartbeat
    app.state.reload_config = reload_config
    _health_route(app, runtime, heartbeat, spool, _limits(settings), slack_auth)
    metrics_route(app, MetricsReader(session_factory(reports), runtime.directory.ids, runtime.clock))
    if api:
        sockets += _channel_routes(app, settings, services, slack, configs, after_ack)
        links = ExportLinks(runtime, services.privacy, settings.public_url)
        export_route(app, links, runtime.directory.default.locale)
        app.include_router(teams_router(teams, lambda: _teams_bot(services, configs, links)))
        if install is not None:
            app.include_router(install_router(install))
    time_requests(app)
    return app


def _teams_publisher(teams: TeamsStack, conversations: Conversations) -> TeamsPublisher:
    """Only a server with Teams credentials imports the SDK at start (``adapters.teams.lazy``)."""
    from adapters.teams.publisher import TeamsPublisher

    return TeamsPublisher(teams.gateway, conversations)


def _teams_bot(services: Services, configs: list[OrgConfig], links: ExportLinks) -> CentralitaBot:
    """Built at the first Teams activity (``adapters.teams.lazy``)."""
    from adapters.teams.bot import CentralitaBot

    runtime = services.runtime
    desk = PrivacyDesk(services.privacy, runtime.directory, "privacidad", links)
    actions = TeamsActions(services.handling, CardViews(runtime), services.recados, runtime.directory, desk)
    return CentralitaBot(services.conversations, actions, configs[0].reception.command.lstrip("/"))


def _teams_auth(settings: Settings) -> TeamsAuth:
    password = settings.microsoft_app_password
    return TeamsAuth(
        app_id=settings.microsoft_app_id,
        password=password.get_secret_value() if password else None,
        tenant_id=settings.microsoft_app_tenant_id,
        app_type=settings.microsoft_app_type,
        openid_metadata_url=settings.microsoft_openid_metadata_url,
        login_url=settings.microsoft_login_url,
    )


def _log_teams_auth(teams: TeamsStack) -> None:
    if teams.auth.enabled:
        log.info("Teams: requests to /api/messages are authenticated (app id %s)", teams.auth.app_id)
    else:
        log.info(
            "Teams: MICROSOFT_APP_ID is not set, so authentication is OFF: /api/messages accepts "
            "unauthenticated activities (local use only), and no card is posted to Teams"
        )


def _slack(
    client: AsyncWebClient | None, shared: SlackAuth | None, install: SlackInstall | None
) -> SlackWorkspaces | None:
    """Slack, when it is configured: each workspace's installed bot (the OAuth install), and
    ``SLACK_BOT_TOKEN`` for the workspace shared by organisations that name none."""
    if client is None:
        return None
    return SlackWorkspaces(client, shared, install.bots if install is not None else None)


def _slack_install(settings: Settings, engine: AsyncEngine) -> SlackInstall | None:
    if not settings.slack_install_enabled:
        return None
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None
    secret = settings.slack_client_secret.get_secret_value()
    return SlackInstall(
        engine, settings.slack_client_id, secret, settings.slack_api_base, settings.public_url
    )


def _on_hangup(reload_config: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """SIGHUP reloads the configuration (one reload at a time, in the event loop)."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def reload() -> None:
        task = loop.create_task(reload_config())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.add_signal_handler(signal.SIGHUP, reload)


async def preflight(settings: Settings) -> SlackAuth | None:
    """What ``serve`` and ``worker`` check before they start: that ``DATABASE_URL`` is not wrong (an
    unreachable database is an outage, not a reason to stop answering calls: the spool takes them),
    and that Slack takes the bot token. The checked token is handed to ``create_app`` (Slack is
    asked once).

    Raises:
        StartupProblem: saying what is wrong and what to do.
    """
    problem = await database_problem(settings.async_database_url)
    if problem is not None and problem.lasting:
        raise StartupProblem(f"{problem}\n  Check DATABASE_URL.")
    if problem is not None:  # an outage: the webhooks answer from the spool until it is back
        log.error("%s; starting anyway: calls are answered and spooled until the database is back", problem)
    if not settings.slack_enabled:
        return None
    if settings.slack_bot_token is None:  # each workspace's token comes from its installation
        return None
    client = _slack_client(settings)
    auth = SlackAuth(str(client.token))
    try:
        await _check_slack(auth, client, settings)
    finally:
        await auth.close()  # the server asks again in the background if Slack did not answer
    return auth


async def _check_slack(auth: SlackAuth, client: AsyncWebClient, settings: Settings) -> None:
    """Ask Slack who the token is (once; in the background while Slack does not answer), and say
    what that means.

    Raises:
        StartupProblem: Slack refused the token and the check is ``strict``.
    """
    if auth.status.state == "ok":
        return
    wait = 0.0 if auth.status.state == "unreachable" else SLACK_CHECK_WAIT
    status = await auth.check(client, wait)
    if status.state == "refused":
        message = _refused_token(status)
        if settings.slack_check == "strict":
            raise StartupProblem(message)
        log.error("%s\nStarting anyway (CENTRALITA_SLACK_CHECK=warn): /healthz says degraded", message)
    elif status.state == "unreachable" and wait:
        log.warning("Slack did not confirm the bot token (%s); starting anyway", status.problem)


def _refused_token(status: AuthStatus) -> str:
    return (
        f"Slack refused SLACK_BOT_TOKEN ({status.problem}): copy the Bot User OAuth Token (xoxb-…) from"
        " your app's OAuth & Permissions page at https://api.slack.com/apps, and reinstall the app if it"
        " was revoked"
    )


def ready_line(settings: Settings, runtime: Runtime, configs: list[OrgConfig], address: str | None) -> str:
    """Where it listens, which file and database it uses, where cards go."""
    where = f"listening on {address}, " if address else ""
    orgs = ", ".join(config.organization.name for config in configs)
    return (
        f"{where}config {settings.config_path} ({orgs}), database {shown(settings.database_url)},"
        f" cards go to {runtime.channels.describe()}"
    )


def _limits(settings: Settings) -> HealthLimits:
    return HealthLimits(settings.health_pending_seconds, settings.health_dead_seconds)


def _slack_client(settings: Settings) -> AsyncWebClient:
    """The pooled client; its token is ``SLACK_BOT_TOKEN`` (None with the OAuth install alone)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return web_client(token, settings.slack_api_base)


def twilio_rest(settings: Settings) -> TwilioRestSetup | None:
    """The Twilio REST client setup every Twilio adapter shares; None without the account sid and
    auth token."""
    token = settings.twilio_auth_token
    if not settings.twilio_account_sid or token is None:
        return None
    return TwilioRestSetup(
        settings.twilio_account_sid,
        token.get_secret_value(),
        settings.twilio_api_base_url,
        settings.twilio_timeout_seconds,
    )


def _call_control(settings: Settings) -> CallControl:
    """Twilio REST when the account sid and auth token are set; otherwise every request fails and the
    card says so."""
    setup = twilio_rest(settings)
    return NoCallControl() if setup is None else TwilioCallControl(setup, settings.public_url)


def _publishers(slack: SlackWorkspaces | None, settings: Settings) -> dict[str, Publisher]:
    """Every channel this deployment delivers to: the console always, each chat channel whose
    credentials are set, and email when an SMTP relay is (Teams is added once the runtime exists,
    see ``create_app``)."""
    publishers: dict[str, Publisher] = {"console": ConsolePublisher()}
    if slack is not None:
        publishers["slack"] = slack
    if settings.smtp_url is not None and settings.smtp_from:
        server = SmtpServer.from_url(settings.smtp_url.get_secret_value(), settings.smtp_ca_file)
        publishers["email"] = EmailPublisher(server, settings.smtp_from, _link_signer(settings))
    return publishers


def _messaging(settings: Settings) -> Messaging:
    """Twilio Messaging when the account sid and auth token are set; else every send fails and the
    card says why."""
    setup = twilio_rest(settings)
    return NoMessaging() if setup is None else TwilioMessaging(setup)


def _phones(messaging: Messaging, configs: list[OrgConfig]) -> dict[str, ChannelPublisher]:
    """WhatsApp and SMS to staff phones, when Twilio REST is configured."""
    if isinstance(messaging, NoMessaging):
        return {}
    return {name: PhonePublisher(name, messaging, senders(configs, name)) for name in PHONE_CHANNELS}


def _records(settings: Settings) -> TwilioRecords:
    setup = twilio_rest(settings)
    return NoTwilioRecords() if setup is None else TwilioRecordsClient(setup)


def _link_signer(settings: Settings) -> LinkSigner | None:
    """Cards go by email (with signed links) when email is set up and a link secret is given."""
    if settings.link_secret is None:
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


def _services(
    runtime: Runtime,
    publishers: dict[str, Publisher],
    spool: Spool,
    conversations: Conversations,
    calls: CallControl,
    replies: ReplySending,
    records: TwilioRecords,
) -> Services:
    intake = CallIntake(runtime, can_transfer=not isinstance(calls, NoCallControl))
    database = DatabaseState()
    spooler = Spooler(spool, database, runtime.clock)
    handling = CardHandling(runtime)
    handling.transfer = transfer = LiveTransfer(runtime, handling, calls)
    handling.calling = kept = KeptCallbacks(runtime, calls)
    webhooks = SpooledIntake(intake, spooler)
    messages = SpooledMessages(
        MessageIntake(runtime, StaffPhone(runtime, handling)), replies.statuses, spooler
    )
    return Services(
        retention=Retention(runtime, records),
        privacy=Privacy(runtime, records),
        records=records,
        runtime=runtime,
        intake=intake,
        webhooks=webhooks,
        replay=Replay(runtime, spool, database, webhooks.handlers() | messages.handlers()),
        handling=handling,
        transfer=transfer,
        holds=TransferHolds(runtime, calls),
        kept=kept,
        overdue=OverdueCallbacks(runtime),
        recados=Recados(runtime),
        escalation=Escalation(runtime),
        reminders=CallbackReminders(runtime),
        delivery=Delivery(runtime, publishers, replies=replies),
        messages=messages,
        conversations=conversations,
    )


def _channel_routes(
    app: FastAPI,
    settings: Settings,
    services: Services,
    slack: SlackWorkspaces | None,
    configs: list[OrgConfig],
    after_ack: AfterAck,
) -> list[SocketMode]:
    """The webhook routes; Slack's over HTTP, or over Socket Mode (returned, for the lifespan)."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
    verifier = TwilioVerifier(token, settings.public_url)
    app.include_router(transfer_router(services.transfer, verifier, settings.public_url))
    app.include_router(callback_router(services.kept, verifier, settings.public_url))
    app.include_router(voice_router(services.webhooks, verifier, settings.public_url, services.transfer))
    app.include_router(messaging_router(services.messages, verifier))
    signer = services.runtime.links
    if signer is not None:
        app.include_router(link_router(CardLinks(services.runtime, services.handling, signer)))
    if slack is None:
        return []
    runtime = services.runtime
    deps = SlackDeps(
        services.handling,
        services.recados,
        runtime.directory,
        runtime.clock,
        after_ack,
        HomeTabs(HomeViews(runtime)),
        PrivacyDesk(services.privacy, runtime.directory, f"{PRIVACY_COMMAND} privacidad"),
    )
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    bolt = build_bolt(slack.client, secret, slack.authorizer(), deps, configs[0].reception.command)
    if settings.slack_app_token is not None:
        return [SocketMode(bolt, settings.slack_app_token.get_secret_value())]
    app.include_router(slack_router(bolt, secret))
    return []


def _health_route(
    app: FastAPI,
    runtime: Runtime,
    heartbeat: Heartbeat,
    spool: Spool,
    limits: HealthLimits,
    slack_auth: SlackAuth | None,
) -> None:
    """503 when this process cannot do its work (database, spooled webhooks, scheduler): ``reason``;
    200 with ``degraded`` when it works but what it sends does not arrive (deliveries, Slack's
    token). Every reason is also a line in ``problems``."""

    @app.api_route("/healthz", methods=["GET", "HEAD"])
    async def healthz() -> JSONResponse:
        body: dict[str, Any] = {
            "scheduler": "running" if heartbeat.running else "stopped",
            "channel": runtime.channels.describe(),
        }
        problems: list[str] = []
        if slack_auth is not None:
            body["slack"] = slack_auth.status.state
            if slack_auth.status.state != "ok":
                problems.append(f"slack auth.test: {slack_auth.status.state} ({slack_auth.status.problem})")
        try:
            body["outbox"] = await within(database_health(runtime, limits), HEALTH_WAIT_SECONDS)
            body["database"] = "ok"
            problems += delivery_problems(body["outbox"], limits)
        except Exception as error:  # any database failure is reported, not raised
            body["database"] = f"unreachable: {type(error).__name__}"
        body["spool"], spooled = spool_health(spool)
        reasons = [
            *([] if body["database"] == "ok" else ["database unreachable"]),
            *([f"{spooled} webhooks spooled, waiting for the database"] if spooled else []),
            *([] if heartbeat.running else ["scheduler stopped"]),
        ]
        body["status"] = "degraded" if reasons or problems else "ok"
        if reasons:
            body["reason"] = "; ".join(reasons)
        body["problems"] = reasons + problems
        return JSONResponse(body, status_code=503 if reasons else 200)
