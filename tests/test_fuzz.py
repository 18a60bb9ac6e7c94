"""Every public endpoint under hostile input, unsigned and correctly signed.

Table-driven: ``ENDPOINTS`` lists each endpoint with the platform that signs its requests, and each
platform (``Signer``) knows how to sign a body with its SDK, how to fail to, and which bodies are
hostile for it. Adding an endpoint is one line (``Endpoint("POST", "/twilio/messaging", TWILIO)``);
a new platform (Teams' ``/api/messages``, signed with a Bot Framework JWT) is one ``Signer``.

What must hold: no 5xx; no traceback in the logs; an unsigned request stores nothing (every table
counted) and is refused with 401/403 (413 when its body is over the size limit); a signed one gets a
2xx or a 4xx; ``/healthz`` answers throughout. The generator is seeded, so a failure reproduces.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from slack_sdk.signature import SignatureVerifier
from sqlmodel import SQLModel
from starlette.datastructures import ImmutableMultiDict

from bot.body_limit import MAX_BODY_BYTES
from tests.fakes.slack_api import FakeSlack
from tests.support import (
    CLINIC_NUMBER,
    SLACK_SECRET,
    Centralita,
    Database,
    FakeClock,
    block_actions,
    button,
    command_body,
    eventually,
    submission_body,
)

SEED = 20261201
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
TWILIO_MAX_BYTES = 64 * 1024  # adapters.twilio.signature: Twilio's own, checked before its signature
MB = 1024 * 1024


@dataclass(frozen=True)
class Hostile:
    what: str
    body: bytes
    content_type: str = FORM
    one_path_each: bool = False
    """Sent to one endpoint of each platform, not to all: a body of megabytes meets the body limit
    before any route (``bot.body_limit``), so its path changes nothing, and sending it to every
    endpoint was three quarters of this test's time."""


Headers = dict[str, str | bytes]

# Text that has broken something somewhere: SQL, NUL and control characters, a lone surrogate (as a
# JSON escape or percent-encoded), emoji with joiners, right-to-left marks, a very long line.
NASTY_TEXT = [
    "'; DROP TABLE card; --",
    '" OR ""="',
    "1 OR 1=1; SELECT pg_sleep(10)",
    "hola\x00mundo",
    "\x00",
    "".join(chr(c) for c in range(32)) + "\x7f\x85\x9f",
    "😀👨‍👩‍👧‍👦 urgente 🦷",
    "\u202eetnegru\u202c",
    "Soy Juan Pérez " + "muy " * 1250,  # 5,000+ characters of speech
    "%00%ff%ED%A0%80",
    "{{7*7}} ${jndi:ldap://x} <script>alert(1)</script>",
]
SURROGATE_JSON = '"\\ud800 soy \\u0000 Ana \\udfff"'  # decodes to lone surrogates and a NUL
CALLERS = [
    "sip:recepcion@clinica-ejemplo.sip.twilio.com",
    "client:agent_ana",
    "sip:" + "r" * 180 + "@clinica-ejemplo.sip.twilio.com",  # over 200 characters
    "sip:" + "x" * 300 + "@example.com",  # over 255: stored cut, the call still counted
    "anonymous",
    "+266696687",
    "",
]


def _generic_bodies(rng: random.Random) -> list[Hostile]:
    """Bodies that are wrong for any endpoint."""
    bodies = [
        Hostile("invalid utf-8", b"\xff\xfe\xfd" + rng.randbytes(64)),
        Hostile("invalid utf-8 in a form", b"CallSid=CA" + bytes([0xC3, 0x28]) + b"&payload=%7B%7D\xa0"),
        Hostile("empty", b""),
        Hostile("json object as a form", json.dumps({"CallSid": "CA1", "type": "block_actions"}).encode()),
        Hostile("form as json", b"CallSid=CA1&From=%2B34600111222", JSON),
        Hostile("json list", b"[1, 2]", JSON),
        Hostile("json number", b"123", JSON),
        Hostile("json string", b'"x"', JSON),
        Hostile("json with a lone surrogate", b'{"text": ' + SURROGATE_JSON.encode() + b"}", JSON),
        Hostile("truncated json", b'{"type": "block_actions", "actions": [', JSON),
        Hostile("over the size limit", b"SpeechResult=" + b"a" * MAX_BODY_BYTES),
        Hostile("megabytes", b"x=" + b"%00" * (rng.randint(1, 3) * MB), one_path_each=True),
        Hostile("ten megabytes", b"CallSid=" + b"9" * (10 * MB), one_path_each=True),
        Hostile("a large form under the limit", urlencode({"f" * 10: "v" * 200_000}).encode()),
    ]
    bodies += [Hostile(f"random bytes {i}", rng.randbytes(rng.randint(1, 4000))) for i in range(6)]
    bodies += [
        Hostile(f"text as body {i}", t.encode("utf-8", "surrogatepass")) for i, t in enumerate(NASTY_TEXT)
    ]
    return bodies


