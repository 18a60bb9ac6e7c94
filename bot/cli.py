"""``centralita``: serve, worker, config check, db upgrade, triage test, simulate call, privacy."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from bot.config import ConfigError, check_references, load_config
from bot.domain.hours import BusinessCalendar
from bot.domain.org import OrgConfig
from bot.domain.triage import TriageDecision, triage
from bot.i18n import t
from bot.settings import Settings
from bot.store.migrate import upgrade
from cards.build import category_label, priority_label


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _setup_logging(Settings().log_level)
        return int(args.run(args) or 0)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except ValidationError as error:
        print(_settings_problem(error), file=sys.stderr)
        return 2


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("apscheduler", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _settings_problem(error: ValidationError) -> str:
    """Environment variables that are wrong, one per line, by their names."""
    lines = ["The environment is not valid:"]
    for detail in error.errors():
        name = ".".join(str(p) for p in detail["loc"]) or "(settings)"
        lines.append(f"  {name}: {detail['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="centralita", description="Centralita reception hub")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="API, scheduler and delivery worker in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)
    sub.add_parser("worker", help="scheduler and delivery only (beside API replicas)").set_defaults(
        run=_worker
    )
    config = sub.add_parser("config", help="configuration").add_subparsers(required=True, metavar="ACTION")
    check = config.add_parser("check", help="validate a configuration file")
    check.add_argument("file", nargs="?")
    check.set_defaults(run=_config_check)
    db = sub.add_parser("db", help="database").add_subparsers(required=True, metavar="ACTION")
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(run=_db_upgrade)
    tri = sub.add_parser("triage", help="triage rules").add_subparsers(required=True, metavar="ACTION")
    test = tri.add_parser("test", help="explain which rule a sample matches")
    test.add_argument("text", nargs="?", default="")
    test.add_argument("--from", dest="caller", default=None)
    test.add_argument("--at", default=None, help="ISO time (default: now)")
    test.add_argument("--config", default=None)
    test.set_defaults(run=_triage_test)
    sim = sub.add_parser("simulate", help="play a call against a running server").add_subparsers(
        required=True, metavar="WHAT"
    )
    call = sim.add_parser("call", help="a whole call, with signed Twilio requests")
    call.add_argument("--from", dest="caller", required=True)
    call.add_argument("--say", default="")
    call.add_argument("--to", default=None, help="the called number (default: the organisation's first)")
    call.add_argument("--url", default="http://127.0.0.1:8000")
    call.set_defaults(run=_simulate_call)
    _privacy_parser(sub)
    return parser


def _privacy_parser(sub: Any) -> None:
    privacy = sub.add_parser("privacy", help="access and erasure requests (RGPD)").add_subparsers(
        required=True, metavar="ACTION"
    )
    export = privacy.add_parser("export", help="everything stored about a phone number, as JSON")
    export.add_argument("number")
    export.add_argument("--out", default=None, help="write to FILE (default: standard output)")
    export.set_defaults(run=_privacy_export)
    erase = privacy.add_parser("erase", help="erase a phone number everywhere (database, Twilio, chat)")
    erase.add_argument("number")
    erase.add_argument("--dry-run", action="store_true", help="only say what would be erased")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(run=_privacy_erase)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.app import create_app

    app = create_app(tune_gc=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=True)
    return 0


def _worker(_: argparse.Namespace) -> int:
    from bot.app import create_app

    app = create_app(api=False, tune_gc=True)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await asyncio.Event().wait()

    asyncio.run(run())
    return 0


def _privacy_export(args: argparse.Namespace) -> int:
    from bot.cli_privacy import export

    return export(args.number, args.out)


def _privacy_erase(args: argparse.Namespace) -> int:
    from bot.cli_privacy import erase

    return erase(args.number, dry_run=args.dry_run, yes=args.yes)


def _config_check(args: argparse.Namespace) -> int:
    path = args.file or Settings().config_path
    config = load_config(path)
    warnings = check_references(config)
    for warning in warnings:
        print(f"warning: {warning}")
    print(f"{path}: OK ({len(config.staff)} staff, {len(config.teams)} teams, {len(config.triage)} rules)")
    return 0


def _db_upgrade(_: argparse.Namespace) -> int:
    settings = Settings()
    upgrade(settings.async_database_url)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"database at head: {shown}")
    return 0


def _triage_test(args: argparse.Namespace) -> int:
    config = load_config(args.config or Settings().config_path)
    at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
    if at.tzinfo is None:
        from zoneinfo import ZoneInfo

        at = at.replace(tzinfo=ZoneInfo(config.organization.timezone))
    calendar = BusinessCalendar.from_config(config.organization)
    decision = triage(config, calendar, caller_number=args.caller, text=args.text, at=at)
    print(explain(config, decision))
    return 0


def explain(config: OrgConfig, decision: TriageDecision) -> str:
    """The decision and why, in the organisation's language."""
    loc = config.locale
    reasons = (
        [t(loc, "triage.no_rule")]
        if decision.rule_index is None
        else [t(loc, "triage.rule", index=decision.rule_index + 1, category=decision.category)]
    )
    if decision.matched_keyword:
        reasons.append(t(loc, "triage.keyword", keyword=decision.matched_keyword))
    if decision.matched_tag:
        reasons.append(t(loc, "triage.tag", tag=decision.matched_tag))
    if decision.route_fallback:
        reasons.append(t(loc, "triage.fallback"))
    return t(
        loc,
        "triage.summary",
        category=f"{category_label(loc, decision.category)} ({decision.category})",
        priority=f"{priority_label(loc, decision.priority)} ({decision.priority})",
        route=_route_text(config, decision),
        transfer=t(loc, "yes" if decision.transfer_allowed else "no"),
        in_hours=t(loc, "yes" if decision.in_hours else "no"),
        action=t(loc, f"triage.action.{decision.action}"),
        reason="; ".join(reasons),
    )


