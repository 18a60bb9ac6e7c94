"""POST /api/messages with authentication on: only a valid channel token gets through, and nothing
else is stored or sent; the bot's own calls carry a token from the configured login authority."""

from __future__ import annotations

import logging

import pytest

from tests.fakes.bot_connector import FakeConnector
from tests.fakes.identity import FakeIdentity, auth_env
from tests.support import Centralita, Database, FakeClock
from tests.teams.support import TEAM_ID, personal_message, post_activity, team_installed


def _teams_server(db: Database, clock: FakeClock, identity: FakeIdentity, **extra: object) -> Centralita:
    return Centralita(db, clock, None, **(auth_env(identity) | extra))


async def test_an_installation_with_a_valid_token_is_stored_with_the_team_channels(
    db: Database, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector
) -> None:
    connector.team_channels[TEAM_ID] = [
        {"id": TEAM_ID},
        {"id": "19:channel-urgencias@thread.tacv2", "name": "Urgencias"},
    ]
    async with _teams_server(db, clock, identity) as app:
        activity = team_installed(connector.url)
        answer = await post_activity(app.http, activity, identity.channel_token(connector.url))
    assert answer.status_code == 201, answer.text
    rows = await db.query_text(
        "SELECT conversation_id, kind, team_name, name FROM channelconversation ORDER BY name"
    )
    assert rows == [
        (TEAM_ID, "channel", "Recepción", "General"),
        ("19:channel-urgencias@thread.tacv2", "channel", "Recepción", "Urgencias"),
    ]
    listing = connector.of("channels")
    assert listing and identity.accepts(listing[0].authorization)  # a token from the tenant's endpoint
    assert identity.grants[-1]["tenant"] != "botframework.com"


@pytest.mark.parametrize(
    "case",
    [
        "none",
        "garbage",
        "expired",
        "forged",
        "unknown_key",
        "audience",
        "issuer",
        "service_url",
        "not_bearer",
    ],
)
async def test_a_request_without_a_valid_token_is_refused_and_stores_nothing(
    db: Database, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector, case: str
) -> None:
    activity = personal_message(connector.url, "hola")
    url = connector.url
    tokens: dict[str, str | None] = {
        "none": None,
        "garbage": "not.a.token",
        "expired": identity.channel_token(url, expires_in=-3600),
        "forged": identity.forged_token(url),
        "unknown_key": identity.forged_token(url, kid="someone-elses-key"),
        "audience": identity.channel_token(url, audience="another-app"),
        "issuer": identity.channel_token(url, issuer="https://evil.example"),
        "service_url": identity.channel_token("https://evil.example/"),
        "not_bearer": None,
    }
    headers = {"Authorization": f"Basic {identity.channel_token(url)}"} if case == "not_bearer" else {}
    async with _teams_server(db, clock, identity) as app:
        answer = await post_activity(app.http, activity, tokens[case], **headers)
    assert answer.status_code == 401, answer.text
    assert await db.count("channelconversation") == 0
    assert connector.calls == [] and connector.refused == []


async def test_a_request_is_refused_when_the_signing_keys_cannot_be_fetched(
    db: Database, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector
) -> None:
    """No network: the metadata host does not answer. 401, not a 500 and not a hang."""
    unreachable = {"MICROSOFT_OPENID_METADATA_URL": "http://127.0.0.1:9/v1/.well-known/openidconfiguration"}
    activity = personal_message(connector.url, "hola")
    async with _teams_server(db, clock, identity, **unreachable) as app:
        answer = await post_activity(app.http, activity, identity.channel_token(connector.url))
    assert answer.status_code == 401
    assert await db.count("channelconversation") == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 400),  # nothing to check the token against
        ('["a list"]', 401),  # no serviceUrl: the token's claim cannot match it
        ('{"type": "message"}', 401),
        (
            '{"type": "message", "channelId": "msteams", "serviceUrl": "SERVICE"}',
            400,
        ),  # verified, but no conversation
        ('{"type": "message", "channelId": "msteams", "serviceUrl": "SERVICE", "conversation": "x"}', 400),
    ],
)
async def test_a_malformed_activity_is_refused_and_stores_nothing(
    db: Database, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector, body: str, status: int
) -> None:
    token = identity.channel_token(connector.url)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with _teams_server(db, clock, identity) as app:
        answer = await app.http.post(
            "/api/messages", content=body.replace("SERVICE", connector.url), headers=headers
        )
    assert answer.status_code == status, answer.text
    assert await db.count("channelconversation") == 0


async def test_with_no_app_id_auth_is_off_and_the_log_says_so(
    db: Database, clock: FakeClock, connector: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    connector.check_token = None
    caplog.set_level(logging.INFO, logger="centralita")
    async with Centralita(db, clock, None, config="clinic_teams.yaml") as app:
        answer = await post_activity(app.http, personal_message(connector.url, "hola"), None)
    assert answer.status_code == 201, answer.text
    assert "authentication is OFF" in caplog.text
    rows = await db.query_text("SELECT kind, user_ref FROM channelconversation")
    assert rows == [("personal", "aad-0000-ana")]


@pytest.mark.parametrize("login_url", ["http://127.0.0.1:9", "ftp://login"])
def test_the_login_authority_must_be_https(login_url: str) -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    with pytest.raises(ValidationError, match="must start with https"):
        Settings(MICROSOFT_LOGIN_URL=login_url)


def test_a_single_tenant_app_needs_its_tenant_and_the_type_is_checked() -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    with pytest.raises(ValidationError, match="MICROSOFT_APP_TENANT_ID is required"):
        Settings(MICROSOFT_APP_ID="x", MICROSOFT_APP_TENANT_ID="")
    with pytest.raises(ValidationError, match="SingleTenant or MultiTenant"):
        Settings(MICROSOFT_APP_TYPE="UserAssignedMSI")
