"""Slack: one Request URL (``POST /slack/events``) for clicks, modals and ``/recado``.

Every listener acknowledges first, decodes with a pure parser, then hands the use case to
``AfterAck``, so Slack gets its 200 as soon as the request is verified. (Bolt's own way,
``process_before_response=False``, polls for the ack every 10 ms; that alone cost most of a click's
acknowledgement time.) Modals are opened right after the ack, while the trigger id is still valid.
``/recado`` is acknowledged before its card is written too; its answer goes through the command's
``response_url``.

The route checks Slack's signature on the raw body before anything is decoded (401 otherwise), then
has Bolt decode and dispatch it (Bolt checks the signature again). A signed request that is not what
our buttons, modals and command send is refused with 400 and one WARNING line: listeners parse
before they ack, and a parse that finds the payload is not ours raises ``MalformedSlackRequest``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import BoltResponse
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import modals
from adapters.slack.home import HomeTabs
from adapters.slack.inbound import SlackSignature, bolt_request
from adapters.slack.parse import (
    Click,
    MalformedSlackRequest,
    form_values,
    modal_context,
    modal_reply_url,
    neutral_mentions,
    parse_click,
    parse_command,
    read_modal_context,
    slack_user,
    slack_workspace,
    state_value,
)
from adapters.slack.privacy import register_privacy
from bot.domain.phones import normalize_phone, org_region
from bot.domain.recado import RecadoDraft, parse_recado
from bot.i18n import t
from bot.ports import Clock
from bot.services.directory import Directory, Org
from bot.services.handling import CardHandling, Requester
from bot.services.privacy_desk import PrivacyDesk
from bot.services.recados import RecadoResult, Recados
from cards.actions import ActionId, ActionRequest
from cards.build import action_form, next_hour
from cards.model import FormView

log = logging.getLogger("centralita.slack")


Tell = Callable[[], Awaitable[Any]]
"""Tells the person who clicked that their action failed after it was acknowledged."""


class AfterAck:
    """Work that runs once Slack has its acknowledgement: referenced until done; a failure is logged
    and the person is told, so nobody believes a claim went through when it did not."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def run(self, work: Coroutine[Any, Any, Any], what: str, tell: Tell | None = None) -> None:
        task = asyncio.create_task(self._guarded(work, what, tell), name=f"slack-{what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, grace: float = 5.0) -> None:
        """Let the work in flight finish (at shutdown), for at most ``grace`` seconds."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, Any], what: str, tell: Tell | None) -> None:
        try:
            await work
        except Exception:  # the click was acknowledged; say what failed, keep the server going
            log.exception("Slack %s failed after its acknowledgement", what)
            if tell is not None:
                await _quietly(tell, what)


async def _quietly(tell: Tell, what: str) -> None:
    try:
        await tell()
    except Exception:  # Slack itself may be what failed
        log.warning("could not tell the user that Slack %s failed", what, exc_info=True)


@dataclass(frozen=True)
class SlackDeps:
    handling: CardHandling
    recados: Recados
    directory: Directory
    clock: Clock
    after_ack: AfterAck = field(default_factory=AfterAck)
    homes: HomeTabs | None = None
    privacy: PrivacyDesk | None = None


def build_bolt(
    client: AsyncWebClient,
    signing_secret: str,
    authorize: Callable[..., Awaitable[Any]],
    deps: SlackDeps,
    recado_command: str,
) -> AsyncApp:
    """Bolt with our client (one pooled session) and an ``authorize`` that answers from memory
    (``adapters.slack.workspaces``), never from Slack."""
    _quiet_bolt_start()
    bolt = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        authorize=authorize,
        process_before_response=True,
    )
    bolt.error(_refuse_malformed)
    _register_actions(bolt, deps)
    _register_modals(bolt, deps)
    _register_recado(bolt, deps, recado_command)
    _register_home(bolt, deps)
    if deps.privacy is not None:
        register_privacy(bolt, deps.privacy, deps.after_ack.run)
    return bolt


def _register_home(bolt: AsyncApp, deps: SlackDeps) -> None:
    """App Home: published when the person opens it, and again after each of their clicks."""

    @bolt.event("app_home_opened")
    async def on_home(ack: Any, event: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = str(event.get("user") or "")
        if deps.homes is not None and user and event.get("tab", "home") == "home":
            deps.after_ack.run(deps.homes.on_opened(client, user), "home")


class _ExpectedWarnings(logging.Filter):
    """Drops the two warnings Bolt prints at every start because we give it a client and an
    ``authorize`` on purpose ("`token` will be unused", "`token` … will be ignored")."""

    MESSAGES = frozenset({warning_client_prioritized_and_token_skipped(), warning_token_skipped()})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.MESSAGES


def _quiet_bolt_start() -> None:
    bolt_log = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _ExpectedWarnings) for f in bolt_log.filters):
        bolt_log.addFilter(_ExpectedWarnings())


def slack_router(bolt: AsyncApp, signing_secret: str) -> APIRouter:
    signature = SlackSignature(signing_secret)
    router = APIRouter()

    @router.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        refusal = signature.refusal(request.headers, body)
        if refusal is not None:
            return JSONResponse({"error": refusal}, status_code=401)
        try:
            verified = bolt_request(request, body)
        except MalformedSlackRequest as error:
            _warn_malformed(error)
            return JSONResponse({"error": f"malformed Slack request: {error}"}, status_code=400)
        return to_starlette_response(await bolt.async_dispatch(verified))

    return router


async def _refuse_malformed(error: Exception) -> BoltResponse | None:
    """Bolt's error handler: a listener's parse found the payload is not ours (400, one warning);
    anything else is a bug, logged with its traceback (Bolt answers 500)."""
    if isinstance(error, MalformedSlackRequest):
        _warn_malformed(error)
        return BoltResponse(status=400, body={"error": f"malformed Slack request: {error}"})
    log.error("Slack listener failed", exc_info=error)
    return None


def _warn_malformed(error: MalformedSlackRequest) -> None:
    log.warning("refused a signed Slack request that is not ours: %s", error)


def _requester(click: Click) -> Requester:
    return Requester("slack", click.user, click.channel, workspace=click.workspace)


def _register_actions(bolt: AsyncApp, deps: SlackDeps) -> None:
    async def on_click(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        click = parse_click(body, action)  # pure and quick; a payload that is not ours is a 400
        await ack()
        tell = _failure_notice(client, deps, click.user, click.channel)
        deps.after_ack.run(_handle_click(click, deps, client), click.action_id, tell)

    for action_id in ActionId:
        bolt.action(action_id.value)(on_click)


async def _handle_click(click: Click, deps: SlackDeps, client: AsyncWebClient) -> None:
    """The click's action, then the clicker's App Home as it leaves things."""
    await _dispatch_click(click, deps, client)
    if deps.homes is None:
        return
    try:
        await deps.homes.after_click(client, click.user)
    except Exception:  # the action went through; a stale home is refreshed when next opened
        log.warning("could not refresh the App Home of %s", click.user, exc_info=True)


async def _dispatch_click(click: Click, deps: SlackDeps, client: AsyncWebClient) -> None:
    """A click that is the whole action goes to the card's handling; a users select is a
    reassignment with its answer; anything else opens the action's form as a modal."""
    action = ActionId(click.action_id)
    if click.card_id is None:
        await deps.handling.no_such_card(_requester(click))
        return
    if click.selected_user:
        request = ActionRequest(action, click.card_id, staff=click.selected_user)
        await deps.handling.perform(request, _requester(click))
        return
    org = _org_of(deps, click.user, click.workspace)
    form = action_form(
        action, org.locale, org.staff_choices, outcome=click.outcome, when=next_hour(deps.clock.now())
    )
    if form is None:
        await deps.handling.perform(ActionRequest(action, click.card_id), _requester(click))
        return
    metadata = modal_context(click.card_id, click.channel)
    view = modals.form_modal(action, form, metadata, click.user)
    await client.views_open(trigger_id=click.trigger_id, view=view)


def _register_modals(bolt: AsyncApp, deps: SlackDeps) -> None:
    for action in ActionId:
        if action_form(action, "es") is not None:
            bolt.view(modals.form_callback_id(action))(_form_submission(deps, action))

    @bolt.view(modals.RECADO)
    async def on_recado(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        user, (_, channel), reply_url = slack_user(body), read_modal_context(view), modal_reply_url(view)
        org = _org_of(deps, user, slack_workspace(body))
        draft, errors = _draft_from_modal(view, org.locale, org_region(org.config.organization))
        if errors or draft is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        who = Requester("slack", user, channel or user, reply_url, slack_workspace(body))
        work = deps.recados.post(who, draft)
        deps.after_ack.run(work, "recado", _failure_notice(client, deps, user, channel))


def _form_submission(deps: SlackDeps, action: ActionId) -> Callable[..., Awaitable[None]]:
    """The submission of an action's modal: its answers checked (the person is told at once in the
    modal what is missing), acknowledged, then the action done."""

    async def on_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        user, (card_id, channel) = slack_user(body), read_modal_context(view)
        locale = _org_of(deps, user, slack_workspace(body)).locale
        form = action_form(action, locale)
        assert form is not None
        values = form_values(view, form)
        errors = _form_errors(form, values, locale, deps.clock.now())
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        who = Requester("slack", user, channel, workspace=slack_workspace(body))
        if card_id is None:
            work = deps.handling.no_such_card(who)
        else:
            work = deps.handling.perform(ActionRequest.from_inputs(action, card_id, values), who)
        deps.after_ack.run(work, action.value, _failure_notice(client, deps, user, channel))

    return on_submit


def _form_errors(form: FormView, values: dict[str, Any], locale: str, now: datetime) -> dict[str, str]:
    """What a submitted form lacks, by input: a choice not one of its choices, a time not in the future."""
    errors: dict[str, str] = {}
    for asked in form.inputs:
        value = values.get(asked.name)
        if (
            asked.kind == "choice"
            and (value or asked.required)
            and value not in {o.value for o in asked.choices}
        ):
            errors[asked.name] = t(locale, "modal.error.outcome")
        elif asked.kind == "datetime" and (value is None or value <= now):
            errors[asked.name] = t(locale, "ephemeral.callback_past")
    return errors


def _failure_notice(client: AsyncWebClient, deps: SlackDeps, user: str, channel: str | None) -> Tell:
    """An ephemeral "that did not work, try again" in the channel of the click (a DM without one),
    sent straight to Slack: the outbox lives in the database, which may be what failed. Nothing is
    looked up unless it is needed."""

    async def tell() -> None:
        text = t(_org_of(deps, user).locale, "ephemeral.failed")
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            await client.chat_postMessage(channel=user, text=text)

    return tell


def _org_of(deps: SlackDeps, user: str, workspace: str | None = None) -> Org:
    """The organisation of the staff member behind a Slack user (of that workspace), else the
    default one."""
    found = deps.directory.by_staff("slack", user, workspace)
    return found[0] if found else deps.directory.default


def _draft_from_modal(
    view: dict[str, Any], locale: str, region: str
) -> tuple[RecadoDraft | None, dict[str, str]]:
    """The modal's fields as a draft (a national number is read in the organisation's region)."""
    raw_phone, reason = state_value(view, "phone"), state_value(view, "reason")
    phone = normalize_phone(raw_phone, region) if raw_phone else None
    errors: dict[str, str] = {}
    if raw_phone and phone is None:
        errors["phone"] = t(locale, "modal.error.phone")
    if not reason:
        errors["reason"] = t(locale, "modal.error.required")
    if errors:
        return None, errors
    kind, _, addressee = (state_value(view, "to") or "").partition(":")
    return RecadoDraft(
        caller_name=state_value(view, "name") or None,
        caller_number=phone,
        addressee_kind=kind if kind in ("team", "person") else None,  # type: ignore[arg-type]
        addressee_id=addressee or None,
        urgent=bool(state_value(view, "urgent")),
        reason=reason,
    ), {}


def _register_recado(bolt: AsyncApp, deps: SlackDeps, command: str) -> None:
    @bolt.command(command)
    async def on_recado(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        """Acknowledged before anything is written: the card is opened afterwards, and the person is
        answered through the command's response URL (which works where the app is no member)."""
        typed = parse_command(command)
        user, channel, reply_url = typed.user, typed.channel, typed.reply_url
        author = deps.recados.author(Requester("slack", user, None, workspace=typed.workspace))
        if isinstance(author, RecadoResult):
            await ack(author.message)
            return
        org, _ = author
        text = typed.text
        if not text:
            await ack()
            metadata = modal_context(None, channel, reply_url)
            modal = modals.recado_modal(org.config, metadata)
            opening = client.views_open(trigger_id=typed.trigger_id, view=modal)
            deps.after_ack.run(opening, "recado-modal")
            return
        draft = parse_recado(neutral_mentions(text, org.config), org.config)
        refused = deps.recados.refusal(org, draft)
        if refused is not None:
            await ack(refused.message)
            return
        await ack()
        who = Requester("slack", user, channel, reply_url, typed.workspace)
        deps.after_ack.run(
            deps.recados.post(who, draft), "recado", _failure_notice(client, deps, user, channel)
        )
