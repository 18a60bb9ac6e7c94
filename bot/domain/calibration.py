"""Calibration: past calls replayed through triage rules, and what the replay says about them.

Pure. The CSV a clinic exports (``number,text,time,expected``) is read row by row into
``CalibrationRow``; a row that cannot be read is a ``RowProblem`` with its line number (the header
is line 1) and is skipped. Each row is decided by ``triage`` for one or two rule sets; the results
are counted into a routing table, a confusion matrix against the expected labels, and the rows
whose routing changes between the two rule sets.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.hours import BusinessCalendar
from bot.domain.org import OrgConfig
from bot.domain.phones import normalize_phone
from bot.domain.triage import TriageDecision, triage

REQUIRED_COLUMNS = ("number", "text", "time")
COLUMNS = (*REQUIRED_COLUMNS, "expected")
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


class HeaderError(ValueError):
    """The file's first line is not the header calibration reads."""


@dataclass(frozen=True)
class CalibrationRow:
    line: int
    number: str | None
    text: str
    at: datetime
    expected: str | None


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str


@dataclass(frozen=True)
class Routing:
    """What a rule set decided for a row, as the tables show it."""

    category: str
    priority: str
    route: str
    rule: int | None
    """The rule's position in the file, 1-based; None when no rule matched."""

    @classmethod
    def of(cls, decision: TriageDecision) -> Routing:
        route = f"{decision.route_kind}:{decision.route_id}" if decision.route_id else decision.route_kind
        rule = None if decision.rule_index is None else decision.rule_index + 1
        return cls(decision.category, decision.priority, route, rule)


@dataclass(frozen=True)
class Replayed:
    row: CalibrationRow
    current: Routing
    proposed: Routing | None = None


def read_rows(lines: Iterable[str], zone: ZoneInfo, region: str) -> Iterator[CalibrationRow | RowProblem]:
    """The CSV's rows, or the problem of each one that cannot be read.

    Raises:
        HeaderError: when the header lacks one of ``number``, ``text``, ``time``.
    """
    reader = csv.reader(lines)
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise HeaderError(f"line 1: the header must be {','.join(COLUMNS)} (missing: {', '.join(missing)})")
    where = {name: header.index(name) for name in COLUMNS if name in header}
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            yield RowProblem(line, f"{len(values)} fields where the header has {len(header)}")
            continue
        yield _row(line, {name: values[index].strip() for name, index in where.items()}, zone, region)


def _row(line: int, get: dict[str, str], zone: ZoneInfo, region: str) -> CalibrationRow | RowProblem:
    at = _local_time(get["time"], zone)
    if at is None:
        return RowProblem(line, f"time {get['time']!r} is not a local time like 2026-11-30 10:15")
    number = get["number"] or None
    if number is not None and normalize_phone(number, region) is None:
        return RowProblem(line, f"number {number!r} is not a phone number")
    return CalibrationRow(line, number, get["text"], at, get.get("expected") or None)


def _local_time(text: str, zone: ZoneInfo) -> datetime | None:
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    return None


class Replayer:
    """Decides rows with one rule set (the current one) and, optionally, a proposed one."""

    def __init__(self, current: OrgConfig, proposed: OrgConfig | None = None) -> None:
        self.current = (current, BusinessCalendar.from_config(current.organization))
        self.proposed = (
            None if proposed is None else (proposed, BusinessCalendar.from_config(proposed.organization))
        )

    def replay(self, row: CalibrationRow) -> Replayed:
        current = self._decide(self.current, row)
        proposed = None if self.proposed is None else self._decide(self.proposed, row)
        return Replayed(row, current, proposed)

    @staticmethod
    def _decide(rules: tuple[OrgConfig, BusinessCalendar], row: CalibrationRow) -> Routing:
        config, calendar = rules
        return Routing.of(triage(config, calendar, caller_number=row.number, text=row.text, at=row.at))


@dataclass
class Summary:
    """The counts the report prints, accumulated as rows are replayed."""

    table: Counter[Routing]
    proposed_table: Counter[Routing]
    confusion: dict[str, Counter[str]]
    disagreeing: list[Replayed]
    changed: list[Replayed]
    rows: int = 0

    @classmethod
    def empty(cls) -> Summary:
        return cls(Counter(), Counter(), defaultdict(Counter), [], [])

    def add(self, replayed: Replayed) -> None:
        self.rows += 1
        self.table[replayed.current] += 1
        expected = replayed.row.expected
        if expected is not None:
            self.confusion[expected][replayed.current.category] += 1
            if expected != replayed.current.category:
                self.disagreeing.append(replayed)
        if replayed.proposed is not None:
            self.proposed_table[replayed.proposed] += 1
            if _routing_key(replayed.proposed) != _routing_key(replayed.current):
                self.changed.append(replayed)

    def labels(self) -> list[str]:
        """Every category of the confusion matrix, expected or decided, sorted."""
        found = set(self.confusion)
        for decided in self.confusion.values():
            found |= set(decided)
        return sorted(found)


def _routing_key(routing: Routing) -> tuple[str, str, str]:
    """What routing means to a caller and to staff; the rule's number alone may move."""
    return routing.category, routing.priority, routing.route