def _route_text(config: OrgConfig, decision: TriageDecision) -> str:
    loc = config.locale
    if decision.route_kind == "person":
        member = config.staff_member(decision.route_id)
        return t(loc, "triage.route.person", name=member.name if member else decision.route_id)
    if decision.route_kind == "team":
        team = config.team(decision.route_id)
        return t(loc, "triage.route.team", name=team.name if team else decision.route_id)
    return t(loc, "triage.route.none")


def _simulate_call(args: argparse.Namespace) -> int:
    settings = Settings()
    if settings.twilio_auth_token is None:
        print("Set TWILIO_AUTH_TOKEN to the server's token (make run uses local-dev-token).", file=sys.stderr)
        return 2
    to = args.to or (load_config(settings.config_path).organization.phone_numbers or ["+34910000000"])[0]
    caller = TwilioCaller(args.url, settings.public_url, settings.twilio_auth_token.get_secret_value())
    return asyncio.run(caller.play(args.caller, to, args.say))


class TwilioCaller:
    """Plays Twilio's side of one call: the incoming webhook, the speech result, the status callback."""

    def __init__(self, url: str, public_url: str, token: str) -> None:
        self.url, self.public_url = url.rstrip("/"), public_url.rstrip("/")
        self.validator = RequestValidator(token)

    async def play(self, caller: str, to: str, say: str) -> int:
        sid = "CA" + uuid.uuid4().hex
        base = {
            "CallSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": caller,
            "To": to,
            "Direction": "inbound",
        }
        async with httpx.AsyncClient(timeout=15) as client:
            answer = await self._post(client, "/twilio/voice", {**base, "CallStatus": "ringing"})
            if "<Gather" in answer and say:
                await self._post(
                    client,
                    "/twilio/voice/gather",
                    {**base, "CallStatus": "in-progress", "SpeechResult": say, "Confidence": "0.9"},
                )
            elif "<Record" in answer and say:
                await self._post(client, "/twilio/voice/voicemail", {**base, **_fake_recording(sid)})
            await self._post(
                client, "/twilio/voice/status", {**base, "CallStatus": "completed", "CallDuration": "20"}
            )
        print(f"call {sid} played; the card is in the server's channel (Slack, or the console log).")
        return 0

    async def _post(self, client: httpx.AsyncClient, path: str, params: dict[str, str]) -> str:
        signature = self.validator.compute_signature(self.public_url + path, params)
        response = await client.post(self.url + path, data=params, headers={"X-Twilio-Signature": signature})
        print(f"POST {path} → {response.status_code}\n{response.text}")
        response.raise_for_status()
        return response.text


def _fake_recording(sid: str) -> dict[str, str]:
    """What Twilio reports when a caller leaves a voicemail (the simulation has no audio)."""
    recording = "RE" + sid[2:]
    url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{recording}"
    return {
        "CallStatus": "in-progress",
        "RecordingUrl": url,
        "RecordingSid": recording,
        "RecordingDuration": "12",
    }


if __name__ == "__main__":
    raise SystemExit(main())
