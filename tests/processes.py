"""Real ``centralita serve`` / ``centralita worker`` processes for the process-level tests: each in
its own OS process, on a real port, on a schema of the real PostgreSQL, talking to the Slack
stand-in over loopback. Requests reach them signed the way Twilio and Slack sign them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

from tests.fakes.server import free_port
from tests.support import FIXTURES, SLACK_SECRET, TWILIO_TOKEN, Database, block_actions, button, eventually

READY_LINE = b"Centralita ready"
"""What bot.app logs once the database is migrated and every job runs (serve and worker alike)."""


def psycopg_url(db: Database, port: int | None = None) -> str:
    """The schema's URL for another process: psycopg, whose URL carries the schema as ``options``;
    ``port`` to go through a proxy instead of straight to the server."""
    schema = db.connect_args["server_settings"]["search_path"]
    return f"postgresql+psycopg://root@127.0.0.1:{port or 5432}/test?options=-csearch_path%3D{schema}"


class CentralitaProcess:
    """One ``centralita serve`` (or ``worker``) process. ``start`` may be called again after
    ``kill`` or ``stop``: the same port, spool and settings, as a supervisor restarts a replica."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        command: str = "serve",
        spool: Path | None = None,
        slack_url: str | None = None,
        config: Path = FIXTURES / "clinic.yaml",
        **env: str,
    ) -> None:
        self.command = command
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.spool = spool or workdir / f"spool-{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CENTRALITA_CONFIG": str(config),
            "CENTRALITA_PUBLIC_URL": self.url,
            "CENTRALITA_SPOOL_DIR": str(self.spool),
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        }
        for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
            self.env.pop(name, None)
        if slack_url:
            self.env |= {
                "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_SIGNING_SECRET": SLACK_SECRET,
                "SLACK_API_URL": slack_url,
            }
        self.env |= env
        self.log = workdir / f"{command}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_start = 0
        self.twilio = RequestValidator(TWILIO_TOKEN)
        self.slack = SignatureVerifier(SLACK_SECRET)

    def _spawn(self) -> None:
        command = [str(Path(sys.executable).parent / "centralita"), self.command]
        if self.command == "serve":
            command += ["--port", str(self.port)]
        self._log_start = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.log.parent, env=self.env, stdout=log, stderr=log
            )

    async def start(self, http: httpx.AsyncClient, *, until: str = "ready") -> None:
        """Spawn the process and wait until it says it is ready (``until="healthy"``: until its
        /healthz answers 200, which a server cut off from its database never does)."""
        self._spawn()

        async def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"centralita {self.command} exited:\n{self.output()}")
            if until == "ready" and READY_LINE not in self.output().encode():
                return False
            if self.command != "serve":
                return True
            try:  # the lifespan logs "ready" just before uvicorn binds the port
                status = (await http.get(f"{self.url}/healthz")).status_code
            except httpx.TransportError:
                return False
            return until == "ready" or status == 200

        await eventually(ready, timeout=60, interval=0.1)

    def output(self) -> str:
        """What the process wrote since it was last started."""
        if not self.log.exists():
            return ""
        with self.log.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """``kill -9``: no shutdown of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, as a supervisor stops a replica: in-flight requests finish, the jobs stop."""
        if self.running:
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    # Requests as the platforms send them ------------------------------------------------------
    async def post(self, http: httpx.AsyncClient, path: str, params: dict[str, str]) -> httpx.Response:
        """A Twilio webhook, signed for this replica's public URL."""
        signature = self.twilio.compute_signature(self.url + path, params)
        return await http.post(self.url + path, data=params, headers={"X-Twilio-Signature": signature})

    async def slack_post(self, http: httpx.AsyncClient, body: str) -> httpx.Response:
        ts = str(int(time.time()))
        headers = {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": self.slack.generate_signature(timestamp=ts, body=body),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return await http.post(self.url + "/slack/events", content=body, headers=headers)

    async def claim(self, http: httpx.AsyncClient, card_id: int, user: str) -> httpx.Response:
        payload: dict[str, Any] = block_actions(button("claim", card_id), user, "C0RECEP")
        return await self.slack_post(http, urlencode({"payload": json.dumps(payload)}))


def stop_all(*processes: CentralitaProcess) -> None:
    for process in processes:
        process.stop()
