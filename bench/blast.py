"""``python -m bench.blast URL COUNT CONCURRENCY BLOCKS_FILE``: the baseline of figure (d).

Posts COUNT cards straight to the Slack stand-in with slack_sdk's AsyncWebClient, configured as
``bot.app`` configures it, CONCURRENCY at a time, from its own process like the server would. It
prints ``ready`` after a short warm-up and starts when a line arrives on stdin.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import close_session, open_session, web_client
from bench.constants import CARD_CHANNEL, SLACK_TOKEN

PREFIX = "blast"
WARMUP = 3


async def post_card(client: AsyncWebClient, blocks: list[dict[str, Any]], token: str) -> None:
    await client.chat_postMessage(
        channel=CARD_CHANNEL, text=f"Nueva llamada (ref {token})", blocks=blocks, unfurl_links=False
    )


async def blast(url: str, count: int, concurrency: int, blocks: list[dict[str, Any]]) -> None:
    client = web_client(SLACK_TOKEN, url)  # as bot.app builds it, with its keep-alive session
    await open_session(client)
    for index in range(WARMUP):
        await post_card(client, blocks, f"warm-{index:04d}")
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with gate:
            await post_card(client, blocks, f"{PREFIX}-{index:04d}")

    await asyncio.gather(*(one(index) for index in range(count)))
    await close_session(client)


def main(argv: Sequence[str] | None = None) -> int:
    url, count, concurrency, blocks_file = argv or sys.argv[1:]
    blocks = json.loads(Path(blocks_file).read_text(encoding="utf-8"))
    asyncio.run(blast(url, int(count), int(concurrency), blocks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
