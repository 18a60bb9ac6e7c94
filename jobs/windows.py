"""The heartbeat's job of issue 13: WhatsApp cards whose 24-hour window closed are rendered again."""

from __future__ import annotations

from bot.services.windows import ReplyWindows
from jobs.failures import QuietFailures

_windows = QuietFailures("reply window sweep")


async def run_window_sweep(windows: ReplyWindows) -> None:
    with _windows:  # the next beat tries again; the due times are on the rows
        await windows.sweep()