def _call_sid(rng: random.Random) -> str:
    return "CA" + rng.randbytes(16).hex()


def _twilio_bodies(rng: random.Random) -> list[Hostile]:
    """Forms shaped like Twilio's, with hostile values; many carry a real CallSid, so they reach the
    use cases (calls, cards) and not only the parser."""
    bodies: list[Hostile] = []
    sids = [_call_sid(rng) for _ in range(6)]
    message_sids = ["SM" + sid[2:] for sid in sids]
    for index, value in enumerate([*NASTY_TEXT, *CALLERS]):
        params = [
            ("CallSid", rng.choice(sids)),
            ("AccountSid", "AC" + "0" * 32),
            ("From", rng.choice([value, *CALLERS])),
            ("To", rng.choice([CLINIC_NUMBER, CLINIC_NUMBER, value])),
            ("CallStatus", rng.choice(["ringing", "completed", "no-answer", value])),
            ("SpeechResult", value),
            ("RecordingUrl", rng.choice(["https://api.twilio.com/r/RE1", value])),
            ("Digits", value[:3]),
            ("MessageSid", rng.choice(message_sids)),
            ("Body", value),
            ("ProfileName", rng.choice(["María", value])),
            ("NumMedia", rng.choice(["1", "0", "x", "99"])),
            ("MediaUrl0", rng.choice(["https://api.twilio.com/m/ME1", value])),
            ("MessageStatus", rng.choice(["delivered", "failed", value])),
            ("ErrorCode", rng.choice(["", "63016", value])),
        ]
        bodies.append(Hostile(f"twilio form {index}", urlencode(params).encode()))
    odd_sids = ["", "CA", "CA" + "g" * 32, "ca" + "0" * 32, "CA" + "0" * 500, "CA٠١٢٣", "CA\x00" + "0" * 31]
    bodies += [
        Hostile(f"odd CallSid {s!r:.12}", urlencode({"CallSid": s, "To": CLINIC_NUMBER}).encode())
        for s in odd_sids
    ]
    bodies.append(
        Hostile("a lone surrogate, percent-encoded", f"CallSid={sids[0]}&SpeechResult=%ED%A0%80%00".encode())
    )
    bodies.append(
        Hostile("repeated fields", f"CallSid={sids[1]}&From=a&From=b&To={quote(CLINIC_NUMBER)}".encode())
    )
    return bodies


def _slack_bodies(rng: random.Random) -> list[Hostile]:
    """Payloads shaped like Slack's (clicks, modals, the command), with hostile values."""
    payloads: list[object] = [[1, 2], 123, "x", None, True, {}, {"type": "block_actions"}]
    weird_values = ["not-a-card", str(2**40), "9" * 400, "-1", "1e3", "²", 7, None, [1], {"a": 1}, "0"]
    for value in weird_values:
        payloads.append(block_actions({**button("claim", 1), "value": value}, "U0ANA", "C0RECEP"))
    payloads += [
        block_actions(
            {"action_id": "resolve", "type": "static_select", "selected_option": {"value": v}},
            "U0ANA",
            "C0RECEP",
        )
        for v in ["1:spam", "1:bogus", f"{2**40}:spam", 5, None]
    ]
    payloads += [
        block_actions(
            {"action_id": "reassign", "type": "users_select", "selected_user": u, "block_id": b},
            "U0ANA",
            "C0RECEP",
        )
        for u, b in [
            ("U0LUIS", "card-1-r1-actions"),
            ("'; DROP", "card-1-r1-actions"),
            ("U0LUIS", f"card-{2**40}-r1-x"),
            (5, None),
        ]
    ]
    broken = block_actions(button("claim", 1), "U0ANA", "C0RECEP")
    for key, value in [
        ("user", "U0ANA"),
        ("user", {"id": 5}),
        ("channel", "C0"),
        ("actions", "x"),
        ("actions", []),
        ("actions", [5]),
        ("container", 3),
    ]:
        payloads.append({**broken, key: value})
    payloads.append({**broken, "user": {"id": "U0ANA\u0000"}, "channel": {"id": "C" + "0" * 300}})
    payloads.append(
        json.loads('{"type": "view_submission", "user": {"id": "U0ANA"}, "view": ' + SURROGATE_JSON + "}")
    )
    return [
        Hostile(f"slack payload {i}", urlencode({"payload": json.dumps(p)}).encode())
        for i, p in enumerate(payloads)
    ]


