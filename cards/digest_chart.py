"""The digest's chart: the day's calls per local hour, stacked by how they were answered, as a PNG.

matplotlib's object API on the Agg canvas (no pyplot, no global state, no display), so it may run
in a worker thread; it is CPU work of tens of milliseconds, and callers run it off the event loop
(``bot.services.digest_message`` runs it in a process of its own). matplotlib and numpy are imported
when a chart is drawn, not with this module: they take about 55 MB, which a server process that
sends no digest (or draws its charts elsewhere) must not hold.
"""

from __future__ import annotations

import io

from bot.domain.digest import ANSWERS

COLOURS = {"live": "#2e7d32", "message": "#1565c0", "missed": "#c62828"}
SIZE_INCHES = (7.2, 3.0)
DPI = 100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def render_chart(hourly: dict[int, dict[str, int]], title: str, labels: dict[str, str]) -> bytes:
    """A PNG: one bar per hour (0-23), its segments the ``live``, ``message`` and ``missed`` calls."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    hours = list(range(24))
    bottom = [0] * 24
    for kind in ANSWERS:
        heights = [hourly.get(hour, {}).get(kind, 0) for hour in hours]
        axes.bar(hours, heights, bottom=bottom, color=COLOURS[kind], label=labels.get(kind, kind), width=0.8)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title(title)
    axes.set_xlabel(labels.get("hour", "hour"))
    axes.set_ylabel(labels.get("calls", "calls"))
    axes.set_xticks(hours[::2])
    axes.set_xlim(-0.6, 23.6)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper left", frameon=False, ncols=3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
