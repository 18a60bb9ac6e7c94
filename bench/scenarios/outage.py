"""(s) A database outage: PostgreSQL cut off from the server by a loopback TCP proxy (the server
itself keeps running) for ``outage_seconds``, with a call every ``outage_interval`` seconds.

Each call plays what Twilio would, following the TwiML it is answered with: ``POST /twilio/voice``;
then the speech (``/gather``) if it was asked for, or the recording (``/voicemail``) if a
``<Record>`` was; then the status callback. A webhook counts as answered when its TwiML parses as a
``<Response>`` of known verbs whose texts have a language (the status callback: a 2xx). After the
proxy is restored, each call must get its card at the Slack stand-in exactly once; the figure is the
time from the restore to the last card. The baseline is the same calls with the database up, just
before the cut (for the time: the slowest of them from its speech or recording to its card)."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bench.databases import Databases, DbSlot
from bench.load import Prepared, session
from bench.plan import Plan
from bench.process import ServerProcess
from bench.signed import REASONS, TwilioSigner, caller_number, voice_params
from bench.standin import StandIn, card_token
from tests.fakes.slack_api import SlackCall
from tests.fakes.tcp_proxy import TcpProxy
from tests.support import new_call_sid

CARDS_TIMEOUT = 60.0
FIRST_NUMBERS = {"up": 300_000, "down": 310_000}
"""Each phase's callers have numbers of their own: a number calling again while its card is open is a
repeat caller, merged into that card (``calls.merge_window``), and the figure counts new cards."""
VERBS = {"Say", "Gather", "Record", "Hangup", "Reject", "Redirect", "Pause", "Play", "Dial", "Enqueue"}
RECORDINGS = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE-"


@dataclass
class Phase:
    """One phase's calls: every webhook's verdict, and each call's card arrivals at the stand-in."""

    calls: int = 0
    mark: int = 0
    """Where the phase starts in the stand-in's call log."""
    webhooks: int = 0
    answered: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    cards: Counter[str] = field(default_factory=Counter)
    """Card posts per call token (more than one: a duplicate)."""
    arrivals: dict[str, float] = field(default_factory=dict)
    """Each call's first card post at the stand-in (perf_counter)."""
    sent: dict[str, float] = field(default_factory=dict)
    """When each call's speech or recording webhook (the one that makes its card) was sent."""
    last_card: float = 0.0

    @property
    def answered_share(self) -> float:
        return 100.0 * self.answered / self.webhooks if self.webhooks else float("nan")

    @property
    def carded_share(self) -> float:
        return 100.0 * len(self.cards) / self.calls if self.calls else float("nan")

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.cards.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "webhooks": self.webhooks,
            "answered_with_valid_twiml": self.answered,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "carded": len(self.cards),
            "duplicate_cards": self.duplicates,
        }


@dataclass
class OutageRun:
    up: Phase = field(default_factory=Phase)
    down: Phase = field(default_factory=Phase)
    restored_at: float = 0.0
    spool_left: int = -1
    card_rows: int = -1

    @property
    def recovery_ms(self) -> float:
        if not self.down.cards or len(self.down.cards) < self.down.calls:
            return float("nan")
        return (self.down.last_card - self.restored_at) * 1000

    @property
    def baseline_ms(self) -> float:
        """With the database up, the slowest call from its card-making webhook to its card."""
        waits = [at - self.up.sent[token] for token, at in self.up.arrivals.items() if token in self.up.sent]
        return max(waits) * 1000 if waits else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "database_up": self.up.as_dict(),
            "outage": self.down.as_dict(),
            "recovery_to_last_card_ms": round(self.recovery_ms, 1),
            "baseline_slowest_webhook_to_card_ms": round(self.baseline_ms, 1),
            "spool_entries_left": self.spool_left,
            "card_rows": self.card_rows,
        }


async def outage(databases: Databases, standin: StandIn, plan: Plan, log_dir: Path) -> OutageRun:
    run = OutageRun()
    async with databases.fresh("postgres", "outage") as slot, TcpProxy(_port(slot)) as proxy:
        spool = databases.workdir / "spool-outage"
        server = ServerProcess(
            "centralita", _through(slot, proxy), log_dir=log_dir, slack_url=standin.url, spool=spool
        )
        async with server, session(server.url, 50) as client:
            signer = TwilioSigner(server.url)
            run.up = await _phase(client, signer, standin, "up", plan.outage_baseline_calls, plan)
            run.up.last_card = await _cards(standin, run.up, CARDS_TIMEOUT)
            proxy.cut()
            run.down = await _phase(client, signer, standin, "down", _outage_calls(plan), plan)
            proxy.restore()
            run.restored_at = time.perf_counter()
            run.down.last_card = await _cards(standin, run.down, CARDS_TIMEOUT)
            await asyncio.sleep(1.0)  # a card posted twice would show up meanwhile
            _count(standin, run.down)
            run.spool_left = _spooled(spool)
        run.card_rows = await slot.database().count("card")
    return run


def _outage_calls(plan: Plan) -> int:
    return round(plan.outage_seconds / plan.outage_interval)


