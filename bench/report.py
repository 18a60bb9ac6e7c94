"""The table printed at the end, the sanity checks under it, and bench/results/latest.json."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.figures import BASELINES, ONCALL_CARDS_PER_S, ONCALL_P50_MS, Figure
from bench.plan import Plan
from bench.results import BareRun, DbRun
from bench.scenarios.webhook import expected_rows

COLUMNS = ("figure", "SQLite", "PostgreSQL", "baseline", "ratio", "target", "met?")
KIND_COLUMN = {"sqlite": 1, "postgres": 2}


def number(value: float | None, unit: str, *, with_unit: bool = True) -> str:
    if value is None or math.isnan(value):
        return "—"
    digits = 1 if unit == "ms" and value < 100 else 0
    text = f"{value:,.{digits}f}"
    return f"{text} {unit}" if with_unit else text


def rows(by_kind: dict[str, list[Figure]]) -> list[list[str]]:
    """One row per figure; the baseline, ratio and verdict columns list one value per database
    that has the figure (a figure that runs on one database shows a dash in the other column)."""
    table = []
    for key in _keys(by_kind.values()):
        cells = {kind: f for kind, found in by_kind.items() for f in found if f.key == key}
        table.append(_row(list(cells.values()), list(cells)))
    return table


def _keys(lists: Iterable[list[Figure]]) -> list[str]:
    """Every figure's key once, each list's keys kept in their order (a key only one database has
    goes after the key before it in that database's list)."""
    keys: list[str] = []
    for found in lists:
        at = 0
        for figure in found:
            if figure.key in keys:
                at = keys.index(figure.key) + 1
            else:
                keys.insert(at, figure.key)
                at += 1
    return keys


def _row(cells: list[Figure], kinds: list[str]) -> list[str]:
    first = cells[0]
    row = [first.label, "—", "—"]
    for kind, figure in zip(kinds, cells, strict=True):
        row[KIND_COLUMN[kind]] = number(figure.value, figure.unit)
    verdicts = _joined(cells, _verdict) if first.target else ""
    return [*row, _baselines(cells), _joined(cells, _ratio), first.target_text, verdicts]


def _baselines(cells: list[Figure]) -> str:
    first = cells[0]
    if not first.baseline_label:
        return ""
    values = " / ".join(dict.fromkeys(number(f.baseline, f.unit, with_unit=False) for f in cells))
    return f"{values} {first.unit} ({first.baseline_label})"


def _joined(cells: list[Figure], cell: Callable[[Figure], str]) -> str:
    return " / ".join(cell(figure) for figure in cells)


def _ratio(figure: Figure) -> str:
    if figure.ratio is None:
        return "—"
    return f"{figure.ratio:.0f}×" if figure.ratio >= 10 else f"{figure.ratio:.2f}×"


def _verdict(figure: Figure) -> str:
    return {True: "yes", False: "NO", None: "?"}[figure.met]


def render(table: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [list(COLUMNS), *table]) for i in range(len(COLUMNS))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table]
    return "\n".join(out)


