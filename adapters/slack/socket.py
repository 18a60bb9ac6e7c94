"""Socket Mode: Slack's clicks, modals and ``/recado`` over a WebSocket that Centralita opens, for
trying it with real Slack without a public URL (``SLACK_APP_TOKEN``, ``xapp-…``). Bolt's own
handler; the listeners are the same as over HTTP."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp


class SocketMode:
    def __init__(self, bolt: AsyncApp, app_token: str) -> None:
        self.handler = AsyncSocketModeHandler(bolt, app_token)

    async def start(self) -> None:
        """Opens the connection (``apps.connections.open``, then the WebSocket); it reconnects by
        itself when Slack drops it."""
        await self.handler.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        await self.handler.close_async()  # type: ignore[no-untyped-call]