def _slack_forms(rng: random.Random) -> list[Hostile]:
    """Modal submissions whose metadata or inputs are not ours, and commands with hostile text."""
    forms: list[Hostile] = []
    for metadata in [
        "[1]",
        "null",
        '{"card": "x"}',
        f'{{"card": {2**40}}}',
        '{"card": true}',
        "{",
        "5",
        '{"card": 1, "channel": 7}',
    ]:
        values = {"note": {"note": {"type": "plain_text_input", "value": rng.choice(NASTY_TEXT)}}}
        forms.append(
            Hostile(
                f"modal metadata {metadata!r}",
                submission_body("add_note_modal", "U0ANA", values, metadata).encode(),
            )
        )
    for block, element in [
        ("when", {"type": "datetimepicker", "selected_date_time": 10**20}),
        ("when", {"type": "datetimepicker", "selected_date_time": "soon"}),
        ("assignee", {"type": "users_select", "selected_user": "nobody at all"}),
        ("note", {"type": "plain_text_input", "value": 42}),
    ]:
        values = {block: {block: element}}
        forms.append(
            Hostile(
                f"callback modal {block}",
                submission_body("schedule_callback_modal", "U0ANA", values, '{"card": 1}').encode(),
            )
        )
    recado = {
        "name": {"name": {"type": "plain_text_input", "value": rng.choice(NASTY_TEXT)}},
        "phone": {"phone": {"type": "plain_text_input", "value": "600 555 666\x00"}},
        "reason": {"reason": {"type": "plain_text_input", "value": rng.choice(NASTY_TEXT)}},
    }
    forms.append(
        Hostile("recado modal", submission_body("recado_modal", "U0ROCIO", recado, '{"card": null}').encode())
    )
    forms += [
        Hostile(f"recado command {i}", command_body(text, "U0ROCIO").encode())
        for i, text in enumerate(NASTY_TEXT)
    ]
    no_user = dict(parse_qsl(command_body("hola", "U0ROCIO")))
    forms.append(Hostile("command without a user", urlencode({**no_user, "user_id": ""}).encode()))
    forms.append(
        Hostile("command from a strange user", urlencode({**no_user, "user_id": "u0; DROP"}).encode())
    )
    forms.append(Hostile("an event", json.dumps({"type": "event_callback", "event": 5}).encode(), JSON))
    forms.append(
        Hostile("url verification", json.dumps({"type": "url_verification", "challenge": "x"}).encode(), JSON)
    )
    return forms


class Signer:
    """How one platform signs a request with its SDK, and the ways a request can fail to be signed."""

    name = ""

    def bodies(self, rng: random.Random) -> list[Hostile]:
        raise NotImplementedError

    def signed(self, app: Centralita, path: str, hostile: Hostile) -> Headers:
        raise NotImplementedError

    def unsigned(self, app: Centralita, path: str, hostile: Hostile, variant: int) -> Headers:
        """Headers that do not sign ``hostile`` (``variant`` picks which kind of wrong)."""
        raise NotImplementedError


