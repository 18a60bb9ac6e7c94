"""``GET /privacy/export/{token}``: a manager's one-time download of one number's export (the link
the Teams bot gives; see ``bot.services.export_links``). Unknown, used or expired: 404 and a line
saying so."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response

from bot.i18n import t
from bot.services.export_links import PATH, ExportLinks

_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def export_route(app: FastAPI, links: ExportLinks, locale: str) -> None:
    @app.get(PATH + "{token}", include_in_schema=False)
    async def download(token: str) -> Response:
        data = await links.take(token) if 0 < len(token) <= 100 else None
        if data is None:
            return PlainTextResponse(t(locale, "privacy.desk.link_gone"), status_code=404, headers=_PRIVATE)
        name = "centralita-" + str(data["number"]).lstrip("+") + ".json"
        return Response(
            json.dumps(data, ensure_ascii=False, indent=2),
            media_type="application/json",
            headers={**_PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'},
        )
