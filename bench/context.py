"""What a figure that starts its own servers gets from the runner."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.databases import Databases
from bench.plan import Plan


@dataclass(frozen=True)
class Context:
    plan: Plan
    databases: Databases
    log_dir: Path

    @property
    def workdir(self) -> Path:
        return self.databases.workdir
