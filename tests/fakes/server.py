"""Serve an ASGI app over real loopback HTTP inside the running event loop."""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path
from typing import Any

import uvicorn

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10000
_RANDOM = random.SystemRandom()  # never the seeded global generator: workers would pick alike


def free_port() -> int:
    """A port nobody listens on, below the kernel's ephemeral range: a port the kernel picked (as
    ``bind(("", 0))`` does) may be taken, between this call and the server's bind, as the local port
    of some outgoing connection, which is how two tests once met on one port."""
    first_ephemeral = _first_ephemeral_port()
    if first_ephemeral - _LOWEST < 1000:  # no room below the range: let the kernel choose
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    while True:
        port = _RANDOM.randrange(_LOWEST, first_ephemeral)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _first_ephemeral_port() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class LoopbackServer:
    """``async with LoopbackServer(app) as url:`` serves ``app`` (with its lifespan) at ``url``."""

    def __init__(self, app: Any, port: int | None = None, **options: Any) -> None:
        """``options`` go to uvicorn (``ssl_certfile`` and ``ssl_keyfile`` serve https)."""
        self.port = port or free_port()
        self.scheme = "https" if options.get("ssl_certfile") else "http"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            **options,
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> str:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("server stopped before it started")
            await asyncio.sleep(0.01)
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
