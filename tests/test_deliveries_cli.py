"""`centralita deliveries list|retry`: a dead card is sent again, once, after its cause is fixed."""

from __future__ import annotations

import asyncio
import sys

from bot.commands import deliveries
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.support import Centralita, Database, FakeClock, eventually
from tests.test_cli_errors import ROOT, clean_env

SAY = "Hola, soy Pedro Gómez, quería una consulta"


def _card_posts(slack: FakeSlack) -> list[SlackCall]:
    return [c for c in slack.of("chat.postMessage", channel="C0RECEP") if "thread_ts" not in c.args]


async def _dead(db: Database) -> list[int]:
    return [row.id for row in await db.outbox() if row.status == "dead" and row.id is not None]


async def test_retry_sends_a_dead_card_once_after_the_cause_is_fixed(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    outbox = deliveries.Database(db.url, db.connect_args)
    slack.refuse("chat.postMessage", "not_in_channel", channel="C0RECEP")
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", SAY)
        [dead] = await eventually(lambda: _dead(db))
        listed = await deliveries.unsent(outbox, dead_only=True)
        slack.forgive("chat.postMessage")  # the bot was invited to the channel

        queued = await deliveries.retry(outbox, [dead])
        again = await deliveries.retry(outbox, None)
        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")

    assert [row.id for row in listed] == [dead] and "not_in_channel" in deliveries.table(listed)
    assert queued == [dead] and again == []
    assert len(_card_posts(slack)) == 1 and "Pedro Gómez" in str(post.args["blocks"])
    assert [row.status for row in await db.outbox() if row.id == dead] == ["sent"]


async def _cli(*args: str, database_url: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "deliveries", *args, cwd=ROOT,
        env=clean_env(DATABASE_URL=database_url),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_commands_list_and_retry_dead_deliveries(
    slack: FakeSlack, clock: FakeClock, tmp_path: object
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/centralita.db")
    slack.refuse("chat.postMessage", "channel_not_found", channel="C0RECEP")
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", SAY)
        [dead] = await eventually(lambda: _dead(db))
        code_list, listed, _ = await _cli("list", "--dead", database_url=db.url)
        slack.forgive("chat.postMessage")
        code_retry, retried, _ = await _cli("retry", "--all-dead", database_url=db.url)
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        code_none, _, _ = await _cli("retry", str(dead), database_url=db.url)

    assert code_list == 0 and str(dead) in listed and "channel_not_found" in listed
    assert code_retry == 0 and f"queued again: {dead}" in retried
    assert code_none == 1, "a delivery that is not dead is not queued again"