def checks(run: DbRun, plan: Plan) -> list[tuple[str, bool]]:
    """What must hold for the figures to mean anything (every request did the work it claims)."""
    expected = expected_rows(plan)
    found = [

        (f"(a) {run.voice_rows}/{expected} Call rows, minimal {run.minimal_rows}/{expected}",
         run.voice_rows == expected and run.minimal_rows == expected),
        (f"(a) statuses: ours {dict(run.voice.statuses)}, minimal {dict(run.minimal.statuses)}",
         set(run.voice.statuses) == {200} and set(run.minimal.statuses) == {200}),
        (f"(b) {run.claims_done}/{plan.claims} cards claimed, statuses {dict(run.claims.statuses)}",
         run.claims_done == plan.claims and set(run.claims.statuses) == {200}),
        (f"(d) {run.burst.cards}/{plan.burst_calls} cards; statuses {dict(run.burst.statuses)}",
         run.burst.cards == plan.burst_calls and set(run.burst.statuses) <= {200, 204}),
        (f"(d) baseline {run.blast.cards}/{plan.burst_calls} posts", run.blast.cards == plan.burst_calls),
        (f"(e) {run.escalation.crowd.missing + run.escalation.lone.missing} escalations missing; "
         f"seeded before due: {run.escalation.seeded_before_due}",
         run.escalation.crowd.missing == 0 and run.escalation.lone.missing == 0
         and run.escalation.seeded_before_due),
        (f"(t) {run.slow_slack.slow_claimed}/{plan.slow_slack_claims} cards claimed with Slack in "
         f"{plan.slow_slack_seconds:g} s, baseline {run.slow_slack.fast_claimed}; statuses "
         f"{dict(run.slow_slack.slow.statuses)}",
         run.slow_slack.slow_claimed == plan.slow_slack_claims == run.slow_slack.fast_claimed
         and set(run.slow_slack.slow.statuses) == {200}),
        (f"(u) {run.slack_outage.arrived}/{plan.slack_outage_cards} cards after the outage ({run.slack_outage.posts} posts), "
         f"{run.slack_outage.baseline_arrived}/{plan.slack_outage_cards} with Slack up; statuses {dict(run.slack_outage.statuses)}",
         run.slack_outage.arrived == run.slack_outage.posts == run.slack_outage.baseline_arrived == plan.slack_outage_cards
         and set(run.slack_outage.statuses) <= {200, 204}),
    ]  # fmt: skip
    extras = [check for outcome in run.extras.values() for check in outcome.checks]
    return found + (outage_checks(run) if run.kind == "postgres" else []) + extras


def outage_checks(run: DbRun) -> list[tuple[str, bool]]:
    """(s): every call of both phases carded once, nothing left in the spool, one card row a call."""
    up, down, calls = run.outage.up, run.outage.down, run.outage.up.calls + run.outage.down.calls
    return [
        (f"(s) cards: {len(up.cards)}/{up.calls} with the database up, {len(down.cards)}/{down.calls} "
         f"after the outage, {up.duplicates + down.duplicates} posted twice",
         len(up.cards) == up.calls and len(down.cards) == down.calls and not up.duplicates + down.duplicates),
        (f"(s) {run.outage.card_rows}/{calls} card rows; {run.outage.spool_left} entries left in the spool",
         run.outage.card_rows == calls and run.outage.spool_left == 0),
    ]  # fmt: skip


def legend(by_kind: dict[str, list[Figure]]) -> list[str]:
    """What each baseline in the table is."""
    used = {figure.baseline_label for found in by_kind.values() for figure in found}
    return ["Values per database are SQLite / PostgreSQL. Baselines:"] + [
        f"  {name}: {meaning}" for name, meaning in BASELINES.items() if name in used
    ]


def notes(runs: Sequence[DbRun]) -> list[str]:
    lines = []
    for run in runs:
        ratio = run.burst.cards_per_s / ONCALL_CARDS_PER_S
        lines.append(
            f"(d) {run.kind}: {run.burst.cards_per_s:.0f} cards/s = {ratio:.0f}× the Grafana OnCall hobby "
            f"reference ({ONCALL_CARDS_PER_S} alert groups/s, {ONCALL_P50_MS:.0f} ms p50 webhook → post)"
        )
    return lines


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_finite(document), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def document(
    meta: dict[str, Any], bare: BareRun, runs: Sequence[DbRun], by_kind: dict[str, list[Figure]]
) -> dict[str, Any]:
    return {
        "meta": meta,
        "bare": bare.as_dict(),
        "databases": {run.kind: run.as_dict() for run in runs},
        "figures": {kind: [f.as_dict() for f in found] for kind, found in by_kind.items()},
    }


def _finite(value: Any) -> Any:
    """NaN (a percentile of nothing) as null, so the file is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
