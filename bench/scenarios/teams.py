"""The Teams figures, with Teams authentication on against the identity stand-in, and the Bot
Connector and Slack stand-ins of ``tests/fakes`` in the bench process; each Centralita server in its
own process (bench/served.py), as (a)–(d) run it.

(g) a Teams ``Action.Execute`` claim → its HTTP answer (the refreshed card); baseline: a Slack claim
    click → 200 on the same server.
(h) a claim in one channel → the *other* channel's copy updated at its stand-in (Teams claim → Slack
    ``chat.update``; Slack claim → Bot Connector ``PUT``); baseline: a Slack claim → Slack's own
    ``chat.update``.
(d) with both channels: the (d) burst (``burst_calls`` calls, ``burst_concurrency`` in flight) → two
    posts per call; cards/s = calls / (first request → last post at either stand-in); baseline: the
    same burst on a Slack-only server.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from bench.context import Context
from bench.figure import Figure, Outcome, Target
from bench.plan import Plan
from bench.scenarios.burst import Burst, burst
from bench.served import ServedCentralita, centralita, until
from bench.standin import StandIn
from bench.stats import Summary, samples_ms
from tests.fakes.bot_connector import FakeConnector
from tests.fakes.identity import FakeIdentity, auth_env, make_tls
from tests.fakes.server import LoopbackServer
from tests.teams.support import OTHER_CHANNEL, TEAM_ID, card_invoke, post_activity, team_installed


def _caller(index: int) -> str:
    """A caller of their own per call (a repeat caller's calls are merged into one card)."""
    return f"+346{index:08d}"


async def run(context: Context, kind: str) -> Outcome:
    plan = context.plan
    async with _teams(context, kind) as (app, identity, connector, slack):
        await _send(app, identity, team_installed(connector.url))
        found = await _claims(app, identity, connector, slack, plan.teams_claims)
        teams_before = len(connector.of("create"))
        both = await burst(
            app.process, slack, plan, lambda: [c.at for c in _channel_posts(connector, teams_before)]
        )
    async with (
        StandIn() as slack_only,
        context.databases.fresh(kind, "slackonly") as slot,
        centralita(context, slot, slack_only.url) as alone_app,
    ):
        alone = await burst(alone_app.process, slack_only, plan)
    return _outcome(found, both, alone, plan)


def _outcome(found: dict[str, list[float]], both: Burst, alone: Burst, plan: Plan) -> Outcome:
    s = {name: Summary.of_seconds(values) for name, values in found.items()}
    slack_click, slack_update, limit = "Slack click → 200", "Slack claim → Slack update", Target("<=", 100)
    return Outcome(
        figures=[
            Figure("g.p50", "(g) Teams claim → answer, p50", "ms", s["g"].p50, s["click"].p50, slack_click),
            Figure(
                "g.p99", "(g) Teams claim → answer, p99", "ms", s["g"].p99, s["click"].p99, slack_click, limit
            ),
            Figure(
                "h.teams_p99",
                "(h) Teams claim → Slack card, p99",
                "ms",
                s["teams_slack"].p99,
                s["slack_slack"].p99,
                slack_update,
                limit,
            ),
            Figure(
                "h.slack_p99",
                "(h) Slack claim → Teams card, p99",
                "ms",
                s["slack_teams"].p99,
                s["slack_slack"].p99,
                slack_update,
                limit,
            ),
            Figure(
                "d.teams",
                f"(d) burst, Slack + Teams ({2 * both.calls} posts)",
                "cards/s",
                both.cards_per_s,
                alone.cards_per_s,
                "Slack only",
                Target(">=", 150),
            ),
        ],
        checks=[
            (
                f"(g) {len(found['g'])}/{plan.teams_claims} Teams claims, (h) {len(found['teams_slack'])} + "
                f"{len(found['slack_teams'])} copies updated; (d) {both.cards} cards in Slack and "
                f"{both.cards_elsewhere} in Teams of {both.calls}, {alone.cards} on the Slack-only server",
                len(found["g"]) == len(found["teams_slack"]) == len(found["slack_teams"]) == plan.teams_claims
                and both.cards == both.cards_elsewhere == alone.cards == both.calls,
            )
        ],
        raw={name: samples_ms(values) for name, values in found.items()}
        | {"burst": both.as_dict(), "burst_slack_only": alone.as_dict()},
    )


@asynccontextmanager
async def _teams(
    context: Context, kind: str
) -> AsyncIterator[tuple[ServedCentralita, FakeIdentity, FakeConnector, StandIn]]:
    """A server with Slack and Teams on every team (``clinic_teams_everywhere.yaml``), its stand-ins,
    on a fresh database; the server trusts the identity stand-in's certificate authority (``SSL_CERT_FILE``)."""
    folder = context.workdir / f"teams-{kind}"
    folder.mkdir(exist_ok=True)
    tls = make_tls(folder)
    identity, connector = FakeIdentity(), FakeConnector()
    async with AsyncExitStack() as stack:
        identity.url = await stack.enter_async_context(
            LoopbackServer(identity.app, ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key))
        )
        connector.url = await stack.enter_async_context(LoopbackServer(connector.app)) + "/"
        connector.check_token = identity.accepts
        connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
        slack = await stack.enter_async_context(StandIn())
        slot = await stack.enter_async_context(context.databases.fresh(kind, "teams"))
        auth = {name: str(value) for name, value in auth_env(identity).items()}
        server = centralita(
            context,
            slot,
            slack.url,
            config="clinic_teams_everywhere.yaml",
            settings=auth,
            env={"SSL_CERT_FILE": str(tls.ca)},
        )
        yield await stack.enter_async_context(server), identity, connector, slack