class TwilioSigner(Signer):
    name = "twilio"

    def bodies(self, rng: random.Random) -> list[Hostile]:
        return _twilio_bodies(rng)

    def signed(self, app: Centralita, path: str, hostile: Hostile) -> Headers:
        fields = parse_qsl(hostile.body.decode("utf-8", "replace"), keep_blank_values=True)
        signature = app.twilio.compute_signature(app.url + path, ImmutableMultiDict(fields))
        return {"Content-Type": hostile.content_type, "X-Twilio-Signature": signature}

    def unsigned(self, app: Centralita, path: str, hostile: Hostile, variant: int) -> Headers:
        fields = parse_qsl(hostile.body.decode("utf-8", "replace"), keep_blank_values=True)
        wrong: list[Callable[[], str | bytes | None]] = [
            lambda: None,
            lambda: "",
            lambda: "bm90LWEtc2lnbmF0dXJl",
            lambda: app.twilio.compute_signature(
                "https://elsewhere.example.com" + path, ImmutableMultiDict(fields)
            ),
            lambda: app.twilio.compute_signature(app.url + path, ImmutableMultiDict([*fields, ("x", "1")])),
            lambda: "é".encode("latin-1") * 28,
        ]
        signature = wrong[variant % len(wrong)]()
        headers: Headers = {"Content-Type": hostile.content_type}
        return headers if signature is None else {**headers, "X-Twilio-Signature": signature}


class SlackSigner(Signer):
    name = "slack"
    verifier = SignatureVerifier(SLACK_SECRET)

    def bodies(self, rng: random.Random) -> list[Hostile]:
        return _slack_bodies(rng) + _slack_forms(rng)

    def signed(self, app: Centralita, path: str, hostile: Hostile) -> Headers:
        timestamp = str(int(time.time()))
        return {
            "Content-Type": hostile.content_type,
            **self._signature(timestamp, hostile.body, SLACK_SECRET),
        }

    def unsigned(self, app: Centralita, path: str, hostile: Hostile, variant: int) -> Headers:
        now = int(time.time())
        wrong: list[Callable[[], dict[str, str | bytes]]] = [
            lambda: {},
            lambda: self._signature(str(now), hostile.body, "wrong-secret"),
            lambda: self._signature(str(now - 6 * 60), hostile.body, SLACK_SECRET),  # stale
            lambda: self._signature(str(now + 6 * 60), hostile.body, SLACK_SECRET),  # from the future
            lambda: self._signature("abc", hostile.body, SLACK_SECRET),
            lambda: self._signature("", hostile.body, SLACK_SECRET),
            lambda: self._signature(f"{now}.5", hostile.body, SLACK_SECRET),
            lambda: self._signature("9" * 5000, hostile.body, SLACK_SECRET),
            lambda: self._signature(f"+{now}", hostile.body, SLACK_SECRET),
            lambda: {"X-Slack-Request-Timestamp": "١٢٣".encode(), "X-Slack-Signature": "v0=00"},
            lambda: {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=é".encode("latin-1")},
            lambda: {"X-Slack-Request-Timestamp": str(now)},
        ]
        return {"Content-Type": hostile.content_type, **wrong[variant % len(wrong)]()}

    def _signature(self, timestamp: str, body: bytes, secret: str) -> dict[str, str | bytes]:
        """The SDK's signature; a body that is not UTF-8 (which the SDK cannot sign) gets the same
        HMAC over its raw bytes."""
        try:
            signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        except UnicodeDecodeError:
            digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
            signature = "v0=" + digest.hexdigest()
        return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature or ""}


TWILIO, SLACK = TwilioSigner(), SlackSigner()


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    signer: Signer | None  # None: public by design (nothing to sign)


ENDPOINTS = [
    Endpoint("POST", "/twilio/voice", TWILIO),
    Endpoint("POST", "/twilio/voice/gather", TWILIO),
    Endpoint("POST", "/twilio/voice/voicemail", TWILIO),
    Endpoint("POST", "/twilio/voice/recording", TWILIO),
    Endpoint("POST", "/twilio/voice/status", TWILIO),
    Endpoint("POST", "/twilio/messaging", TWILIO),
    Endpoint("POST", "/twilio/messaging/status?message=1", TWILIO),
    # Live transfer and click-to-call (issue 10): the card or callback and attempt are in the URL.
    Endpoint("POST", "/twilio/voice/transfer/wait?org=default", TWILIO),
    Endpoint("POST", "/twilio/voice/transfer/whisper?card=1&attempt=1", TWILIO),
    Endpoint("POST", "/twilio/voice/transfer/press?card=1&attempt=1", TWILIO),
    Endpoint("POST", "/twilio/voice/transfer/leg?card=1&attempt=1", TWILIO),
    Endpoint("POST", "/twilio/voice/transfer/conference", TWILIO),
    Endpoint("POST", "/twilio/voice/callback/whisper?callback=1&attempt=1", TWILIO),
    Endpoint("POST", "/twilio/voice/callback/press?callback=1&attempt=1", TWILIO),
    Endpoint("POST", "/twilio/voice/callback/dialled?callback=1&attempt=1", TWILIO),
    Endpoint("POST", "/twilio/voice/callback/leg?callback=1&attempt=1", TWILIO),
    Endpoint("POST", "/slack/events", SLACK),
    Endpoint("GET", "/healthz", None),
    Endpoint("GET", "/metrics", None),
]


