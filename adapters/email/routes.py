"""The pages a card email's links open: ``GET /cards/act?t=…`` asks, ``POST /cards/act`` does.

A GET never changes anything (mail scanners and link previews open links), so the change waits for
the person's click on the page's button.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from bot.i18n import t
from bot.services.card_links import CardLinks, LinkPage

_LIMIT = 4096


def link_router(links: CardLinks) -> APIRouter:
    router = APIRouter()

    @router.get("/cards/act", include_in_schema=False)
    async def ask(token: str = Query("", alias="t")) -> HTMLResponse:
        return page(await links.preview(token[:_LIMIT]))

    @router.post("/cards/act", include_in_schema=False)
    async def act(request: Request) -> HTMLResponse:
        form = await request.form()
        token, chosen = form.get("t"), form.get("staff")
        return page(
            await links.act(
                token[:_LIMIT] if isinstance(token, str) else "",
                chosen[:_LIMIT] if isinstance(chosen, str) else None,
            )
        )

    return router


def page(found: LinkPage) -> HTMLResponse:
    button = ""
    if found.token is not None:
        label = html.escape(t(found.locale, "link.confirm"))
        token = html.escape(found.token, quote=True)
        button = (
            '<form method="post" action="/cards/act">'
            f'<input type="hidden" name="t" value="{token}">{_choices(found)}'
            f'<button type="submit">{label}</button></form>'
        )
    body = (
        f'<!doctype html><html lang="{found.locale}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{html.escape(found.title)}</title></head>'
        f"<body><h1>{html.escape(found.title)}</h1>"
        f'<p id="message">{html.escape(found.message)}</p>{button}</body></html>'
    )
    return HTMLResponse(body, status_code=found.status)


def _choices(found: LinkPage) -> str:
    """A team mailbox's link: who is acting, one of the team's staff (required before confirming)."""
    if not found.choices:
        return ""
    options = "".join(
        f'<p><label><input type="radio" name="staff" value="{html.escape(staff_id, quote=True)}" required>'
        f" {html.escape(name)}</label></p>"
        for staff_id, name in found.choices
    )
    return f"<fieldset><legend>{html.escape(found.who)}</legend>{options}</fieldset>"
