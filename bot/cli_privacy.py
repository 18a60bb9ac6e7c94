"""``centralita privacy export|erase NUMBER``: access and erasure requests, from the shell.

Exit codes: 0 done; 1 nothing is stored about the number, or the erasure was not confirmed;
2 a malformed number, or Twilio could not delete its copies (nothing changed)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from bot.app import Services, create_app
from bot.services.privacy import Erasure, PrivacyError

T = TypeVar("T")
CONFIRM_WORDS = frozenset({"yes", "sí", "si"})


@asynccontextmanager
async def _services() -> AsyncIterator[Services]:
    """The use cases without a server: the deliveries they queue (chat edits) are sent by the
    running server's worker."""
    app = create_app(api=False)
    services: Services = app.state.services
    await services.open_records()
    try:
        yield services
    finally:
        await services.close_records()
        await services.runtime.sessions.kw["bind"].dispose()


def _run(job: Callable[[Services], Awaitable[T]]) -> T:
    async def run() -> T:
        async with _services() as services:
            return await job(services)

    return asyncio.run(run())


def export(raw: str, out: str | None) -> int:
    async def job(services: Services) -> int:
        number = services.privacy.number(raw)
        data = await services.privacy.export(number)
        if data is None:
            print(f"Nothing is stored about {number}.", file=sys.stderr)
            return 1
        return _write(number, json.dumps(data, ensure_ascii=False, indent=2), out)

    return _guarded(job)


def _write(number: str, text: str, out: str | None) -> int:
    if out is None:
        print(text)
    else:
        Path(out).write_text(text + "\n", encoding="utf-8")
        print(f"{number}: written to {out}", file=sys.stderr)
    return 0


def erase(raw: str, *, dry_run: bool, yes: bool) -> int:
    async def job(services: Services) -> int:
        number = services.privacy.number(raw)
        plan = await services.privacy.erase(number, "cli", dry_run=True)
        if plan.empty:
            print(f"Nothing is stored about {number}; nothing was changed.", file=sys.stderr)
            _warn(plan)
            return 1
        print(f"{number}: {_describe(plan)}")
        _warn(plan)
        if dry_run:
            print("Dry run: nothing was changed.")
            return 0
        if not yes and not _confirmed(number):
            print("Not confirmed: nothing was changed.", file=sys.stderr)
            return 1
        done = await services.privacy.erase(number, "cli")
        print(f"{number} erased: {_describe(done)}; the chat messages are edited by the server.")
        _warn(done)
        return 0

    return _guarded(job)


def _guarded(job: Callable[[Services], Awaitable[int]]) -> int:
    try:
        return _run(job)
    except PrivacyError as error:
        print(error, file=sys.stderr)
        return 2


def _describe(erasure: Erasure) -> str:
    return ", ".join(
        f"{count} {what}" for what, count in erasure.counts().items() if what != "messages" or count
    )


def _warn(erasure: Erasure) -> None:
    for warning in erasure.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _confirmed(number: str) -> bool:
    try:
        answer = input(f"Erase everything about {number}? This cannot be undone. Type 'yes': ")
    except EOFError:
        return False
    return answer.strip().lower() in CONFIRM_WORDS
