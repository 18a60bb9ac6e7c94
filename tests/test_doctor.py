"""`centralita doctor` against the stand-ins: one ✗ per broken thing, each with its fix."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support import FIXTURES, Centralita, Database, FakeClock
from tests.test_cli_errors import ROOT, clean_env


async def doctor(
    app: Centralita, slack: FakeSlack, twilio_rest: FakeTwilio, *args: str, **overrides: str
) -> tuple[int, str]:
    env = clean_env(
        DATABASE_URL=app.db.url, CENTRALITA_CONFIG=str(FIXTURES / "clinic.yaml"), CENTRALITA_PUBLIC_URL=app.url,
        SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s", SLACK_API_URL=slack.url,  # type: ignore[attr-defined]
        TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_API_BASE_URL=twilio_rest.url,
    ) | overrides  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "doctor", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert "Traceback" not in err.decode(), err.decode()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_doctor_with_the_oauth_install_alone_says_where_the_tokens_come_from(
    tmp_path: Path, slack: FakeSlack, twilio_rest: FakeTwilio, clock: FakeClock
) -> None:
    async with Centralita(_sqlite(tmp_path), clock, slack.url) as app:
        oauth = {"SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "client-secret"}
        _, out = await doctor(app, slack, twilio_rest, SLACK_BOT_TOKEN="", **oauth)
    assert "installed through /slack/install" in out and "console" not in out, out


def _sqlite(tmp_path: Path) -> Database:
    return Database(f"sqlite+aiosqlite:///{tmp_path}/centralita.db")


async def test_doctor_passes_when_everything_is_set_up(
    tmp_path: Path, slack: FakeSlack, twilio_rest: FakeTwilio, clock: FakeClock
) -> None:
    async with Centralita(_sqlite(tmp_path), clock, slack.url) as app:
        twilio_rest.numbers["+34910000000"] = f"{app.url}/twilio/voice"
        code, out = await doctor(app, slack, twilio_rest, "--send-test-card", "ventas")

    assert code == 0, out
    assert "✗" not in out and out.count("✓") >= 12
    for seen in ("reachable and migrated", "Slack channel C0RECEP", "Slack member U0ROCIO",
                 "Twilio number +34910000000", f"public URL {app.url} answers", "test card for team ventas"):  # fmt: skip
        assert seen in out
    [card] = slack.of("chat.postMessage", channel="C0VENTAS")
    assert "Ventas" in card.args["text"]


async def test_doctor_says_each_broken_thing_once_with_its_fix(
    tmp_path: Path, slack: FakeSlack, twilio_rest: FakeTwilio, clock: FakeClock
) -> None:
    slack.outside.add("C0VENTAS")
    slack.refuse("users.info", "user_not_found", user="U0LUIS")
    async with Centralita(_sqlite(tmp_path), clock, slack.url) as app:
        twilio_rest.numbers["+34910000000"] = "https://old-host.example.com/voice"
        code, out = await doctor(app, slack, twilio_rest)

    failures = [line for line in out.splitlines() if line.startswith("✗")]
    assert code == 1 and len(failures) == 3, out
    channel, member, number = failures
    assert "C0VENTAS" in channel and "/invite @centralita" in channel
    assert "U0LUIS" in member and "Copy member ID" in member
    assert (
        "+34910000000" in number and "old-host.example.com" in number and f"{app.url}/twilio/voice" in number
    )


async def test_doctor_with_a_refused_token_and_wrong_twilio_credentials(
    tmp_path: Path, slack: FakeSlack, twilio_rest: FakeTwilio, clock: FakeClock
) -> None:
    slack.refuse("auth.test", "invalid_auth")
    async with Centralita(_sqlite(tmp_path), clock, None) as app:
        twilio_rest.numbers["+34910000000"] = f"{app.url}/twilio/voice"
        env_twilio = FakeTwilio()  # other credentials than the stand-in's
        env_twilio.url = twilio_rest.url
        code, out = await doctor(app, slack, twilio_rest)

    failures = [line for line in out.splitlines() if line.startswith("✗")]
    assert (
        code == 1
        and len(failures) == 1
        and "invalid_auth" in failures[0]
        and "OAuth & Permissions" in failures[0]
    )
