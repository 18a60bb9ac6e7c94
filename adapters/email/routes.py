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
        token = form.get("t")
        return page(await links.act(token[:_LIMIT] if isinstance(token, str) else ""))

    return router


def page(found: LinkPage) -> HTMLResponse:
    button = ""
    if found.token is not None:
        label = html.escape(t(found.locale, "link.confirm"))
        token = html.escape(found.token, quote=True)
        button = (
            '<form method="post" action="/cards/act">'
            f'<input type="hidden" name="t" value="{token}"><button type="submit">{label}</button></form>'
        )
    body = (
        f'<!doctype html><html lang="{found.locale}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{html.escape(found.title)}</title></head>'
        f"<body><h1>{html.escape(found.title)}</h1>"
        f'<p id="message">{html.escape(found.message)}</p>{button}</body></html>'
    )
    return HTMLResponse(body, status_code=found.status)
