"""The digest as a manager reads it: Spanish and English text, HTML, the chart, and the CLI."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

from matplotlib.image import imread

from bot.config import load_config
from bot.services.digest_message import DigestMessage, digest_message
from bot.services.directory import Directory
from bot.store.migrate import upgrade_async
from cards.digest_chart import PNG_SIGNATURE, render_chart
from cards.digest_render import (
    render_digest_card,
    render_digest_html,
    render_digest_mrkdwn,
    render_digest_text,
)
from tests.processes import psycopg_url
from tests.support import FIXTURES, Database
from tests.test_cli import centralita
from tests.test_digest_figures import another_org, background_month, digest_of, the_day

ORG = Directory([load_config(FIXTURES / "clinic.yaml")]).default


def member(staff_id: str, locale: str | None = None):  # type: ignore[no-untyped-def]
    found = ORG.config.staff_member(staff_id)
    assert found is not None
    return found.model_copy(update={"locale": locale})


async def test_the_spanish_digest_reads_the_days_figures(db: Database) -> None:
    message = digest_message(ORG, member("marta"), await digest_of(db))
    lines = message.plain.splitlines()

    assert (
        message.subject == "Clínica Dental Sonrisa · resumen de recepción del lunes, 30 de noviembre de 2026"
    )
    for expected in (
        "• Llamadas: 7 · Mensajes: 2",
        "• Atendidas en directo: 1 · Tomadas como mensaje: 4 · Perdidas: 2",
        "• Tiempo hasta reclamar: mediana 5 minutos, p90 45 minutos",
        "• Tarjetas abiertas ahora: 7",
        "• Llamadas: Cliente 1, General 3, Cliente potencial 1, Urgencia 2",
        "• #1002 Urgencia · Caller 1002: reclamada con 3 minutos de retraso",
        "• #1003 General · Caller 1003: sin reclamar, 22 horas fuera de plazo",
        "• Ana García: 2 reclamadas, 2 cerradas, 1 devoluciones hechas",
        "• Luis Martín: 2 reclamadas, 3 cerradas, 1 devoluciones hechas",
        "• ATRASADA 28/11/26 10:00 · Luis Martín llama a Caller 900",
        "• 1/12/26 12:00 · Ana García llama a Caller 1005",
        "• #1004 Caller 1004: lo lleva Marta López",
        "Devoluciones de hoy (2; 1 atrasadas)",
    ):
        assert expected in lines, (expected, lines)
    assert render_digest_mrkdwn(message.view).startswith(
        "*Clínica Dental Sonrisa: así fue la recepción el lunes, 30 de noviembre de 2026*"
    )


async def test_a_manager_who_reads_english_gets_it_in_english(db: Database) -> None:
    message = digest_message(ORG, member("marta", "en"), await digest_of(db))
    lines = message.plain.splitlines()

    assert message.subject == "Clínica Dental Sonrisa · reception digest for Monday, November 30, 2026"
    for expected in (
        "• Calls: 7 · Messages: 2",
        "• Answered live: 1 · Taken as a message: 4 · Missed: 2",
        "• Time to claim: median 5 minutes, p90 45 minutes",
        "• #1007 General · Caller 1007: claimed 15 minutes late",
        "• OVERDUE 11/28/26 10:00\u202fAM · Luis Martín calls Caller 900",
        "• #1007 Caller 1007: with Ana García",
    ):
        assert expected in lines, (expected, lines)
    html = render_digest_html(message.view)
    assert '<img src="cid:digest-chart"' in html
    assert "<li>Calls: 7 · Messages: 2</li>" in html


async def test_numbers_are_grouped_the_way_each_locale_writes_them(db: Database) -> None:
    figures = replace(await digest_of(db), open_now=12345)
    assert "• Tarjetas abiertas ahora: 12.345" in digest_message(ORG, member("marta"), figures).plain
    assert "• Open cards now: 12,345" in digest_message(ORG, member("marta", "en"), figures).plain


def test_the_chart_is_a_png_with_a_bar_of_each_answer_it_counts() -> None:
    hourly = {9: {"live": 0, "message": 3, "missed": 1}, 12: {"live": 2, "message": 0, "missed": 0}}
    labels = {"live": "Live", "message": "Message", "missed": "Missed", "hour": "Hour", "calls": "Calls"}
    png = render_chart(hourly, "Calls per hour", labels)
    assert png.startswith(PNG_SIGNATURE)
    pixels = imread(io.BytesIO(png))
    assert pixels.shape[:2] == (300, 720)

    def share(colour: tuple[int, int, int]) -> float:
        rgb = (pixels[:, :, :3] * 255).round()
        return float(((abs(rgb - colour)).sum(axis=2) < 30).mean())

    assert share((0xC6, 0x28, 0x28)) > 0.001  # the missed call at 9
    no_missed = render_chart({12: {"live": 2, "message": 0, "missed": 0}}, "x", labels)
    pixels = imread(io.BytesIO(no_missed))
    assert share((0xC6, 0x28, 0x28)) < share((0x2E, 0x7D, 0x32))


async def test_the_cli_prints_a_days_digest_and_writes_its_chart(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/centralita.db")
    await upgrade_async(db.url)
    await db.add(*background_month(), *the_day(), *another_org())
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/centralita.db",
        "CENTRALITA_CONFIG": str(FIXTURES / "clinic.yaml"),
    }

    printed = centralita("digest", "--date", "2026-11-30", "--to", "marta", "--dry-run", **env)
    assert printed.returncode == 0, printed.stderr
    assert "• Llamadas: 7 · Mensajes: 2" in printed.stdout.splitlines()

    chart = tmp_path / "chart.png"
    written = centralita(
        "digest", "--date", "2026-11-30", "--format", "png", "--out", str(chart), "--to", "marta", **env
    )
    assert written.returncode == 0, written.stderr
    assert chart.read_bytes().startswith(PNG_SIGNATURE)

    unknown = centralita("digest", "--to", "pepe", "--dry-run", **env)
    assert unknown.returncode == 2 and "not a staff id: pepe" in unknown.stderr


async def test_the_cli_reads_the_schema_its_database_url_names(postgres: Database) -> None:
    """A PostgreSQL URL may name its schema (``options=-csearch_path=…``); the read-only report
    engine keeps it, so the digest counts that schema's cards, not another one's."""
    await upgrade_async(postgres.url, connect_args=postgres.connect_args)
    await postgres.add(*background_month(), *the_day(), *another_org())
    env = {"DATABASE_URL": psycopg_url(postgres), "CENTRALITA_CONFIG": str(FIXTURES / "clinic.yaml")}

    printed = centralita("digest", "--date", "2026-11-30", "--to", "marta", "--dry-run", **env)

    assert printed.returncode == 0, printed.stderr
    assert "• Llamadas: 7 · Mensajes: 2" in printed.stdout.splitlines()


async def test_the_cli_sends_a_days_digest_once(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/centralita.db")
    await upgrade_async(db.url)
    await db.add(*background_month(), *the_day())
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/centralita.db",
        "CENTRALITA_CONFIG": str(FIXTURES / "clinic.yaml"),
    }

    first = centralita("digest", "--date", "2026-11-30", "--to", "marta", **env)
    again = centralita("digest", "--date", "2026-11-30", "--to", "marta", **env)

    assert first.returncode == 0, first.stderr
    assert "digest of 2026-11-30 for marta: queued (console)" in first.stdout
    assert "digest of 2026-11-30 for marta: sent already, not sent again" in again.stdout
    rows = [row for row in await db.outbox() if row.kind == "report"]
    assert [(r.channel, r.target, r.payload["subject"]) for r in rows] == [
        (
            "console",
            "marta",
            "Clínica Dental Sonrisa · resumen de recepción del lunes, 30 de noviembre de 2026",
        )
    ]


async def test_each_channel_renders_the_same_view_with_its_own_links(db: Database) -> None:
    message = digest_message(ORG, member("marta"), await digest_of(db))
    assert DigestMessage.from_payload(json.loads(json.dumps(message.payload()))) == message
    assert message.view.card_ids()[:3] == [1002, 1003, 1007] and 1004 in message.view.card_ids()
    links = {1002: "https://clinica.slack.com/archives/C0RECEP/p1", 1004: "https://x.example/c?a=1&b=2"}
    breach = "#1002 Urgencia · Caller 1002: reclamada con 3 minutos de retraso"
    lead = "#1004 Caller 1004: lo lleva Marta López"

    slack = render_digest_mrkdwn(message.view, links).splitlines()
    assert f"• <{links[1002]}|{breach}>" in slack and f"• <{links[1004]}|{lead}>" in slack
    assert "• #1003 General · Caller 1003: sin reclamar, 22 horas fuera de plazo" in slack, "no post, no link"
    plain = render_digest_text(message.view, links).splitlines()
    assert f"• {breach} <{links[1002]}>" in plain
    html = render_digest_html(message.view, links)
    assert f'<a href="https://x.example/c?a=1&amp;b=2">{lead}</a>' in html
    card = render_digest_card(message.view, links, b"\x89PNG")
    texts = [block.get("text", "") for block in card["body"]]
    assert f"• [{breach}]({links[1002]})" in texts
    assert card["body"][1] == {
        "type": "Image",
        "url": "data:image/png;base64,iVBORw==",
        "altText": message.view.chart_title,
        "size": "stretch",
    }


def test_slack_markup_in_a_line_is_escaped() -> None:
    from cards.digest import DigestView, Line, Section

    view = DigestView("s", "A & B", (Section("<h>", (Line("x <@U1> *y*", 7),)),), "", {}, "—")
    text = render_digest_mrkdwn(view, {7: "https://l"})
    assert text.splitlines() == ["*A &amp; B*", "", "*&lt;h&gt;*", "• <https://l|x &lt;@U1&gt; *y*>"]
