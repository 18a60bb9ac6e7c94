"""Serve an ASGI app over real loopback HTTP inside the running event loop."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
