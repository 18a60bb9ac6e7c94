"""``python -m bench.teams [--db sqlite|postgres] [--cards N] [--burst N]``: the Teams figures.

(g) a Teams ``Action.Execute`` claim → its HTTP answer (the refreshed card), p50/p99; baseline: a
    Slack claim click → 200 on the same server, same run.
(h) a claim in one channel → the *other* channel's copy updated at its stand-in (Teams claim → Slack
    ``chat.update``; Slack claim → Bot Connector ``PUT``), p50/p99; baseline: a Slack claim → Slack's
    own ``chat.update``, same run.
(d) with both channels: N calls, 20 in flight → 2·N posts; cards/s = N / (first request → last post
    at either stand-in); baseline: the same burst on a Slack-only server, same run.

Unlike ``python -m bench`` the server runs in this process (the test suite's loopback servers, Teams
authentication on against the identity stand-in), so the load generator shares its CPU: compare the
ratios, not the absolute values, with the main figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.stats import Summary
from tests.fakes.bot_connector import FakeConnector
from tests.fakes.identity import FakeIdentity, auth_env, make_tls
from tests.fakes.server import LoopbackServer
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock
from tests.teams.support import OTHER_CHANNEL, TEAM_ID, card_invoke, post_activity, team_installed

TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))
POSTGRES = os.environ.get("CENTRALITA_BENCH_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")


async def main(kind: str, cards: int, burst: int) -> None:
    with tempfile.TemporaryDirectory(prefix="centralita-teams-bench-") as folder:
        tls = make_tls(Path(folder))
        os.environ["SSL_CERT_FILE"] = str(tls.ca)
        identity, connector, slack = FakeIdentity(), FakeConnector(), FakeSlack()
        async with AsyncExitStack() as stack:
            identity.url = await stack.enter_async_context(
                LoopbackServer(identity.app, ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key))
            )
            connector.url = await stack.enter_async_context(LoopbackServer(connector.app)) + "/"
            connector.check_token = identity.accepts
            slack.url = await stack.enter_async_context(LoopbackServer(slack.app)) + "/api/"
            connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
            db = await stack.enter_async_context(_database(kind, Path(folder)))
            both = Centralita(
                db, FakeClock(TUESDAY_10), slack.url, config="clinic_teams.yaml", **auth_env(identity)
            )
            app = await stack.enter_async_context(both)
            await _send(app, identity, team_installed(connector.url))
            figures = await _claims(app, identity, connector, slack, cards)
            figures["d"] = await _burst(app, slack, connector, burst, both_channels=True)
        async with AsyncExitStack() as stack:
            slack_only = FakeSlack()
            slack_only.url = await stack.enter_async_context(LoopbackServer(slack_only.app)) + "/api/"
            db = await stack.enter_async_context(_database(kind, Path(folder), "slack"))
            app = await stack.enter_async_context(Centralita(db, FakeClock(TUESDAY_10), slack_only.url))
            figures["d_base"] = await _burst(app, slack_only, None, burst, both_channels=False)
    _print(kind, figures)


class _database:
    def __init__(self, kind: str, folder: Path, name: str = "both") -> None:
        self.kind, self.folder, self.name = kind, folder, name
        self.schema = f"bench_teams_{uuid.uuid4().hex[:8]}"

    async def __aenter__(self) -> Database:
        if self.kind == "sqlite":
            return Database(f"sqlite+aiosqlite:///{self.folder}/{self.name}.db")
        import asyncpg

        admin = await asyncpg.connect(POSTGRES.replace("postgresql+asyncpg://", "postgresql://"))
        await admin.execute(f'CREATE SCHEMA "{self.schema}"')
        await admin.close()
        return Database(POSTGRES, {"server_settings": {"search_path": self.schema}}, "postgres")

    async def __aexit__(self, *exc: object) -> None:
        if self.kind == "postgres":
            import asyncpg

            admin = await asyncpg.connect(POSTGRES.replace("postgresql+asyncpg://", "postgresql://"))
            await admin.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
            await admin.close()


async def _send(app: Centralita, identity: FakeIdentity, activity: dict[str, Any]) -> Any:
    answer = await post_activity(app.http, activity, identity.channel_token(activity["serviceUrl"]))
    assert answer.status_code in (200, 201), answer.text
    return answer


async def _wait(probe: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError("the stand-in never saw it")
        await asyncio.sleep(0.001)


async def _make_cards(
    app: Centralita, slack: FakeSlack, connector: FakeConnector, n: int
) -> list[tuple[int, str]]:
    """``n`` cards, each posted in Slack and in Teams: (card id, its Teams thread)."""
    before = {c.id for c in await app.db.cards()}
    for i in range(n):
        await app.call("+34911222333", f"Quiero pedir cita (ref {i})")
    await _wait(
        lambda: (
            len([c for c in connector.of("create") if c.body.get("channelData", {}).get("channel")])
            >= n + len(before)
        )
    )
    cards = [c for c in await app.db.cards() if c.id not in before]
    threads = [
        c.conversation or "" for c in connector.of("create") if c.body.get("channelData", {}).get("channel")
    ]
    return list(zip([int(c.id or 0) for c in cards], threads[len(before) :], strict=True))


async def _claims(
    app: Centralita, identity: FakeIdentity, connector: FakeConnector, slack: FakeSlack, n: int
) -> dict[str, Summary]:
    cards = await _make_cards(app, slack, connector, 3 * n)
    teams_cards, slack_cards, base_cards = cards[:n], cards[n : 2 * n], cards[2 * n :]
    invoke_s, teams_to_slack, slack_to_teams, slack_click, slack_to_slack = [], [], [], [], []
    for card_id, thread in teams_cards:
        activity = card_invoke(connector.url, "claim", card_id, conversation=thread)
        token = identity.channel_token(connector.url)
        updates = len(slack.of("chat.update"))
        start = time.perf_counter()
        await post_activity(app.http, activity, token)
        invoke_s.append(time.perf_counter() - start)
        await _wait(lambda u=updates: len(slack.of("chat.update")) > u)
        teams_to_slack.append(slack.of("chat.update")[-1].at - start)
    for group, same, other in ((slack_cards, None, slack_to_teams), (base_cards, slack_to_slack, None)):
        for card_id, _thread in group:
            slack_updates, teams_updates = len(slack.of("chat.update")), len(connector.of("update"))
            start = time.perf_counter()
            await app.claim(card_id, "U0LUIS")
            slack_click.append(time.perf_counter() - start)
            if other is not None:
                await _wait(lambda t=teams_updates: len(connector.of("update")) > t)
                other.append(connector.of("update")[-1].at - start)
            if same is not None:
                await _wait(lambda s=slack_updates: len(slack.of("chat.update")) > s)
                same.append(slack.of("chat.update")[-1].at - start)
    return {
        "g": Summary.of_seconds(invoke_s),
        "g_base": Summary.of_seconds(slack_click),
        "h_teams_slack": Summary.of_seconds(teams_to_slack),
        "h_slack_teams": Summary.of_seconds(slack_to_teams),
        "h_base": Summary.of_seconds(slack_to_slack),
    }


async def _burst(
    app: Centralita, slack: FakeSlack, connector: FakeConnector | None, n: int, *, both_channels: bool
) -> Summary:
    """Cards per second, as a Summary whose mean is the rate (n / seconds)."""
    slack_before = len(slack.of("chat.postMessage", channel="C0RECEP"))
    teams_before = len(connector.of("create")) if connector else 0
    gate = asyncio.Semaphore(20)

    async def one(i: int) -> None:
        async with gate:
            await app.call("+34911222333", f"Quiero pedir cita (ref burst-{i})")

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))

    def arrived() -> bool:
        slack_ok = len(slack.of("chat.postMessage", channel="C0RECEP")) >= slack_before + n
        teams_ok = (
            connector is None
            or len(
                [
                    c
                    for c in connector.of("create")[teams_before:]
                    if c.body.get("channelData", {}).get("channel")
                ]
            )
            >= n
        )
        return slack_ok and teams_ok

    await _wait(arrived, timeout=120)
    last = [c.at for c in slack.of("chat.postMessage", channel="C0RECEP")]
    if connector is not None:
        last += [c.at for c in connector.of("create")]
    seconds = max(last) - start
    return Summary(n, n / seconds, n / seconds, n / seconds, n / seconds)


def _print(kind: str, f: dict[str, Summary]) -> None:
    def ms(s: Summary) -> str:
        return f"p50 {s.p50:6.1f} ms  p99 {s.p99:6.1f} ms"

    print(f"\nTeams figures on {kind} (in-process server, Teams auth on)")
    print(
        f"(g) Teams claim → answer     {ms(f['g'])}   baseline Slack click → 200 {ms(f['g_base'])}   ratio p99 {f['g'].p99 / f['g_base'].p99:.2f}×   target p99 ≤ 100 ms: {'yes' if f['g'].p99 <= 100 else 'NO'}"
    )
    for name, label in (
        ("h_teams_slack", "Teams claim → Slack card"),
        ("h_slack_teams", "Slack claim → Teams card"),
    ):
        ok = "yes" if f[name].p99 <= 100 else "NO"
        print(
            f"(h) {label:<25}{ms(f[name])}   baseline Slack claim → Slack card {ms(f['h_base'])}   ratio p99 {f[name].p99 / f['h_base'].p99:.2f}×   target p99 ≤ 100 ms: {ok}"
        )
    d, base = f["d"].mean, f["d_base"].mean
    print(
        f"(d) burst, both channels     {d:6.1f} cards/s ({2 * f['d'].n} posts)   baseline Slack only {base:6.1f} cards/s   ratio {d / base:.2f}×   target ≥ 150 cards/s: {'yes' if d >= 150 else 'NO'}"
    )


def _cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.teams")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--cards", type=int, default=20, help="claims per figure (g, h)")
    parser.add_argument("--burst", type=int, default=200, help="calls in the (d) burst")
    args = parser.parse_args()
    _run(main(args.db, args.cards, args.burst))


def _run(work: Awaitable[None]) -> None:
    asyncio.run(work)


if __name__ == "__main__":
    _cli()
