"""A card as an email: the card's text and HTML with signed one-click links (claim, I'll call back,
resolved) that open a confirmation page. Email cannot be edited, so it is sent once, when the card
opens; the page always shows the card as it is."""

from __future__ import annotations

import html
from dataclasses import replace

from bot.i18n import t
from cards.model import CardView
from cards.text import render_text


def email_subject(view: CardView) -> str:
    return view.fallback_text.split(". ")[0][:150]


def email_text(view: CardView, links: dict[str, str], locale: str) -> str:
    lines = [render_text(replace(view, actions=())), "", t(locale, "email.card.act")]
    lines += [f"{t(locale, f'link.action.{action}')}: {url}" for action, url in links.items()]
    lines += ["", t(locale, "email.card.expires")]
    return "\n".join(lines)


def email_html(view: CardView, links: dict[str, str], locale: str) -> str:
    rows = "".join(
        f"<tr><th align=left>{html.escape(f.label)}</th><td>{html.escape(f.value)}</td></tr>"
        for f in view.fields
    )
    said = (
        f"<p><b>{html.escape(view.said_label)}:</b> {html.escape(view.summary)}</p>" if view.summary else ""
    )
    buttons = " ".join(
        f'<a href="{html.escape(url, quote=True)}" style="padding:8px 14px;border:1px solid #1565c0;'
        f'border-radius:4px;text-decoration:none">{html.escape(t(locale, f"link.action.{action}"))}</a>'
        for action, url in links.items()
    )
    return (
        "<!doctype html><html><body>"
        f"<h2>{html.escape(view.title)}</h2><p>{html.escape(view.headline)}</p><table>{rows}</table>{said}"
        f"<p>{html.escape(view.status_line)}</p><p>{buttons}</p>"
        f"<p><small>{html.escape(t(locale, 'email.card.expires'))}</small></p></body></html>"
    )