def _first_of_its_platform(endpoint: Endpoint) -> Endpoint:
    return next(e for e in ENDPOINTS if e.signer is endpoint.signer)


def _over_limit(endpoint: Endpoint, hostile: Hostile) -> bool:
    limit = TWILIO_MAX_BYTES if endpoint.signer is TWILIO else MAX_BODY_BYTES
    return len(hostile.body) > limit


async def _table_counts(db: Database) -> dict[str, int]:
    return {table: await db.count(f'"{table}"') for table in SQLModel.metadata.tables}


class Probe:
    """Sends the requests, keeps /healthz asked between them, and says what went wrong."""

    def __init__(self, app: Centralita) -> None:
        self.app, self.sent = app, 0
        self.failures: list[str] = []

    async def send(self, endpoint: Endpoint, hostile: Hostile, headers: Headers) -> int:
        response = await self.app.http.request(
            endpoint.method, endpoint.path, content=hostile.body, headers=headers
        )
        self.sent += 1
        if self.sent % 25 == 0:
            await self.healthy()
        return response.status_code

    async def healthy(self) -> None:
        health = await self.app.http.get("/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok", health.text

    def check(self, ok: bool, endpoint: Endpoint, hostile: Hostile, kind: str, status: int) -> None:
        if not ok:
            self.failures.append(f"{kind} {endpoint.path} [{hostile.what}] -> {status}")


async def _deliveries_done(db: Database) -> None:
    """Every delivery the requests caused was tried (some go to Slack addresses that do not exist,
    such as a ``response_url`` on ``hooks.slack.invalid``, and wait for their retry)."""

    async def settled() -> bool:
        return all(row.status != "pending" or row.attempts > 0 for row in await db.outbox())

    await eventually(settled, timeout=15)


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


async def test_hostile_requests_to_every_endpoint(
    db: Database, slack: FakeSlack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(SEED)
    generic = _generic_bodies(rng)
    cases = [
        (e, h)
        for e in ENDPOINTS
        for h in generic + (e.signer.bodies(rng) if e.signer else [])
        if not h.one_path_each or e is _first_of_its_platform(e)
    ]
    async with Centralita(db, clock, slack.url) as app:
        probe = Probe(app)
        before = await _table_counts(db)
        for index, (endpoint, hostile) in enumerate(cases):
            if endpoint.signer is None:
                status = await probe.send(endpoint, hostile, {"Content-Type": hostile.content_type})
                answered = status == 200 or (status == 413 and _over_limit(endpoint, hostile))
                probe.check(answered, endpoint, hostile, "public", status)
                continue
            status = await probe.send(
                endpoint, hostile, endpoint.signer.unsigned(app, endpoint.path, hostile, index)
            )
            refused = status in (401, 403) or (status == 413 and _over_limit(endpoint, hostile))
            probe.check(refused, endpoint, hostile, "unsigned", status)
        assert not probe.failures, "\n".join(probe.failures)
        assert await _table_counts(db) == before, "an unsigned request stored something"
        assert [c.method for c in slack.calls if c.method != "auth.test"] == []

        for endpoint, hostile in cases:
            if endpoint.signer is not None:
                status = await probe.send(
                    endpoint, hostile, endpoint.signer.signed(app, endpoint.path, hostile)
                )
                probe.check(200 <= status < 300 or 400 <= status < 500, endpoint, hostile, "signed", status)
        await probe.healthy()
        assert not probe.failures, "\n".join(probe.failures)
        await _deliveries_done(db)
    assert not _tracebacks(caplog), "\n".join(_tracebacks(caplog))
