"""Several organisations on one deployment (issue 14, items 4 and 5): a directory of organisation
files, calls routed by the called number, each organisation reached only from its own Slack
workspace, the set checked as a whole, and a reload (SIGHUP) without a restart."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.store.models import Card, OutboxMessage
from tests.fakes.slack_api import FakeSlack, install_answer
from tests.processes import CentralitaProcess, psycopg_url
from tests.support import (
    CLINIC_NUMBER,
    FIXTURES,
    Centralita,
    Database,
    FakeClock,
    block_actions,
    button,
    eventually,
    new_call_sid,
)
from tests.test_cli import centralita

ORGS = FIXTURES / "orgs"
GESTORIA_NUMBER = "+34930000000"


def from_workspace(payload: dict[str, Any], team: str) -> str:
    """The same payload as sent by Slack from another workspace."""
    payload = {**payload, "team": {"id": team, "domain": team.lower()}}
    payload["user"] = {**payload["user"], "team_id": team}
    return urlencode({"payload": json.dumps(payload)})


async def answered_call(app: Centralita, to: str, say: str, caller: str = "+34612000111") -> str:
    sid = new_call_sid()
    base = {"CallSid": sid, "From": caller, "To": to}
    assert (await app.twilio_post("/twilio/voice", base)).status_code == 200
    assert (await app.twilio_post("/twilio/voice/gather", {**base, "SpeechResult": say})).status_code == 200
    assert (
        await app.twilio_post("/twilio/voice/status", {**base, "CallStatus": "completed"})
    ).status_code == 204
    return sid


OAUTH = {"SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "client-secret-for-tests"}
WORKSPACES_ONLY = {**OAUTH, "SLACK_BOT_TOKEN": None}
"""Every workspace's token from its installation: no SLACK_BOT_TOKEN at all."""
CLINIC_INSTALL = install_answer("T0CLINICA", "Clínica Dental Sonrisa", "xoxb-clinica", "U0BOTC", "U0MARTA")


def two_workspaces(slack: FakeSlack) -> None:
    """The stand-in knows where each channel and person of tests/fixtures/orgs is: a call about
    them with the other workspace's token is refused, as Slack refuses it."""
    clinic, firm = {"T0CLINICA"}, {"T0GESTORIA"}
    slack.members |= {"C0RECEP": clinic, "C0VENTAS": clinic, "U0LUIS": clinic, "U0MARTA": clinic}
    slack.members |= {"C0OFICINA": firm, "U0PEPE": firm, "U0ANA": clinic | firm}
    slack.installs["c0de-clinica"] = CLINIC_INSTALL


async def install(app: Centralita, code: str) -> None:
    """The app installed in a workspace through the OAuth flow, in the browser that started it."""
    started = await app.http.get("/slack/install")
    state = started.cookies["slack-app-oauth-state"]
    done = await app.http.get(
        "/slack/oauth_redirect",
        params={"code": code, "state": state},
        headers={"Cookie": f"slack-app-oauth-state={state}"},
    )
    assert done.status_code == 200, done.text


def card_posts(slack: FakeSlack) -> dict[str, str | None]:
    """The token each card post was made with, by channel."""
    return {c.args["channel"]: c.token for c in slack.of("chat.postMessage") if "blocks" in c.args}


