"""A server in its own process (``python -m bench.serve``): started, probed until ready, measured, stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import IO

import aiohttp
import psutil

from bench.constants import HOST, REPO
from bench.databases import DbSlot
from tests.fakes.server import free_port

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class ServerProcess:
    """``async with ServerProcess("centralita", slot, log_dir=…) as server:`` — ``server.url`` answers."""

    def __init__(
        self,
        which: str,
        slot: DbSlot | None = None,
        *,
        log_dir: Path,
        slack_url: str | None = None,
        clock: str = "office",
        spool: Path | None = None,
        config: Path | None = None,
        settings: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.which, self.slot, self.spool, self.config = which, slot, spool, config
        self.settings, self.env = settings or {}, env
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = log_dir / f"{which}-{slot.kind if slot else 'nodb'}-{self.port}.log"
        self.command = self._command(slack_url, clock)
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self.ready_at = 0.0
        self._profiler: asyncio.subprocess.Process | None = None

    def _command(self, slack_url: str | None, clock: str) -> list[str]:
        command = [sys.executable, "-m", "bench.serve", self.which, str(self.port), "--clock", clock]
        if self.slot is not None:
            command += self.slot.cli_args()
        if slack_url:
            command += ["--slack", slack_url]
        if self.spool is not None:
            command += ["--spool", str(self.spool)]
        if self.config is not None:
            command += ["--config", str(self.config)]
        for name, value in self.settings.items():
            command += ["--setting", f"{name}={value}"]
        return command

    async def __aenter__(self) -> ServerProcess:
        self._log = self.log_path.open("wb")
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            cwd=REPO,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
            env=None if self.env is None else os.environ | self.env,
        )
        try:
            await self._until_ready()
        except BaseException:
            await self.stop()
            raise
        self.ready_at = time.time()
        await self._start_profiler()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_mb(self) -> float:
        """Resident memory of the server process, in MiB."""
        return float(psutil.Process(self.pid).memory_info().rss) / 2**20

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    async def _until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.returncode is not None:
                    raise RuntimeError(f"{self.which} server exited; see {self.log_path}\n{self.log_tail()}")
                if await _healthy(session, f"{self.url}/healthz"):
                    return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.which} server not ready in {READY_TIMEOUT:.0f}s; see {self.log_path}")

    async def _start_profiler(self) -> None:
        """With ``CENTRALITA_BENCH_PROFILE=DIR`` (and py-spy on the PATH or in ``PY_SPY``), sample the
        Centralita server while it runs; the collapsed stacks land in DIR when it stops."""
        folder = os.environ.get("CENTRALITA_BENCH_PROFILE")
        spy = os.environ.get("PY_SPY") or shutil.which("py-spy")
        if not folder or not spy or self.which != "centralita":
            return
        os.makedirs(folder, exist_ok=True)
        out = Path(folder) / f"{self.log_path.stem}.txt"
        self._profiler = await asyncio.create_subprocess_exec(
            spy,
            "record",
            "--pid",
            str(self.pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "-o",
            str(out),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def stop(self) -> None:
        if self._profiler is not None and self._profiler.returncode is None:
            self._profiler.send_signal(signal.SIGINT)
            await asyncio.wait_for(self._profiler.wait(), STOP_TIMEOUT)
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


async def _healthy(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False
