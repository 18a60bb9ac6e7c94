"""The outage spool: what the webhooks could not write while the database was unreachable, kept in
local files until it can be replayed.

Each process appends to one file of its own, ``<ns>-<host>-<pid>.jsonl`` in the spool directory, one
JSON object per line, each line written and ``fsync``'d before the webhook is answered. The writer
holds an exclusive ``flock`` on its file for as long as it appends to it. A file is replayed by
whoever can take that lock without waiting: its writer sealed it (closed it and moved on to a new
file), or its process died, which releases the lock. A claimed file is deleted when every line has
been replayed, still under the lock; a replayer that took the lock of a file deleted in the
meantime sees that the path no longer names that file, and skips it. So two processes never replay
one file at once, and a file's lines are replayed until they all went in (the replay is idempotent
on the CallSid, so lines replayed again after a crash change nothing).

Lines a replay refuses for good (not an outage: bad data, a bug) go to ``failed.txt`` beside them.
The directory must be on a local disk (``flock`` is not reliable on network file systems).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIX = ".jsonl"
FAILED = "failed.txt"


class Spool:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._fd: int | None = None
        self._lines = 0

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry durably (written and fsync'd when this returns).

        Raises:
            OSError: the spool cannot be written (no space, no permission…).
        """
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        fd = self._fd if self._fd is not None else self._open_own()
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        except OSError:
            self.seal()  # a line cut short stays last in its file (the replay sets it aside)
            raise
        self._lines += 1

    @property
    def unsealed(self) -> int:
        """Entries appended to this process's current file since it was last sealed."""
        return self._lines

    def seal(self) -> None:
        """Stop appending to the current file (if any) and release its lock, so it can be replayed;
        the next entry starts a new file."""
        if self._fd is None:
            return
        fd, self._fd, self._lines = self._fd, None, 0
        os.close(fd)

    def close(self) -> None:
        self.seal()

    def files(self) -> list[Path]:
        try:
            return sorted(self.directory.glob(f"*{SUFFIX}"))
        except OSError:
            return []

    def waiting(self) -> int:
        """Entries in every spool file of the directory (this process's and others')."""
        total = 0
        for path in self.files():
            with contextlib.suppress(OSError):
                total += sum(1 for line in path.read_bytes().splitlines() if line.strip())
        return total

    def failed(self) -> int:
        try:
            return sum(1 for line in (self.directory / FAILED).read_bytes().splitlines() if line.strip())
        except OSError:
            return 0

    def set_aside(self, line: str, reason: str) -> None:
        """Keep a line the replay refused for good, with why, in ``failed.txt``."""
        record = json.dumps({"reason": reason, "line": line}, ensure_ascii=False) + "\n"
        fd = os.open(self.directory / FAILED, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, record.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def _open_own(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{socket.gethostname()}-{os.getpid()}{SUFFIX}"
        fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _fsync_directory(self.directory)  # the new file's name is durable too
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._lines = fd, 0
        return fd


@dataclass
class ClaimedFile:
    """A spool file whose lock this process holds."""

    path: Path
    fd: int

    @classmethod
    def take(cls, path: Path) -> ClaimedFile | None:
        """The file locked, or None when someone holds it (its writer, or another replayer) or it was
        removed since it was listed."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(path).st_ino:  # replayed and removed meanwhile
                raise FileNotFoundError(path)
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return None
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EAGAIN, errno.EACCES):
                return None
            raise
        return cls(path, fd)

    def lines(self) -> list[str]:
        with open(self.fd, encoding="utf-8", errors="replace", closefd=False) as file:
            file.seek(0)
            return [line.rstrip("\n") for line in file if line.strip()]

    def remove(self) -> None:
        """Every line went in: delete the file (still locked, so nobody else replays it)."""
        self.path.unlink(missing_ok=True)
        _fsync_directory(self.path.parent)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
