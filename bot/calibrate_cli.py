"""``centralita calibrate``: past calls replayed through the rules, and how they would be routed."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.config import load_config
from bot.domain.calibration import (
    CalibrationRow,
    HeaderError,
    Replayed,
    Replayer,
    Routing,
    RowProblem,
    Summary,
    read_rows,
)
from bot.domain.org import OrgConfig
from bot.domain.phones import org_region
from bot.i18n import t
from bot.ports import SystemClock
from bot.services.calibration import recorded_calls
from bot.settings import Settings
from bot.store.db import create_report_engine, session_factory

BAR_WIDTH = 30


def add_calibrate_command(sub: Any) -> None:
    calibrate = sub.add_parser(
        "calibrate", help="replay past calls through the rules and show how they are routed"
    )
    calibrate.add_argument("file", nargs="?", help="CSV with the header number,text,time[,expected]")
    calibrate.add_argument("--rules", default=None, help="another configuration file, to compare its rules")
    calibrate.add_argument("--export", default=None, help="write every decision to this CSV file")
    calibrate.add_argument("--from-db", action="store_true", help="replay the organisation's recorded calls")
    calibrate.add_argument(
        "--days", type=int, default=30, help="with --from-db: how many days back (default 30)"
    )
    calibrate.add_argument("--config", default=None)
    calibrate.set_defaults(run=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    settings = Settings()
    config = load_config(args.config or settings.config_path)
    proposed = load_config(args.rules) if args.rules else None
    if bool(args.file) == bool(args.from_db):
        print("give either a CSV file or --from-db", file=sys.stderr)
        return 2
    try:
        items = list(
            _csv_rows(Path(args.file), config) if args.file else _db_rows(settings, config, args.days)
        )
    except HeaderError as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{args.file}: {error.strerror or error}", file=sys.stderr)
        return 2
    summary, replayed = replay(items, Replayer(config, proposed), config.locale, sys.stderr)
    print(report(summary, config.locale, args.rules, "card" if args.from_db else "line"))
    if args.export:
        export(Path(args.export), replayed)
        print(t(config.locale, "calibrate.exported", file=args.export))
    return 0


def _csv_rows(path: Path, config: OrgConfig) -> Iterator[CalibrationRow | RowProblem]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        lines = file.readlines()
    yield from read_rows(lines, ZoneInfo(config.organization.timezone), org_region(config.organization))


def _db_rows(settings: Settings, config: OrgConfig, days: int) -> list[CalibrationRow]:
    async def load() -> list[CalibrationRow]:
        engine = create_report_engine(settings.async_database_url)
        try:
            since = SystemClock().now() - timedelta(days=days)
            return await recorded_calls(session_factory(engine), config, since)
        finally:
            await engine.dispose()

    return asyncio.run(load())


def replay(
    items: list[CalibrationRow | RowProblem], replayer: Replayer, locale: str, progress: TextIO
) -> tuple[Summary, list[Replayed]]:
    """Every row decided (a progress bar on ``progress``); problems reported there and skipped."""
    summary, replayed = Summary.empty(), []
    step = max(1, len(items) // 50)
    for done, item in enumerate(items, start=1):
        if isinstance(item, RowProblem):
            print(t(locale, "calibrate.problem", line=item.line, reason=item.reason), file=progress)
        else:
            result = replayer.replay(item)
            summary.add(result)
            replayed.append(result)
        if done % step == 0 or done == len(items):
            filled = BAR_WIDTH * done // len(items)
            print(
                f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{len(items)}", end="", file=progress
            )
    print(file=progress)
    return summary, replayed


def report(summary: Summary, locale: str, rules: str | None, unit: str) -> str:
    parts = [t(locale, "calibrate.routing", rows=summary.rows), _table(_routing_rows(summary.table, locale))]
    if rules:
        parts += ["", t(locale, "calibrate.side_by_side", file=rules), _table(_side_by_side(summary, locale))]
        parts += ["", t(locale, "calibrate.changed", count=len(summary.changed))]
        parts += [_changed_line(r, locale, unit) for r in summary.changed]
    if summary.confusion:
        parts += ["", t(locale, "calibrate.confusion"), _table(_confusion_rows(summary, locale))]
        parts += ["", t(locale, "calibrate.disagree", count=len(summary.disagreeing))]
        parts += [_disagree_line(r, locale, unit) for r in summary.disagreeing]
    return "\n".join(parts)


def _rule(routing: Routing, locale: str) -> str:
    return t(locale, "calibrate.no_rule") if routing.rule is None else str(routing.rule)


def _routing_rows(table: Any, locale: str) -> list[list[str]]:
    header = [
        t(locale, f"calibrate.column.{name}") for name in ("category", "priority", "route", "rule", "calls")
    ]
    ordered = sorted(table.items(), key=lambda item: (-item[1], item[0].category, item[0].route))
    return [header] + [[r.category, r.priority, r.route, _rule(r, locale), str(n)] for r, n in ordered]


def _side_by_side(summary: Summary, locale: str) -> list[list[str]]:
    def key(r: Routing) -> tuple[str, str, str]:
        return r.category, r.priority, r.route

    current: dict[tuple[str, str, str], int] = {}
    proposed: dict[tuple[str, str, str], int] = {}
    for table, into in ((summary.table, current), (summary.proposed_table, proposed)):
        for routing, count in table.items():
            into[key(routing)] = into.get(key(routing), 0) + count
    names = ("category", "priority", "route", "current", "proposed")
    header = [t(locale, f"calibrate.column.{name}") for name in names]
    keys = sorted(set(current) | set(proposed))
    return [header] + [[*k, str(current.get(k, 0)), str(proposed.get(k, 0))] for k in keys]


def _confusion_rows(summary: Summary, locale: str) -> list[list[str]]:
    labels = summary.labels()
    rows = [[t(locale, "calibrate.column.expected"), *labels]]
    for expected in sorted(summary.confusion):
        rows.append([expected, *(str(summary.confusion[expected].get(label, 0)) for label in labels)])
    return rows


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _where(row: CalibrationRow, locale: str, unit: str) -> str:
    return t(locale, f"calibrate.where.{unit}", line=row.line)


def _disagree_line(replayed: Replayed, locale: str, unit: str) -> str:
    row = replayed.row
    return t(
        locale,
        "calibrate.disagree.line",
        where=_where(row, locale, unit),
        expected=row.expected,
        decided=replayed.current.category,
        text=row.text,
    )


def _changed_line(replayed: Replayed, locale: str, unit: str) -> str:
    assert replayed.proposed is not None
    return t(
        locale,
        "calibrate.changed.line",
        where=_where(replayed.row, locale, unit),
        before=_routing_text(replayed.current),
        after=_routing_text(replayed.proposed),
        text=replayed.row.text,
    )


def _routing_text(routing: Routing) -> str:
    return f"{routing.category}/{routing.priority}/{routing.route}"


def export(path: Path, replayed: Iterable[Replayed]) -> None:
    """A CSV of every decision: the row, then what the current (and proposed) rules decided."""
    rows = list(replayed)
    proposed = any(r.proposed is not None for r in rows)
    header = ["line", "number", "time", "text", "expected", "category", "priority", "route", "rule"]
    if proposed:
        header += ["new_category", "new_priority", "new_route", "new_rule"]
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for r in rows:
            values = [
                r.row.line,
                r.row.number or "",
                r.row.at.strftime("%Y-%m-%d %H:%M"),
                r.row.text,
                r.row.expected or "",
            ]
            values += _routing_values(r.current)
            if proposed and r.proposed is not None:
                values += _routing_values(r.proposed)
            writer.writerow(values)


def _routing_values(routing: Routing) -> list[Any]:
    return [routing.category, routing.priority, routing.route, routing.rule or ""]