async def test_each_organisation_is_served_with_its_own_workspace_token_and_stays_in_it(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    two_workspaces(slack)
    async with Centralita(db, clock, slack.url, config="orgs", **WORKSPACES_ONLY) as app:
        await install(app, "c0de-clinica")
        await install(app, "c0de")
        asked = len(slack.of("auth.test"))  # the install asks it once, for the bot's id
        to_clinic = await answered_call(app, CLINIC_NUMBER, "Quería pedir cita, por favor")
        to_firm = await answered_call(app, GESTORIA_NUMBER, "Llamo por la declaración de la renta")
        cards = {card.call_sid: card for card in await db.cards()}
        assert (cards[to_clinic].org_id, cards[to_firm].org_id) == ("clinica", "gestoria")
        await slack.wait_for("chat.postMessage", count=2)
        assert card_posts(slack) == {"C0RECEP": "xoxb-clinica", "C0OFICINA": "xoxb-gestoria"}
        clinic_card = cards[to_clinic]

        # The firm's staff click the clinic's card id: Pepe (no clinic account at all), and the
        # firm's Ana, whose Slack user id is the clinic's Ana's. Both are told there is no such
        # card, in words that name nothing of the clinic, and the card does not change.
        payload = block_actions(button("claim", clinic_card.id or 0), "U0PEPE", "C0OFICINA")
        assert (await app.slack_post(from_workspace(payload, "T0GESTORIA"))).status_code == 200
        payload = block_actions(button("claim", clinic_card.id or 0), "U0ANA", "C0OFICINA")
        assert (await app.slack_post(from_workspace(payload, "T0GESTORIA"))).status_code == 200
        told = await slack.wait_for("chat.postEphemeral", count=2)
        assert {c.args["user"] for c in told} == {"U0PEPE", "U0ANA"}
        assert {c.token for c in told} == {"xoxb-gestoria"}
        assert all("Clínica" not in c.args["text"] and "Sonrisa" not in c.args["text"] for c in told)
        await asyncio.sleep(0.3)
        [after] = await db.query(select(Card).where(Card.id == clinic_card.id))
        assert (after.status, after.claimed_by, after.version) == ("open", None, clinic_card.version)
        assert await db.audit("claimed") == []

        # Each workspace's bot is read once: with the store emptied behind the server's back, the
        # clinic's Ana, from the clinic's workspace, still claims it, and the card is updated with
        # the clinic's token. Slack's auth.test was not asked again: the installation has the bot's ids.
        await db.run("DELETE FROM slack_bots")
        assert (await app.claim(clinic_card.id or 0, "U0ANA")).status_code == 200
        [update] = await slack.wait_for("chat.update")
        assert update.args["channel"] == "C0RECEP" and update.token == "xoxb-clinica"
        [card] = await db.query(select(Card).where(Card.id == clinic_card.id))
        assert card.claimed_by == "ana"
        assert len(slack.of("auth.test")) == asked and slack.refused == []


async def test_a_workspace_without_an_installation_is_a_delivery_error_kept_for_retry(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    two_workspaces(slack)
    async with Centralita(db, clock, slack.url, config="orgs", **WORKSPACES_ONLY) as app:
        await install(app, "c0de")  # only the firm's workspace
        to_clinic = await answered_call(app, CLINIC_NUMBER, "Quería pedir cita, por favor")
        await answered_call(app, GESTORIA_NUMBER, "Llamo por la declaración de la renta")
        await slack.wait_for("chat.postMessage", channel="C0OFICINA")
        [card] = [c for c in await db.cards() if c.call_sid == to_clinic]

        async def failed() -> list[OutboxMessage]:
            rows = await db.query(select(OutboxMessage).where(OutboxMessage.card_id == card.id))
            return [r for r in rows if r.attempts >= 1]

        [row] = await eventually(failed)
        assert row.status == "pending" and row.channel == "slack"  # retried, not given up
        assert "not installed in workspace T0CLINICA" in (row.last_error or "")
        assert "C0RECEP" not in card_posts(slack) and slack.refused == []


async def test_a_reinstalled_workspace_is_served_with_its_new_token(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    two_workspaces(slack)
    async with Centralita(db, clock, slack.url, config="orgs", **WORKSPACES_ONLY) as app:
        await install(app, "c0de-clinica")
        await answered_call(app, CLINIC_NUMBER, "Quería pedir cita, por favor")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")

        # Reinstalled (new scopes, say): Slack issues a new token and revokes the old one.
        slack.installs["c0de-again"] = {**CLINIC_INSTALL, "access_token": "xoxb-clinica-2"}
        await install(app, "c0de-again")
        slack.revoked.add("xoxb-clinica")
        await answered_call(app, CLINIC_NUMBER, "Otra cita, por favor", caller="+34612000222")
        posts = await slack.wait_for("chat.postMessage", count=2, channel="C0RECEP")
        assert [p.token for p in posts] == ["xoxb-clinica", "xoxb-clinica-2"]
        assert slack.refused == []


async def test_a_workspace_reinstalled_through_another_replica_is_served_with_its_new_token(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    two_workspaces(slack)
    async with Centralita(db, clock, slack.url, config="orgs", **WORKSPACES_ONLY) as app:
        await install(app, "c0de-clinica")
        await answered_call(app, CLINIC_NUMBER, "Quería pedir cita, por favor")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")

        # Another replica serves the reinstall: this server still holds the old token, which Slack
        # now refuses; it reads the workspace's installation again and sends with the new one.
        slack.installs["c0de-again"] = {**CLINIC_INSTALL, "access_token": "xoxb-clinica-2"}
        async with Centralita(db, clock, slack.url, config="orgs", **WORKSPACES_ONLY) as replica:
            await install(replica, "c0de-again")
        slack.revoked.add("xoxb-clinica")
        await answered_call(app, CLINIC_NUMBER, "Otra cita, por favor", caller="+34612000222")
        posts = await slack.wait_for("chat.postMessage", count=2, channel="C0RECEP")
        assert [p.token for p in posts] == ["xoxb-clinica", "xoxb-clinica-2"]
        assert [(r.method, r.token) for r in slack.refused] == [("chat.postMessage", "xoxb-clinica")]


async def test_the_oauth_install_stores_the_workspace_and_a_forged_state_is_refused(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url, config="orgs", **OAUTH) as app:
        # A forged callback: a state Centralita never issued (and no cookie) exchanges no code.
        forged = await app.http.get("/slack/oauth_redirect", params={"code": "c0de", "state": "forged"})
        assert forged.status_code in (400, 401)
        assert slack.of("oauth.v2.access") == [] and await _installations(db) == []

        started = await app.http.get("/slack/install")
        assert started.status_code == 200
        state = started.cookies["slack-app-oauth-state"]
        assert f"state={state}" in started.text and "client_id=111.222" in started.text
        # The same state in another browser (without the cookie) is refused too.
        other = await app.http.get("/slack/oauth_redirect", params={"code": "c0de", "state": state})
        assert other.status_code in (400, 401) and await _installations(db) == []

        # The browser that started it (the cookie is Secure: httpx keeps it off plain http).
        browser = {"Cookie": f"slack-app-oauth-state={state}"}
        callback = {"code": "c0de", "state": state}
        done = await app.http.get("/slack/oauth_redirect", params=callback, headers=browser)
        assert done.status_code == 200, done.text
        [exchange] = slack.of("oauth.v2.access")
        assert exchange.args["code"] == "c0de"
        assert await _installations(db) == [("T0GESTORIA", "xoxb-gestoria")]

        # A state is good once.
        again = await app.http.get("/slack/oauth_redirect", params=callback, headers=browser)
        assert again.status_code in (400, 401) and len(slack.of("oauth.v2.access")) == 1


async def _installations(db: Database) -> list[tuple[str, str]]:
    try:
        rows = await db.query(text("SELECT team_id, bot_token FROM slack_bots ORDER BY id"))
    except Exception:  # the table is made when the server starts
        return []
    return [(row[0], row[1]) for row in rows]


def org_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def firm(**organization: str) -> str:
    fields = {"id": "otra", "name": "Otra", "phone_numbers": '["+34930000001"]'} | organization
    inner = ", ".join(f"{k}: {v}" for k, v in fields.items())
    return f"organization: {{{inner}}}\nstaff: [{{id: x, name: X, slack_user: U0X}}]\n"


@pytest.mark.parametrize(
    ("second", "field", "value"),
    [
        (firm(phone_numbers='["+34 910 00 00 00"]'), "organization.phone_numbers[0]", "+34910000000"),
        (firm(slack_team_id="T0CLINICA"), "organization.slack_team_id", "T0CLINICA"),
        (firm(id="clinica"), "organization.id", "clinica"),
    ],
)
def test_config_check_refuses_two_organisations_sharing_a_number_a_workspace_or_an_id(
    tmp_path: Path, second: str, field: str, value: str
) -> None:
    shutil.copy(ORGS / "clinica.yaml", tmp_path / "clinica.yaml")
    org_file(tmp_path, "otra.yaml", second)
    result = centralita("config", "check", str(tmp_path))
    assert result.returncode == 2, result.stdout
    assert f"otra.yaml: {field}: '{value}' is also" in result.stderr
    assert "the organisation in clinica.yaml" in result.stderr
    listed = centralita("org", "check", CENTRALITA_CONFIG=str(tmp_path))
    assert listed.returncode == 2 and field in listed.stderr


def teams_org(org_id: str, number: str, tenant: str, channel: str) -> str:
    return (
        f"organization: {{id: {org_id}, name: {org_id.title()}, phone_numbers: ['{number}'],"
        f" teams_tenant_id: {tenant}}}\n"
        "staff: [{id: x, name: X, teams_user: aad-x}]\n"
        f"teams: [{{id: t, name: T, teams_channel: '{channel}', members: [x]}}]\n"
        "triage: [{category: general, priority: normal, route: t}]\n"
    )


def test_config_check_refuses_two_organisations_sharing_a_teams_channel_of_one_tenant(tmp_path: Path) -> None:
    channel = "19:recepcion@thread.tacv2"
    org_file(tmp_path, "a.yaml", teams_org("a", "+34910000001", "tenant-1", channel))
    org_file(tmp_path, "b.yaml", teams_org("b", "+34910000002", "tenant-1", channel))
    result = centralita("config", "check", str(tmp_path))
    assert result.returncode == 2, result.stdout
    assert (
        f"b.yaml: teams[0].teams_channel: '{channel}' in tenant tenant-1 is also a Teams channel of the"
        " organisation in a.yaml" in result.stderr
    )
    # The same channel id in another tenant is another channel.
    org_file(tmp_path, "b.yaml", teams_org("b", "+34910000002", "tenant-2", channel))
    accepted = centralita("config", "check", str(tmp_path))
    assert accepted.returncode == 0, accepted.stderr
    listed = centralita("org", "list", CENTRALITA_CONFIG=str(tmp_path))
    assert "teams: tenant-1" in listed.stdout and "teams: tenant-2" in listed.stdout


def test_org_list_and_check_show_every_organisation_of_the_directory() -> None:
    listed = centralita("org", "list", CENTRALITA_CONFIG=str(ORGS))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["clinica", "gestoria"]
    assert "numbers: +34930000000" in lines[1] and "slack: T0GESTORIA" in lines[1]
    checked = centralita("org", "check", CENTRALITA_CONFIG=str(ORGS))
    assert checked.returncode == 0, checked.stderr
    assert "clinica.yaml: OK" in checked.stdout and "gestoria.yaml: OK" in checked.stdout


def test_a_directory_without_organisation_files_is_refused(tmp_path: Path) -> None:
    result = centralita("config", "check", str(tmp_path))
    assert result.returncode == 2
    assert "no organisation file (*.yaml) in it" in result.stderr


@pytest.mark.process
async def test_sighup_reloads_the_organisations_and_cards_in_flight_keep_their_policy(
    postgres: Database, slack: FakeSlack, tmp_path: Path
) -> None:
    configs = tmp_path / "orgs"
    configs.mkdir()
    clinic = (FIXTURES / "always_open.yaml").read_text(encoding="utf-8")
    (configs / "clinica.yaml").write_text(clinic, encoding="utf-8")
    url: str = slack.url  # type: ignore[attr-defined]
    server = CentralitaProcess(psycopg_url(postgres), tmp_path, slack_url=url, config=configs)
    async with httpx.AsyncClient(timeout=20) as http:
        try:
            await server.start(http)
            before = await _call(http, server, CLINIC_NUMBER)
            unknown = await _call(http, server, GESTORIA_NUMBER)
            assert await _card(postgres, unknown) is None  # nobody serves that number yet

            # Faster escalation for the clinic's normal calls, and the firm added.
            slower = "{after: 30m, notify: team}, {after: 2h, notify: managers}"
            faster = "{after: 1m, notify: team}, {after: 2h, notify: managers}"
            assert slower in clinic
            (configs / "clinica.yaml").write_text(clinic.replace(slower, faster), encoding="utf-8")
            shutil.copy(ORGS / "gestoria.yaml", configs / "gestoria.yaml")
            assert server.process is not None
            server.process.send_signal(signal.SIGHUP)
            await eventually(lambda: _said(server, "configuration reloaded: default, gestoria"), timeout=20)

            after = await _call(http, server, CLINIC_NUMBER)
            firm_call = await _call(http, server, GESTORIA_NUMBER)
            old, new, theirs = [await _card(postgres, sid) for sid in (before, after, firm_call)]
            assert old is not None and new is not None and theirs is not None
            assert theirs.org_id == "gestoria"
            assert (_first_step(old), _first_step(new)) == (30 * 60, 60)

            # A file that is not valid: the reload is refused, the organisations stay as they were.
            (configs / "gestoria.yaml").write_text("organization: {name: ''}\n", encoding="utf-8")
            server.process.send_signal(signal.SIGHUP)
            await eventually(lambda: _said(server, "configuration not reloaded"), timeout=20)
            assert "organization.name" in server.output()
            again = await _call(http, server, GESTORIA_NUMBER)
            card = await _card(postgres, again)
            assert card is not None and card.org_id == "gestoria"
        finally:
            server.stop()


async def _call(http: httpx.AsyncClient, server: CentralitaProcess, to: str) -> str:
    sid = new_call_sid()
    # A number of its own per call: a repeat caller's call would go on their open card.
    caller = "+346120" + sid[-5:].translate(str.maketrans("abcdef", "123456"))
    base = {"CallSid": sid, "From": caller, "To": to}
    for path, params in (
        ("/twilio/voice", base),
        ("/twilio/voice/gather", {**base, "SpeechResult": "Quería información"}),
        ("/twilio/voice/status", {**base, "CallStatus": "completed"}),
    ):
        assert (await server.post(http, path, params)).status_code < 500
    return sid


async def _card(db: Database, sid: str) -> Card | None:
    found = await db.query(select(Card).where(Card.call_sid == sid))
    return found[0] if found else None


async def _said(server: CentralitaProcess, line: str) -> bool:
    return line in server.output()


def _first_step(card: Card) -> float:
    """After how many seconds the card's first escalation step fires, as copied onto it."""
    return float(card.escalation_policy["steps"][0]["after"])
