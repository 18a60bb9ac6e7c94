"""``centralita doctor [--send-test-card TEAM]``: every check an installer needs, each a ✓ or a ✗
with the fix: settings, configuration, database, Slack (token, channels, members), Twilio
(credentials, each number's voice webhook), the public URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.auth import SlackAuth
from adapters.slack.checks import channel_problem, post_test, user_problem
from adapters.slack.client import web_client
from adapters.twilio.account import TwilioAccountError, number_setups
from bot.app import twilio_rest
from bot.config import ConfigError, check_references, load_config
from bot.domain.org import OrgConfig
from bot.settings import Settings
from bot.store.probe import database_problem, migration_problem, shown

SLACK_WAIT = 10.0
URL_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    fix: str = ""

    def __str__(self) -> str:
        return f"✓ {self.what}" if self.ok else f"✗ {self.what}: {self.fix}"


def good(what: str) -> Check:
    return Check(True, what)


def bad(what: str, fix: str) -> Check:
    return Check(False, what, fix)


async def checks(settings: Settings, test_card_team: str | None = None) -> AsyncIterator[Check]:
    """The checks, in the order an installer fixes things."""
    yield good("settings (environment and .env)")
    try:
        config = load_config(settings.config_path)
    except ConfigError as error:
        for issue in error.issues:
            yield bad(f"config {settings.config_path}", str(issue))
        return
    warnings = check_references(config)
    note = f"; {len(warnings)} warnings: run `centralita config check`" if warnings else ""
    yield good(f"config {settings.config_path} ({config.organization.name}{note})")
    async for check in _database(settings):
        yield check
    async for check in _slack(settings, config, test_card_team):
        yield check
    async for check in _twilio(settings, config):
        yield check
    yield await _public_url(settings)


async def _database(settings: Settings) -> AsyncIterator[Check]:
    what = f"database {shown(settings.database_url)}"
    problem = await database_problem(settings.async_database_url)
    if problem is not None:
        yield bad(what, f"{problem}; is it running? check DATABASE_URL")
        return
    behind = await migration_problem(settings.async_database_url)
    yield bad(what, behind) if behind else good(f"{what} reachable and migrated")


async def _slack(settings: Settings, config: OrgConfig, test_card_team: str | None) -> AsyncIterator[Check]:
    if settings.slack_bot_token is None and settings.slack_enabled:
        yield good(
            "Slack: each workspace's bot token is the one installed through /slack/install"
            " (`centralita org list` shows each organisation's workspace)"
        )
        return
    if settings.slack_bot_token is None:
        yield good("Slack not configured: cards go to the console channel")
        return
    client = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_base)
    auth = SlackAuth(settings.slack_bot_token.get_secret_value())
    status = await auth.check(client, SLACK_WAIT)
    await auth.close()
    if status.state != "ok":
        fix = "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions"
        yield bad("Slack bot token", f"{status.state} ({status.problem}); {fix}")
        return
    yield good(f"Slack bot token (workspace {status.team})")
    for team in config.teams:
        if team.slack_channel:
            problem = await channel_problem(client, team.slack_channel)
            what = f"Slack channel {team.slack_channel} of team {team.id}"
            yield bad(what, problem) if problem else good(f"{what}: the app is in it")
    for member in config.staff:
        if member.slack_user:
            problem = await user_problem(client, member.slack_user)
            what = f"Slack member {member.slack_user} of staff {member.id}"
            yield bad(what, problem) if problem else good(what)
    if test_card_team is not None:
        yield await _test_card(client, config, test_card_team)


async def _test_card(client: AsyncWebClient, config: OrgConfig, team_id: str) -> Check:
    from bot.i18n import t

    team = config.team(team_id)
    what = f"test card for team {team_id}"
    if team is None or team.slack_channel is None:
        return bad(what, "no such team, or it has no slack_channel in the configuration")
    text = t(config.locale, "doctor.test_card", team=team.name)
    problem = await post_test(client, team.slack_channel, text)
    return bad(what, problem) if problem else good(f"{what} posted in {team.slack_channel}")


async def _twilio(settings: Settings, config: OrgConfig) -> AsyncIterator[Check]:
    if settings.twilio_auth_token is None:
        yield bad(
            "Twilio",
            "TWILIO_AUTH_TOKEN is not set: every /twilio request gets 503 (Account Info, console.twilio.com)",
        )
        return
    rest = twilio_rest(settings)
    if rest is None:
        yield bad(
            "Twilio", "TWILIO_ACCOUNT_SID is not set, so the numbers' webhooks cannot be read (Account Info)"
        )
        return
    numbers = config.organization.phone_numbers
    try:
        setups = await number_setups(rest, numbers)
    except TwilioAccountError as error:
        yield bad("Twilio credentials", f"{error}; check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        return
    yield good("Twilio credentials")
    expected = settings.public_url.rstrip("/") + "/twilio/voice"
    for setup in setups:
        what = f"Twilio number {setup.number}"
        if setup.voice_url is None:
            yield bad(what, "not a number of this Twilio account (organization.phone_numbers)")
        elif setup.voice_url != expected:
            fix = f"its voice webhook is {setup.voice_url}; set 'A call comes in' to {expected} (HTTP POST)"
            yield bad(what, fix)
        else:
            yield good(f"{what} → {expected}")


async def _public_url(settings: Settings) -> Check:
    url = settings.public_url.rstrip("/") + "/healthz"
    what = f"public URL {settings.public_url}"
    try:
        async with httpx.AsyncClient(timeout=URL_TIMEOUT) as client:
            response = await client.get(url)
    except httpx.HTTPError as error:
        return bad(
            what, f"{url} does not answer ({type(error).__name__}): is the server running and the proxy up?"
        )
    if response.status_code != 200:
        return bad(what, f"{url} answered {response.status_code}")
    return good(f"{what} answers")
