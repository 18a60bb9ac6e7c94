"""``python -m bench [--quick] [--db sqlite|postgres|both] [--out FILE]``"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.constants import RESULTS
from bench.databases import KINDS, Databases, postgres_problem
from bench.figures import figures
from bench.plan import FULL, QUICK, Plan
from bench.results import BareRun, DbRun
from bench.runner import LETTERS, Runner


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    plan = QUICK if args.quick else FULL
    kinds = KINDS if args.db == "both" else (args.db,)
    return _run(_main(plan, kinds, args.out, args.only))


def _run(main: Coroutine[Any, Any, int]) -> int:
    """On uvloop when it is there (it comes with uvicorn[standard]), like the servers."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Centralita benchmarks")
    parser.add_argument(
        "--quick", action="store_true", help="a smaller run (see bench/README.md)"
    )
    parser.add_argument("--db", choices=(*KINDS, "both"), default="both")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json", help="raw results (JSON)")
    parser.add_argument(
        "--only",
        choices=LETTERS,
        help="one figure (a letter of the table) with its baseline, and what it needs to run: "
        "a, b, c, d, f and u share the main server; f also runs (e)",
    )
    return parser


async def _main(plan: Plan, kinds: Sequence[str], out: Path, only: str | None) -> int:
    kinds = await _usable(kinds)
    if not kinds:
        return 2
    started = time.monotonic()
    log_dir = _fresh_log_dir(out.parent / "logs")
    with tempfile.TemporaryDirectory(prefix="centralita-bench-") as workdir:
        databases = Databases(Path(workdir), uuid.uuid4().hex[:8])
        bare, runs = await Runner(plan, databases, log_dir, only).run(kinds)
    return _report(plan, bare, runs, out, _meta(plan, time.monotonic() - started, log_dir), only)


def _fresh_log_dir(log_dir: Path) -> Path:
    """The servers' logs of this run only."""
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.log"):
        old.unlink()
    return log_dir


async def _usable(kinds: Sequence[str]) -> list[str]:
    if "postgres" not in kinds:
        return list(kinds)
    problem = await postgres_problem()
    if problem is None:
        return list(kinds)
    print(f"PostgreSQL is not reachable ({problem}); set CENTRALITA_BENCH_POSTGRES_URL.", file=sys.stderr)
    return [kind for kind in kinds if kind != "postgres"] if len(kinds) > 1 else []


def _report(
    plan: Plan, bare: BareRun, runs: list[DbRun], out: Path, meta: dict[str, Any], only: str | None
) -> int:
    """The table and the checks (of ``only``'s figure alone, when given); 1 if a check failed."""
    wanted = (lambda text: text.startswith(f"{only}.") or text.startswith(f"({only})")) if only else None
    by_kind = {run.kind: [f for f in figures(run, bare) if not wanted or wanted(f.key)] for run in runs}
    print()
    print(report.render(report.rows(by_kind)))
    print()
    for line in [*report.legend(by_kind), *([] if only else report.notes(runs))]:
        print(line)
    failed = 0
    for run in runs:
        for text, ok in report.checks(run, plan):
            if wanted and not wanted(text):
                continue
            failed += not ok
            print(f"check {run.kind}: {'ok  ' if ok else 'FAIL'} {text}")
    report.write_json(out, report.document(meta, bare, runs, by_kind))
    print(f"\nraw results: {out}  (server logs: {meta['logs']}; run took {meta['duration_s']:.0f} s)")
    return 1 if failed else 0


def _meta(plan: Plan, duration: float, log_dir: Path) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC).isoformat(),
        "duration_s": round(duration, 1),
        "plan": asdict(plan),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "logs": str(log_dir),
    }
