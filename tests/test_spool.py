"""The spool's files: who may replay one, and when (the outage itself is in test_outage.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.store.spool import ClaimedFile, Spool

WRITE_AND_DIE = """
import os, sys
from bot.store.spool import Spool
Spool(sys.argv[1]).append({"kind": "start", "sid": "CA1"})
os._exit(9)  # no cleanup, as with kill -9: the file stays, its lock goes with the process
"""


def test_a_file_is_claimed_by_one_replayer_only_once_its_writer_let_it_go(tmp_path: Path) -> None:
    writer = Spool(tmp_path)
    writer.append({"kind": "start", "sid": "CA1"})
    [path] = writer.files()
    assert ClaimedFile.take(path) is None, "the writer still appends to it"

    writer.seal()
    first = ClaimedFile.take(path)
    assert first is not None and [json.loads(line)["sid"] for line in first.lines()] == ["CA1"]
    assert ClaimedFile.take(path) is None, "another replayer holds it"
    first.remove()
    first.release()
    assert ClaimedFile.take(path) is None and writer.files() == []

    writer.append({"kind": "start", "sid": "CA2"})
    [second] = writer.files()
    assert second != path, "a sealed writer starts a new file"


def test_the_file_of_a_process_that_died_can_be_claimed(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parent.parent
    died = subprocess.run([sys.executable, "-c", WRITE_AND_DIE, str(tmp_path)], cwd=repo, check=False)
    assert died.returncode == 9
    [path] = Spool(tmp_path).files()
    claimed = ClaimedFile.take(path)
    assert claimed is not None and len(claimed.lines()) == 1
    claimed.release()
    assert Spool(tmp_path).waiting() == 1
