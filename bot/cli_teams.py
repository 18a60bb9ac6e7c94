"""``centralita teams …``: list where the Teams app is installed, and build its installable zip."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from adapters.teams.package import PackageError, write_package
from bot.settings import Settings
from bot.store.db import create_engine, session_factory
from bot.store.migrate import upgrade_async
from bot.store.models import ChannelConversation


def add_teams_commands(sub: Any) -> None:
    teams = sub.add_parser("teams", help="Microsoft Teams").add_subparsers(required=True, metavar="ACTION")
    teams.add_parser(
        "channels", help="the Teams conversations the app is in (ids for teams_channel)"
    ).set_defaults(run=_channels)
    package = teams.add_parser("package", help="write the Teams app zip to upload")
    package.add_argument("--app-id", required=True, help="the Azure Bot's Microsoft App ID (a GUID)")
    package.add_argument("--domain", required=True, help="the host of CENTRALITA_PUBLIC_URL")
    package.add_argument("--version", default="1.0.0", help="the app version (raise it on every upload)")
    package.add_argument("--out", default="centralita-teams.zip")
    package.set_defaults(run=_package)


def _package(args: argparse.Namespace) -> int:
    try:
        written = write_package(Path(args.out), args.app_id, args.domain, args.version)
    except PackageError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"{written}: upload it in Teams (Apps → Manage your apps → Upload an app)")
    return 0


def _channels(_: argparse.Namespace) -> int:
    rows = asyncio.run(_stored(Settings().async_database_url))
    if not rows:
        print("The app is in no Teams conversation yet: add it to a team (or chat with it), then run again.")
        return 0
    print(f"{'CONVERSATION ID':<52} {'KIND':<9} {'TEAM':<24} NAME")
    for row in rows:
        name = row.name or (row.user_ref and f"(1:1 with {row.user_ref})") or ""
        print(f"{row.conversation_id:<52} {row.kind:<9} {row.team_name or '':<24} {name}")
    print("\nPut a channel's id in teams[].teams_channel of centralita.yaml.")
    return 0


async def _stored(url: str) -> list[ChannelConversation]:
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            statement = (
                select(ChannelConversation)
                .where(ChannelConversation.channel == "teams")
                .order_by(
                    col(ChannelConversation.team_name),
                    col(ChannelConversation.kind),
                    col(ChannelConversation.name),
                )
            )
            return list((await session.exec(statement)).all())
    finally:
        await engine.dispose()
