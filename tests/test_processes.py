"""Process-level proof (issue 14, item 6): real ``centralita serve`` and ``centralita worker``
processes on one real PostgreSQL schema, killed, doubled and restarted, lose nothing and do nothing
twice. Each scenario keeps to a few seconds of activity; they run in ``make test`` like the rest
(marked ``process`` so that ``-m "not process"`` can leave them out while iterating)."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select

from bot.store.models import Callback, Card, CardPost
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.processes import CentralitaProcess, psycopg_url, stop_all
from tests.support import CLINIC_NUMBER, FIXTURES, Database, eventually, new_call_sid

pytestmark = pytest.mark.process

ALWAYS_OPEN = FIXTURES / "always_open.yaml"
ASKING = "Hola, quería información sobre los horarios"
"""What the callers say: the clinic's ``general`` rule, whose first step notifies the team (a line
in the card's thread, no direct messages)."""
SETTINGS = {"CENTRALITA_SWEEP_SECONDS": "0.2", "CENTRALITA_OUTBOX_POLL_SECONDS": "0.2"}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20) as client:
        yield client


def replica(db: Database, slack: FakeSlack, workdir: Path, command: str = "serve") -> CentralitaProcess:
    url: str = slack.url  # type: ignore[attr-defined]
    return CentralitaProcess(
        psycopg_url(db), workdir, command=command, slack_url=url, config=ALWAYS_OPEN, **SETTINGS
    )


def call_steps(sid: str, caller: str) -> list[tuple[str, dict[str, str]]]:
    """The three webhooks of one answered call, in Twilio's order."""
    base = {"CallSid": sid, "From": caller, "To": CLINIC_NUMBER, "AccountSid": "AC" + "0" * 32}
    return [
        ("/twilio/voice", {**base, "CallStatus": "ringing"}),
        ("/twilio/voice/gather", {**base, "CallStatus": "in-progress", "SpeechResult": ASKING}),
        ("/twilio/voice/status", {**base, "CallStatus": "completed", "CallDuration": "20"}),
    ]


def caller(index: int) -> str:
    return f"+3465{index:07d}"


async def play_call(http: httpx.AsyncClient, server: CentralitaProcess, sid: str, number: str) -> None:
    for path, params in call_steps(sid, number):
        answer = await server.post(http, path, params)
        assert answer.status_code in (200, 204), answer.text


async def in_parallel(jobs: list[Callable[[], Awaitable[object]]], at_once: int = 8) -> None:
    """Run the jobs ``at_once`` at a time (as Twilio's requests arrive: several, not all at once)."""
    gate = asyncio.Semaphore(at_once)

    async def run(job: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(run(job) for job in jobs))


async def cards_per_call(db: Database) -> Counter[str]:
    return Counter(card.call_sid or "" for card in await db.cards())


def card_posts(slack: FakeSlack) -> list[SlackCall]:
    return [c for c in slack.of("chat.postMessage") if "thread_ts" not in c.args and "blocks" in c.args]


def thread_lines(slack: FakeSlack) -> Counter[str]:
    """The lines posted under cards, by the card message they are under."""
    return Counter(str(c.args["thread_ts"]) for c in slack.of("chat.postMessage") if "thread_ts" in c.args)


async def card_messages(db: Database) -> dict[int, str]:
    """Each card's Slack message ts, by card id."""
    posts = await db.query(select(CardPost).where(col(CardPost.channel) == "slack"))
    return {post.card_id: str(post.external_ref).split(":")[1] for post in posts}


async def escalations(db: Database) -> Counter[int]:
    return Counter(event.card_id or 0 for event in await db.audit("escalated"))


async def due_soon(db: Database, ids: list[int], first: float, spread: float) -> datetime:
    """Make the cards' next escalation step fall due from ``first`` seconds from now, spread over
    ``spread`` seconds by card id, in one statement (the steps of the fixture's policies are
    minutes away); returns the last due time."""
    low, high = min(ids), max(ids)
    step_ms = int(spread * 1000 / max(1, high - low))
    start = datetime.now(UTC) + timedelta(seconds=first)
    await db.run(
        f"UPDATE card SET escalate_at = TIMESTAMPTZ '{start.isoformat()}' "
        f"+ (id - {low}) * INTERVAL '{step_ms} milliseconds' WHERE id BETWEEN {low} AND {high}"
    )
    return start + timedelta(milliseconds=step_ms * (high - low))