async def _send(app: ServedCentralita, identity: FakeIdentity, activity: dict[str, Any]) -> Any:
    answer = await post_activity(app.http, activity, identity.channel_token(activity["serviceUrl"]))
    assert answer.status_code in (200, 201), answer.text
    return answer


def _channel_posts(connector: FakeConnector, since: int = 0) -> list[Any]:
    return [c for c in connector.of("create")[since:] if c.body.get("channelData", {}).get("channel")]


async def _make_cards(app: ServedCentralita, connector: FakeConnector, n: int) -> list[tuple[int, str]]:
    """``n`` cards, each posted in Slack and in Teams: (card id, its Teams thread)."""
    before = {c.id for c in await app.db.cards()}
    posted = len(_channel_posts(connector))
    for i in range(n):
        await app.call(_caller(i), f"Quiero pedir cita (ref {i})")
    await until(lambda: len(_channel_posts(connector)) >= posted + n, "the Teams cards")
    cards = [c for c in await app.db.cards() if c.id not in before]
    threads = {_token_of(post.body): post.conversation or "" for post in _channel_posts(connector, posted)}
    return [(int(card.id or 0), threads[_token_of(card.summary)]) for card in cards]


def _token_of(said: Any) -> str:
    """The ``(ref N)`` a card's caller said, found in its summary or in its Teams card."""
    text = json.dumps(said, ensure_ascii=False) if not isinstance(said, str) else said
    return text[text.index("(ref ") :].partition(")")[0]


async def _claims(
    app: ServedCentralita, identity: FakeIdentity, connector: FakeConnector, slack: StandIn, n: int
) -> dict[str, list[float]]:
    cards = await _make_cards(app, connector, 3 * n)
    found: dict[str, list[float]] = {
        "g": [],
        "teams_slack": [],
        "click": [],
        "slack_teams": [],
        "slack_slack": [],
    }
    updates = lambda: len(slack.fake.of("chat.update"))  # noqa: E731
    for card_id, thread in cards[:n]:
        activity = card_invoke(connector.url, "claim", card_id, conversation=thread)
        token, before = identity.channel_token(connector.url), updates()
        start = time.perf_counter()
        await post_activity(app.http, activity, token)
        found["g"].append(time.perf_counter() - start)
        await until(lambda b=before: updates() > b, "Slack's copy updated")
        found["teams_slack"].append(slack.fake.of("chat.update")[-1].at - start)
    for index, (card_id, _thread) in enumerate(cards[n:]):
        to_teams = index < n
        slack_before, teams_before = updates(), len(connector.of("update"))
        start = time.perf_counter()
        await app.claim(card_id, "U0LUIS")
        found["click"].append(time.perf_counter() - start)
        if to_teams:
            await until(lambda t=teams_before: len(connector.of("update")) > t, "Teams' copy updated")
            found["slack_teams"].append(connector.of("update")[-1].at - start)
        else:
            await until(lambda s=slack_before: updates() > s, "Slack's own copy updated")
            found["slack_slack"].append(slack.fake.of("chat.update")[-1].at - start)
    return found