async def _phase(
    client: aiohttp.ClientSession, signer: TwilioSigner, standin: StandIn, prefix: str, calls: int, plan: Plan
) -> Phase:
    """``calls`` calls, one every ``outage_interval`` seconds, each played to its end."""
    phase = Phase(calls=calls, mark=standin.mark())
    started = time.perf_counter()
    tasks = []
    for index in range(calls):
        await asyncio.sleep(max(0.0, started + index * plan.outage_interval - time.perf_counter()))
        tasks.append(asyncio.create_task(_call(client, signer, f"{prefix}-{index:04d}", index, phase)))
    await asyncio.gather(*tasks)
    return phase


async def _call(
    client: aiohttp.ClientSession, signer: TwilioSigner, token: str, index: int, phase: Phase
) -> None:
    caller = caller_number(FIRST_NUMBERS[token.partition("-")[0]] + index)
    base = voice_params(new_call_sid(), caller)
    verbs = await _twiml(client, signer.prepare("/twilio/voice", base), phase)
    phase.sent[token] = time.perf_counter()
    if "Gather" in verbs:
        speech = f"{REASONS[index % len(REASONS)]} (ref {token})"
        await _twiml(client, signer.prepare("/twilio/voice/gather", {**base, "SpeechResult": speech}), phase)
    elif "Record" in verbs:
        recorded = {**base, "RecordingUrl": RECORDINGS + token, "RecordingDuration": "12"}
        await _twiml(client, signer.prepare("/twilio/voice/voicemail", recorded), phase)
    ended = {**base, "CallStatus": "completed", "CallDuration": "31"}
    status = await _send(client, signer.prepare("/twilio/voice/status", ended), phase)
    phase.answered += 200 <= status[0] < 300


async def _twiml(client: aiohttp.ClientSession, request: Prepared, phase: Phase) -> set[str]:
    """Send a voice webhook; the verbs of its answer when it is valid TwiML (else none)."""
    status, body = await _send(client, request, phase)
    verbs = valid_verbs(body) if status == 200 else None
    phase.answered += verbs is not None
    return verbs or set()


async def _send(client: aiohttp.ClientSession, request: Prepared, phase: Phase) -> tuple[int, bytes]:
    phase.webhooks += 1
    try:
        async with client.post(request.path, data=request.body, headers=request.headers) as response:
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError):
        phase.statuses[0] += 1
        return 0, b""
    phase.statuses[response.status] += 1
    return response.status, body


def valid_verbs(body: bytes) -> set[str] | None:
    """The verbs of a TwiML document Twilio would play: a ``<Response>`` of known verbs, every
    ``<Say>`` with text and a language, every ``<Record>`` and ``<Gather>`` with an action URL."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    nodes = [*root, *(child for verb in root for child in verb)]
    if root.tag != "Response" or not len(root) or any(node.tag not in VERBS for node in nodes):
        return None
    for node in nodes:
        if node.tag == "Say" and not ((node.text or "").strip() and node.get("language")):
            return None
        if node.tag in ("Record", "Gather") and not node.get("action"):
            return None
    return {verb.tag for verb in root}


async def _cards(standin: StandIn, phase: Phase, timeout: float) -> float:
    """Wait for every call's card; the last one's arrival (perf_counter)."""
    await standin.until(lambda: len(_count(standin, phase)) >= phase.calls, timeout)
    return max(phase.arrivals.values(), default=float("nan"))


def _count(standin: StandIn, phase: Phase) -> Counter[str]:
    """Tally the card posts of the phase's calls so far."""
    phase.cards, phase.arrivals = Counter(), {}
    for call in standin.fake.calls[phase.mark :]:
        token = _token(call)
        if token is not None:
            phase.cards[token] += 1
            phase.arrivals.setdefault(token, call.at)
    return phase.cards


def _token(call: SlackCall) -> str | None:
    """The call a card post belongs to: the ``(ref …)`` its caller said, or its recording's name."""
    for prefix in ("up", "down"):
        token = card_token(call, prefix)
        if token is not None:
            return token
    if call.method != "chat.postMessage" or "blocks" not in call.args or "thread_ts" in call.args:
        return None
    blocks = str(call.args["blocks"])
    start = blocks.find(RECORDINGS)
    if start < 0:
        return None
    tail = blocks[start + len(RECORDINGS) :]
    return tail[: next((i for i, ch in enumerate(tail) if not (ch.isalnum() or ch == "-")), len(tail))]


def _spooled(spool: Path) -> int:
    return sum(len(path.read_text().splitlines()) for path in spool.glob("*.jsonl")) if spool.exists() else 0


def _port(slot: DbSlot) -> int:
    return urlsplit(slot.url).port or 5432


def _through(slot: DbSlot, proxy: TcpProxy) -> DbSlot:
    """The same database, reached through the proxy."""
    parts = urlsplit(slot.url)
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@127.0.0.1:{proxy.port}" if user else f"127.0.0.1:{proxy.port}"
    return DbSlot(slot.kind, urlunsplit(parts._replace(netloc=netloc)), slot.schema)
