"""The Slack-side baselines: the stand-in reached straight from slack_sdk, without Centralita.

- round trip (baseline of c): one ``chat.postMessage`` at a time from the bench process, from just
  before the call to the stand-in's arrival stamp;
- blast (baseline of d): ``bench.blast`` posts as many cards as the burst, with the same
  concurrency, from its own process.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from adapters.slack.client import close_session, open_session, web_client
from bench import blast
from bench.constants import REPO, SLACK_TOKEN
from bench.scenarios.burst import CARDS_TIMEOUT, Burst
from bench.standin import StandIn

RTT_PREFIX = "rtt"


async def round_trips(standin: StandIn, blocks: list[dict[str, Any]], samples: int) -> list[float]:
    client = web_client(SLACK_TOKEN, standin.url)
    await open_session(client)
    latencies = []
    try:
        for index in range(samples):
            token = f"{RTT_PREFIX}-{index:04d}"
            watch = standin.cards(standin.mark(), RTT_PREFIX)
            started = time.perf_counter()
            await blast.post_card(client, blocks, token)
            latencies.append(watch.update()[token] - started)
    finally:
        await close_session(client)
    return latencies


async def direct_burst(
    standin: StandIn, blocks: list[dict[str, Any]], count: int, concurrency: int, workdir: Path
) -> Burst:
    blocks_file = workdir / "card-blocks.json"
    blocks_file.write_text(json.dumps(blocks), encoding="utf-8")
    args = [standin.url, str(count), str(concurrency), str(blocks_file)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.blast",
        *args,
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    await process.stdout.readline()
    result, watch = Burst(count), standin.cards(standin.mark(), blast.PREFIX)
    started = time.perf_counter()
    process.stdin.write(b"go\n")
    await process.stdin.drain()
    await standin.until(lambda: len(watch.update()) >= count, CARDS_TIMEOUT)
    await process.wait()
    arrivals = watch.update()
    result.cards, result.elapsed = len(arrivals), max(arrivals.values(), default=started) - started
    return result