async def test_escalations_due_when_serve_is_killed_fire_once_each_after_the_restart(
    postgres: Database, slack: FakeSlack, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    server = replica(postgres, slack, tmp_path)
    try:
        await server.start(http)
        sids = [new_call_sid() for _ in range(100)]
        await in_parallel(
            [lambda i=i, s=s: play_call(http, server, s, caller(i)) for i, s in enumerate(sids)]
        )
        await eventually(lambda: _count_at_least(card_posts, slack, 100), timeout=30)
        ids = [card.id or 0 for card in await postgres.cards()]
        assert len(ids) == 100
        # Spread wide enough that a sweep delayed by a loaded machine still leaves some not yet due.
        last_due = await due_soon(postgres, ids, first=1.0, spread=6.0)

        await eventually(lambda: _fired_at_least(postgres, 1), timeout=10, interval=0.02)
        server.kill()  # kill -9 while the steps fall due, some fired and some not yet
        fired_before = sum((await escalations(postgres)).values())
        assert 0 < fired_before < 100
        await asyncio.sleep(max(0.0, (last_due - datetime.now(UTC)).total_seconds()))

        await server.start(http)
        await eventually(lambda: _fired_at_least(postgres, 100), timeout=20)
        messages = await card_messages(postgres)
        # A thread line the killed process had leased waits for its lease to run out (60 s) before the
        # new process may send it: at least once, never lost.
        await eventually(lambda: _lines_under(slack, messages.values()), timeout=80)
        await asyncio.sleep(1.0)  # a few more sweeps and delivery rounds: nothing fires again
        assert await escalations(postgres) == Counter({card_id: 1 for card_id in ids})
        assert thread_lines(slack) == Counter({ts: 1 for ts in messages.values()})
        assert {card.escalation_level for card in await postgres.cards()} == {1}
    finally:
        server.stop()


async def test_two_servers_and_a_worker_on_one_database_do_everything_once(
    postgres: Database, slack: FakeSlack, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    first, second = replica(postgres, slack, tmp_path), replica(postgres, slack, tmp_path)
    worker = replica(postgres, slack, tmp_path, command="worker")
    try:
        await asyncio.gather(first.start(http), second.start(http), worker.start(http))
        # Every webhook reaches one replica and Twilio's retry of it the other, at the same time.
        sids = [new_call_sid() for _ in range(20)]

        async def retried_call(index: int, sid: str) -> None:
            for path, params in call_steps(sid, caller(index)):
                answers = await asyncio.gather(
                    first.post(http, path, params), second.post(http, path, params)
                )
                assert all(a.status_code in (200, 204) for a in answers), [a.text for a in answers]

        await in_parallel([lambda i=i, s=s: retried_call(i, s) for i, s in enumerate(sids)], at_once=4)
        assert await cards_per_call(postgres) == Counter({sid: 1 for sid in sids})
        await eventually(lambda: _count_at_least(card_posts, slack, 20), timeout=20)
        cards = await postgres.cards()
        ids = [card.id or 0 for card in cards]

        # Each card's next step falls due within two seconds, and a callback reminder for each too.
        now = datetime.now(UTC)
        await postgres.add(
            *(
                Callback(
                    org_id=card.org_id,
                    card_id=card.id or 0,
                    due_at=now + timedelta(seconds=1 + index / 10),
                    assignee_id="ana",
                    note=f"llamar {index}",
                    created_by="rocio",
                    created_at=now,
                )
                for index, card in enumerate(cards)
            )
        )
        await due_soon(postgres, ids, first=1.0, spread=1.0)
        await eventually(lambda: _fired_at_least(postgres, 20), timeout=15)
        await eventually(lambda: _reminded(postgres, 20), timeout=15)
        messages = await card_messages(postgres)
        await eventually(lambda: _lines_under(slack, messages.values()), timeout=15)
        await eventually(lambda: _count_at_least(_reminders, slack, 20), timeout=15)
        await asyncio.sleep(1.0)  # more sweeps and delivery rounds by all three processes
        assert await escalations(postgres) == Counter({card_id: 1 for card_id in ids})
        assert thread_lines(slack) == Counter({ts: 1 for ts in messages.values()})
        assert Counter(e.data["callback"] for e in await postgres.audit("callback_due")) == Counter(
            {callback.id: 1 for callback in await postgres.query(select(Callback))}
        )
        assert len(_reminders(slack)) == 20

        # Two people claim each of ten cards at the same moment, through different replicas.
        claims = [
            job
            for card_id in ids[:10]
            for job in (
                lambda c=card_id: first.claim(http, c, "U0ANA"),
                lambda c=card_id: second.claim(http, c, "U0LUIS"),
            )
        ]
        answers = await asyncio.gather(*(job() for job in claims))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        await eventually(lambda: _claimed(postgres, ids[:10]), timeout=15)
        await asyncio.sleep(0.5)  # the losing clicks' work is done too (both clicks are acked first)
        owners = {card.id: card.claimed_by for card in await postgres.cards() if card.id in ids[:10]}
        assert set(owners.values()) <= {"ana", "luis"}
        assert Counter(e.card_id for e in await postgres.audit("claimed")) == Counter(
            {card_id: 1 for card_id in ids[:10]}
        )
        claimers = {e.card_id: e.actor for e in await postgres.audit("claimed")}
        assert claimers == owners
    finally:
        stop_all(first, second, worker)


async def test_a_rolling_restart_during_a_burst_of_calls_loses_nothing(
    postgres: Database, slack: FakeSlack, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    replicas = [replica(postgres, slack, tmp_path), replica(postgres, slack, tmp_path)]
    try:
        await asyncio.gather(*(r.start(http) for r in replicas))
        balancer = Balancer(replicas)
        restarting = asyncio.Event()
        sids: list[str] = []

        index = itertools.count()  # one number per call, across the bursts: a repeat caller is merged

        async def burst() -> None:
            while not restarting.is_set() or len(sids) < 10:
                sid = new_call_sid()
                sids.append(sid)
                await balancer.call(http, sid, caller(next(index)))

        async def rolling_restart() -> None:
            await asyncio.sleep(0.3)
            for server in replicas:
                await asyncio.to_thread(server.stop)
                await server.start(http)
                await asyncio.sleep(0.3)
            restarting.set()

        await asyncio.gather(*(burst() for _ in range(3)), rolling_restart())
        assert await cards_per_call(postgres) == Counter({sid: 1 for sid in sids})
        await eventually(lambda: _count_at_least(card_posts, slack, len(sids)), timeout=30)
        await asyncio.sleep(1.0)
        posted = Counter(_card_id(call) for call in card_posts(slack))
        assert posted == Counter({card.id: 1 for card in await postgres.cards()})
        assert balancer.failovers > 0, "the restart never sent a webhook to the other replica"
    finally:
        stop_all(*replicas)


class Balancer:
    """Twilio in front of two replicas: each webhook to the next one, and to the other one when
    that refuses the connection or answers 5xx (Twilio's fallback URL)."""

    def __init__(self, replicas: list[CentralitaProcess]) -> None:
        self.replicas = replicas
        self.turn = itertools.cycle(range(len(replicas)))
        self.failovers = 0

    async def call(self, http: httpx.AsyncClient, sid: str, number: str) -> None:
        for path, params in call_steps(sid, number):
            await self.post(http, path, params)

    async def post(self, http: httpx.AsyncClient, path: str, params: dict[str, str]) -> None:
        first = next(self.turn)
        for attempt in range(40):
            server = self.replicas[(first + attempt) % len(self.replicas)]
            try:
                answer = await server.post(http, path, params)
                if answer.status_code < 500:
                    assert answer.status_code in (200, 204), answer.text
                    return
            except httpx.TransportError:
                pass
            self.failovers += 1
            await asyncio.sleep(0.05)
        raise AssertionError(f"no replica took {path} for {params['CallSid']}")


def _card_id(call: SlackCall) -> int:
    """The card a posted card message shows (its blocks' ids are ``card-<id>-…``)."""
    block_id = str(call.args["blocks"][0].get("block_id", ""))
    return int(block_id.split("-")[1])


def _reminders(slack: FakeSlack) -> list[SlackCall]:
    return [c for c in slack.of("chat.postMessage") if c.args.get("channel") == "U0ANA"]


async def _count_at_least(
    found: Callable[[FakeSlack], list[SlackCall]], slack: FakeSlack, count: int
) -> bool:
    return len(found(slack)) >= count


async def _fired_at_least(db: Database, count: int) -> bool:
    return sum((await escalations(db)).values()) >= count


async def _reminded(db: Database, count: int) -> bool:
    rows = await db.query(select(Callback).where(col(Callback.status) == "reminded"))
    return len(rows) >= count


async def _claimed(db: Database, ids: list[int]) -> bool:
    cards = await db.query(select(Card).where(col(Card.id).in_(ids)))
    return all(card.status == "claimed" and card.claimed_by for card in cards)


async def _lines_under(slack: FakeSlack, messages: Iterable[str]) -> bool:
    lines = thread_lines(slack)
    return all(lines[ts] >= 1 for ts in messages)
