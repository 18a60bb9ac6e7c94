"""``centralita``: serve, worker, init, config check, doctor, db upgrade, deliveries, triage, simulate,
privacy."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from bot.calibrate_cli import add_calibrate_command
from bot.cli_teams import add_teams_commands
from bot.config import ConfigError, check_references
from bot.config_set import load_configs, load_org_files
from bot.domain.hours import BusinessCalendar
from bot.domain.org import OrgConfig
from bot.domain.triage import TriageDecision, triage
from bot.errors import UserError
from bot.i18n import t
from bot.reports_cli import add_digest_command
from bot.settings import Settings
from bot.store.migrate import upgrade
from bot.store.probe import database_problem
from cards.build import category_label, priority_label


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _setup_logging(_log_level())
        return int(args.run(args) or 0)
    except (ConfigError, UserError) as error:
        print(error, file=sys.stderr)
        return 2
    except ValidationError as error:
        print(_settings_problem(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a user should see one line; a developer asks for the traceback
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            raise
        print(f"centralita: {type(error).__name__}: {error}", file=sys.stderr)
        print("  (CENTRALITA_LOG_LEVEL=DEBUG shows the details)", file=sys.stderr)
        return 1


def _log_level() -> str:
    """The level from the settings; the default when they are wrong (the command says why)."""
    try:
        return Settings().log_level
    except ValidationError:
        return "INFO"


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
        reason = detail["msg"].removeprefix("Value error, ")
        name = ".".join(str(p) for p in detail["loc"])
        lines.append(f"  {name}: {reason}" if name else f"  {reason}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="centralita", description="Centralita reception hub")
    parser.add_argument("--version", action="version", version=f"centralita {_version()}")
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
    check.add_argument("--strict", action="store_true", help="fail (exit 1) when there are warnings")
    check.set_defaults(run=_config_check)
    org_parser = sub.add_parser("org", help="the organisations served")
    org = org_parser.add_subparsers(required=True, metavar="ACTION")
    org.add_parser("list", help="one line per organisation of CENTRALITA_CONFIG").set_defaults(run=_org_list)
    org_check = org.add_parser("check", help="validate every organisation file of CENTRALITA_CONFIG")
    org_check.add_argument("--strict", action="store_true", help="fail (exit 1) when there are warnings")
    org_check.set_defaults(run=_config_check, file=None)
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
    call.add_argument(
        "--at",
        default=None,
        help='play it as if at this local time ("2026-12-02 10:00"), on a throwaway server',
    )
    call.set_defaults(run=_simulate_call)
    add_digest_command(sub)
    add_calibrate_command(sub)
    add_teams_commands(sub)
    _deliveries_parser(sub)
    _init_parser(sub)
    doctor = sub.add_parser("doctor", help="check settings, config, database, Slack, Twilio, the public URL")
    doctor.add_argument("--send-test-card", metavar="TEAM", help="also post a test message in TEAM's channel")
    doctor.set_defaults(run=_doctor)
    _privacy_parser(sub)
    return parser


def _doctor(args: argparse.Namespace) -> int:
    from bot.commands import doctor

    try:
        settings = Settings()
    except ValidationError as error:
        print(f"✗ settings: {_settings_problem(error)}")
        return 1

    async def run() -> int:
        failed = 0
        async for check in doctor.checks(settings, args.send_test_card):
            print(check, flush=True)
            failed += not check.ok
        return failed

    failed = asyncio.run(run())
    print(f"\n{failed} problems found" if failed else "\neverything checked is fine")
    return 1 if failed else 0


def _init_parser(sub: Any) -> None:
    init = sub.add_parser("init", help="write a commented centralita.yaml and .env for a new organisation")
    init.add_argument("dir", nargs="?", default=".")
    init.add_argument("--name")
    init.add_argument("--timezone")
    init.add_argument("--locale", choices=("es", "en"))
    init.add_argument("--number", dest="numbers", action="append", help="a Twilio number (+34…); repeatable")
    init.add_argument("--force", action="store_true", help="overwrite files that are there")
    init.set_defaults(run=_init)


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.commands import init

    values = {"name": args.name, "timezone": args.timezone, "locale": args.locale, "numbers": args.numbers}
    if not sys.stdin.isatty():
        values = {
            "timezone": "Europe/Madrid",
            "locale": "es",
            "numbers": [],
            **{k: v for k, v in values.items() if v},
        }
    written = init.write(Path(args.dir), init.ask(values), force=args.force)
    for path in written:
        print(f"wrote {path}")
    print(f"next: centralita config check {written[0]}  (then fill in the Slack ids; see the README)")
    return 0


def _deliveries_parser(sub: Any) -> None:
    deliveries = sub.add_parser("deliveries", help="the outbox: what was not sent").add_subparsers(
        required=True, metavar="ACTION"
    )
    listing = deliveries.add_parser("list", help="deliveries not sent yet (pending and dead)")
    listing.add_argument("--dead", action="store_true", help="only those given up")
    listing.set_defaults(run=_deliveries_list)
    retry = deliveries.add_parser("retry", help="queue dead deliveries again once their cause is fixed")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", type=int, default=[], metavar="ID")
    which.add_argument("--all-dead", action="store_true")
    retry.set_defaults(run=_deliveries_retry)


def _outbox() -> Any:
    from bot.commands.deliveries import Database

    return Database(Settings().async_database_url)


def _deliveries_list(args: argparse.Namespace) -> int:
    from bot.commands import deliveries

    rows = asyncio.run(deliveries.unsent(_outbox(), dead_only=args.dead))
    print(deliveries.table(rows) if rows else "nothing to show: every delivery was sent")
    return 0


def _deliveries_retry(args: argparse.Namespace) -> int:
    from bot.commands import deliveries

    if not args.all_dead and not args.ids:
        raise UserError("say which deliveries: `deliveries retry ID [ID …]` or `deliveries retry --all-dead`")
    queued = asyncio.run(deliveries.retry(_outbox(), None if args.all_dead else args.ids))
    if not queued:
        print("nothing queued: no dead delivery matches (see `centralita deliveries list --dead`)")
        return 1
    print(f"queued again: {', '.join(map(str, queued))} (the delivery worker sends them at its next round)")
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("centralita")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


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

    from bot.app import create_app, preflight

    settings = Settings()
    slack_auth = asyncio.run(preflight(settings))
    address = f"http://{args.host}:{args.port}"
    app = create_app(settings, tune_gc=True, slack_auth=slack_auth, address=address, reload_on_hangup=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=True)
    return 0


def _worker(_: argparse.Namespace) -> int:
    from bot.app import create_app, preflight

    settings = Settings()
    slack_auth = asyncio.run(preflight(settings))
    app = create_app(settings, api=False, tune_gc=True, slack_auth=slack_auth, reload_on_hangup=True)

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
    """One organisation file, or a directory of them (each checked, then the set: no shared id,
    number, Slack workspace or Teams channel)."""
    path = args.file or Settings().config_path
    failed = False
    for found in load_org_files(path):
        config = found.config
        where = "" if found.path == Path(path) else f"{found.path.name}: "
        warnings = check_references(config)
        for warning in warnings:
            print(f"warning: {where}{warning}")
        counts = f"{len(config.staff)} staff, {len(config.teams)} teams, {len(config.triage)} rules"
        if args.strict and warnings:
            problem = f"{len(warnings)} warnings, which --strict counts as errors ({counts})"
            print(f"{found.path}: {problem}", file=sys.stderr)
            failed = True
        else:
            print(f"{found.path}: OK ({counts})")
    return 1 if failed else 0


def _org_list(_: argparse.Namespace) -> int:
    """The organisations this deployment serves (CENTRALITA_CONFIG), one line each."""
    for found in load_org_files(Settings().config_path):
        org = found.config.organization
        numbers = ", ".join(org.phone_numbers) or "-"
        slack, teams = org.slack_team_id or "shared", org.teams_tenant_id or "shared"
        print(f"{org.id}\t{org.name}\tnumbers: {numbers}\tslack: {slack}\tteams: {teams}\t{found.path.name}")
    return 0


def _db_upgrade(_: argparse.Namespace) -> int:
    settings = Settings()
    problem = asyncio.run(database_problem(settings.async_database_url))
    if problem is not None:
        raise UserError(f"{problem}\n  Is the database running? Check DATABASE_URL.")
    upgrade(settings.async_database_url)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"database at head: {shown}")
    return 0


def _triage_test(args: argparse.Namespace) -> int:
    config = load_configs(args.config or Settings().config_path)[0]
    at = local_time(args.at, config.organization.timezone) if args.at else datetime.now(UTC)
    calendar = BusinessCalendar.from_config(config.organization)
    decision = triage(config, calendar, caller_number=args.caller, text=args.text, at=at)
    print(explain(config, decision))
    return 0


def local_time(text: str, timezone: str) -> datetime:
    """``--at``: ``2026-12-02 10:00`` (or with a ``T``, seconds, an offset), or ``10:00`` for today,
    in the organisation's time zone unless an offset is given.

    Raises:
        UserError: the text is not one of those forms.
    """
    zone = ZoneInfo(timezone)
    try:
        if len(text.strip()) <= 5 and ":" in text:
            clock = datetime.strptime(text.strip(), "%H:%M").time()
            return datetime.combine(datetime.now(zone).date(), clock, tzinfo=zone)
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f'--at \'{text}\' is not a date and time; write it like "2026-12-02 10:00" or "10:00" (today)'
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


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
    from bot.commands import simulate

    settings = Settings()
    config = load_configs(settings.config_path)[0]
    to = args.to or (config.organization.phone_numbers or ["+34910000000"])[0]
    if args.at:
        at = local_time(args.at, config.organization.timezone)
        asyncio.run(simulate.at_time(settings, at, args.caller, to, args.say, config.locale))
    else:
        asyncio.run(simulate.against_server(settings, args.url, args.caller, to, args.say, config.locale))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
