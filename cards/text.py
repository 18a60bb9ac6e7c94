"""Plain-text rendering of the neutral card, for the console channel and logs."""

from __future__ import annotations

from cards.model import CardView


def render_text(view: CardView) -> str:
    """A readable multi-line card with its id, so a person can follow it in a terminal."""
    lines = [f"[#{view.card_id} r{view.revision}] {view.title}", f"  {view.headline}"]
    lines += [f"  {f.label}: {f.value}" for f in view.fields]
    lines += [f"  {view.said_label}: {view.summary}"] if view.summary else []
    if view.recording_url:
        lines.append(f"  {view.recording_label}: {view.recording_url}")
    lines.append(f"  » {view.status_line}")
    if view.escalation_line:
        lines.append(f"  ⏫ {view.escalation_line}")
    if view.actions:
        lines.append("  [" + "] [".join(a.label for a in view.actions) + "]")
    return "\n".join(lines)
