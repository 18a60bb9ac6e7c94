"""The digest (and the weekly review) rendered for each channel from its neutral view: plain text (the
console, an email's text part), HTML (email), Slack mrkdwn and a Teams Adaptive Card. ``links`` maps
a card id to where this reader opens that card on this channel (a Slack permalink, a Teams deep
link, a signed page); a line about a card with no link is shown without one."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping
from typing import Any

from cards.adaptive import SCHEMA, VERSION
from cards.blockkit import escape as slack_escape
from cards.digest import CHART_CID, DigestView, Line

Links = Mapping[int, str]
_NONE: Links = {}


def render_digest_text(view: DigestView, links: Links = _NONE) -> str:
    """No markup; a linked line ends with its address in angle brackets."""
    return _lines(view, lambda s: s, lambda line: _plain_line(line, links))


def render_digest_mrkdwn(view: DigestView, links: Links = _NONE) -> str:
    """Slack: bold headings (``*…*``), a linked line as ``<url|text>``, Slack's characters escaped."""
    return _lines(view, lambda s: f"*{slack_escape(s)}*", lambda line: _slack_line(line, links))


def render_digest_html(view: DigestView, links: Links = _NONE, *, chart: bool = True) -> str:
    """An email's HTML part; the chart, when there is one, is the inline image ``cid:digest-chart``."""
    parts = [f"<h2>{html.escape(view.title)}</h2>"]
    if chart:
        alt = html.escape(view.chart_title, quote=True)
        parts.append(f'<p><img src="cid:{CHART_CID}" alt="{alt}" width="720"></p>')
    for section in view.sections:
        parts.append(f"<h3>{html.escape(section.heading)}</h3>")
        items = [_html_line(line, links) for line in section.lines] or [html.escape(view.empty)]
        parts.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"


def render_digest_card(
    view: DigestView, links: Links = _NONE, chart_png: bytes | None = None
) -> dict[str, Any]:
    """A Teams Adaptive Card: the title, the chart inline (an ``Image`` whose url is a base64 data
    URI: Teams renders it, and base64 images do not count against a bot message's size limit), then
    each section; a linked line is a Markdown link."""
    body: list[dict[str, Any]] = [_block(view.title, size="medium", weight="bolder")]
    if chart_png is not None:
        uri = "data:image/png;base64," + base64.b64encode(chart_png).decode()
        body.append({"type": "Image", "url": uri, "altText": view.chart_title, "size": "stretch"})
    for section in view.sections:
        body.append(_block(section.heading, weight="bolder", spacing="medium"))
        lines = [_markdown_line(line, links) for line in section.lines] or [_md_escape(view.empty)]
        body += [_block(f"• {text}", spacing="none") for text in lines]
    return {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": body,
        "fallbackText": render_digest_text(view, links),
    }


def _lines(view: DigestView, heading: Callable[[str], str], line: Callable[[Line], str]) -> str:
    out = [heading(view.title)]
    for section in view.sections:
        out += ["", heading(section.heading)]
        out += [f"• {line(item)}" for item in section.lines] or [f"• {line(Line(view.empty))}"]
    return "\n".join(out)


def _link(line: Line, links: Links) -> str | None:
    return links.get(line.card_id) if line.card_id is not None else None


def _plain_line(line: Line, links: Links) -> str:
    url = _link(line, links)
    return f"{line.text} <{url}>" if url else line.text


def _slack_line(line: Line, links: Links) -> str:
    url = _link(line, links)
    text = slack_escape(line.text)
    return f"<{url}|{text}>" if url else text


def _html_line(line: Line, links: Links) -> str:
    url = _link(line, links)
    text = html.escape(line.text)
    return f'<a href="{html.escape(url, quote=True)}">{text}</a>' if url else text


def _markdown_line(line: Line, links: Links) -> str:
    url = _link(line, links)
    text = _md_escape(line.text)
    return f"[{text}]({url.replace(')', '%29')})" if url else text


def _md_escape(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def _block(text: str, **style: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}
