"""The load generator: prepared requests sent over keep-alive aiohttp connections, N in flight."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.stats import Summary, samples_ms

TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass(frozen=True)
class Prepared:
    """A request ready to send: signed beforehand, so signing costs nothing in the timed part."""

    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0
    server_cpu: float = 0.0
    """Seconds of CPU the server used meanwhile, when measured."""

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def add(self, other: LoadResult) -> None:
        """Pool another round into this one (rates are then over the summed elapsed time)."""
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.elapsed += other.elapsed
        self.server_cpu += other.server_cpu

    def summary(self) -> Summary:
        return Summary.of_seconds(self.latencies)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": len(self.latencies),
            "elapsed_s": round(self.elapsed, 4),
            "rate_per_s": round(self.rate, 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_cpu_ms_per_request": round(self.server_cpu / len(self.latencies) * 1000, 3)
            if self.latencies
            else None,
            "latency_ms": self.summary().as_dict(),
            "samples_ms": samples_ms(self.latencies),
        }


def session(base_url: str, concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency)
    return aiohttp.ClientSession(base_url, connector=connector, timeout=TIMEOUT)


async def send(client: aiohttp.ClientSession, request: Prepared) -> tuple[int, float]:
    """Send one request; its status and how long it took (seconds)."""
    started = time.perf_counter()
    async with client.post(request.path, data=request.body, headers=request.headers) as response:
        await response.read()
        return response.status, time.perf_counter() - started


async def closed_loop(base_url: str, requests: Iterable[Prepared], concurrency: int) -> LoadResult:
    """``concurrency`` workers, each sending its next request as soon as the previous one answered."""
    result, queue = LoadResult(), iter(list(requests))
    async with session(base_url, concurrency) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_worker(client, queue, result) for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - started
    return result


async def _worker(client: aiohttp.ClientSession, queue: Iterator[Prepared], result: LoadResult) -> None:
    for request in queue:
        status, seconds = await send(client, request)
        result.statuses[status] += 1
        result.latencies.append(seconds)


async def sequential(base_url: str, requests: Iterable[Prepared]) -> LoadResult:
    return await closed_loop(base_url, requests, 1)
