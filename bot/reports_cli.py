"""``centralita digest``: a day's digest for a manager, printed, written as a chart, or sent."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import load_config
from bot.domain.org import StaffMember
from bot.ports import NoSignal, SystemClock
from bot.services.channels import Channels
from bot.services.digest import DigestReader
from bot.services.digest_message import DigestMessage, compose, yesterday
from bot.services.digest_sending import DigestSending
from bot.services.directory import Directory, Org
from bot.services.runtime import Runtime
from bot.settings import Settings
from bot.store.db import create_engine, create_report_engine, is_postgres, session_factory


def add_digest_command(sub: Any) -> None:
    digest = sub.add_parser(
        "digest", help="a day's digest for a manager: print it, write its chart, or send it"
    )
    digest.add_argument(
        "--date", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: yesterday)"
    )
    digest.add_argument("--to", action="append", default=None, help="staff id (default: the digest's `to`)")
    digest.add_argument("--org", default=None, help="organisation id (default: the first)")
    digest.add_argument("--dry-run", action="store_true", help="print it instead of sending it")
    digest.add_argument("--format", choices=("text", "png"), default="text")
    digest.add_argument("--out", default=None, help="write to this file instead of standard output")
    digest.add_argument("--config", default=None)
    digest.set_defaults(run=run_digest)


def run_digest(args: argparse.Namespace) -> int:
    settings = Settings()
    directory = Directory([load_config(args.config or settings.config_path)])
    org = directory.get(args.org) if args.org else directory.default
    recipients = _recipients(org, args.to)
    if isinstance(recipients, str):
        print(recipients, file=sys.stderr)
        return 2
    if args.format == "png" and not args.out:
        print("--format png needs --out FILE", file=sys.stderr)
        return 2
    if not args.dry_run and args.format == "text" and not args.out:
        return asyncio.run(_send(settings, directory, org, recipients, args.date))
    messages = asyncio.run(_compose(settings, directory, org, recipients, args.date))
    return _write(messages, args.format, args.out)


def _recipients(org: Org, wanted: list[str] | None) -> list[StaffMember] | str:
    ids = wanted or (org.config.digest.to if org.config.digest else [])
    if not ids:
        return "nobody to send the digest to: give --to STAFF_ID or set digest.to in the configuration"
    members = [org.config.staff_member(staff_id) for staff_id in ids]
    unknown = [staff_id for staff_id, member in zip(ids, members, strict=True) if member is None]
    if unknown:
        return f"not a staff id: {', '.join(unknown)}"
    return [m for m in members if m is not None]


async def _compose(
    settings: Settings, directory: Directory, org: Org, members: list[StaffMember], day: date | None
) -> list[tuple[StaffMember, DigestMessage]]:
    clock = SystemClock()
    engine = create_report_engine(settings.async_database_url)
    try:
        reader = DigestReader(session_factory(engine), directory, clock)
        the_day = day or yesterday(org, clock.now())
        return [(member, await compose(reader, org, member, the_day)) for member in members]
    finally:
        await engine.dispose()


def _write(messages: list[tuple[StaffMember, DigestMessage]], fmt: str, out: str | None) -> int:
    if fmt == "png":
        assert out is not None
        Path(out).write_bytes(asyncio.run(messages[0][1].chart_png()))
        print(f"chart written to {out}")
        return 0
    text = "\n\n".join(f"# {member.name}\n{message.plain}" for member, message in messages)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


async def _send(
    settings: Settings, directory: Directory, org: Org, members: list[StaffMember], day: date | None
) -> int:
    """Write the digest's deliveries into the outbox (a running server's worker sends them), unless
    that day's digest was sent to that manager already."""
    clock = SystemClock()
    engine = create_engine(settings.async_database_url)
    reports = create_report_engine(settings.async_database_url)
    try:
        runtime = Runtime(
            sessions=session_factory(engine),
            directory=directory,
            clock=clock,
            signal=NoSignal(),
            channels=Channels.of(["slack"] if settings.slack_enabled else []),
            postgres=is_postgres(engine),
        )
        sending = DigestSending(
            runtime, DigestReader(session_factory(reports), directory, clock), email=settings.email_enabled
        )
        the_day = day or yesterday(org, clock.now())
        for member in members:
            result = await sending.send(org, member, the_day)
            if result.sent:
                print(f"digest of {the_day} for {member.id}: queued ({', '.join(result.channels)})")
            else:
                print(f"digest of {the_day} for {member.id}: sent already, not sent again")
        return 0
    finally:
        await reports.dispose()
        await engine.dispose()
