"""Slack: one Request URL (``POST /slack/events``) for clicks, modals and ``/recado``.

Every listener acknowledges first, decodes with a pure parser, then hands the use case to
``AfterAck``, so Slack gets its 200 as soon as the request is verified. (Bolt's own way,
``process_before_response=False``, polls for the ack every 10 ms; that alone cost most of a click's
acknowledgement time.) Modals are opened right after the ack, while the trigger id is still valid.
``/recado`` with text is the exception: its ack carries the result, so it writes first. Signatures
are checked by Bolt.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import modals
from adapters.slack.parse import Click, modal_context, parse_click, read_modal_context, state_value
from bot.domain.phones import normalize_phone, org_region
from bot.domain.recado import RecadoDraft, parse_recado
from bot.i18n import t
from bot.ports import Clock
from bot.services.directory import Directory, Org
from bot.services.handling import CardHandling, Requester
from bot.services.kept import KeptCallbacks
from bot.services.recados import RecadoResult, Recados
from bot.services.transfer import LiveTransfer
from cards.actions import ActionId, ActionRequest, Outcome

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
    transfer: LiveTransfer | None = None
    kept: KeptCallbacks | None = None


def build_bolt(client: AsyncWebClient, signing_secret: str, deps: SlackDeps, recado_command: str) -> AsyncApp:
    bolt = AsyncApp(client=client, signing_secret=signing_secret, process_before_response=True)
    _register_actions(bolt, deps)
    _register_modals(bolt, deps)
    _register_recado(bolt, deps, recado_command)
    return bolt


def slack_router(bolt: AsyncApp) -> APIRouter:
    handler = AsyncSlackRequestHandler(bolt)
    router = APIRouter()

    @router.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        try:
            return await handler.handle(request)
        except json.JSONDecodeError:  # Bolt decodes ``payload=`` before it checks the signature
            return JSONResponse({"error": "malformed Slack payload"}, status_code=400)

    return router


def _requester(click: Click) -> Requester:
    return Requester("slack", click.user, click.channel)


def _register_actions(bolt: AsyncApp, deps: SlackDeps) -> None:
    async def on_click(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            click = parse_click(body, action)
        except (KeyError, ValueError):
            log.warning("ignored a Slack action that names no card: %s", action.get("action_id"))
            return
        tell = _failure_notice(client, deps, click.user, click.channel)
        deps.after_ack.run(_dispatch_click(click, deps, client), click.action_id, tell)

    for action_id in ActionId:
        bolt.action(action_id.value)(on_click)


async def _dispatch_click(click: Click, deps: SlackDeps, client: AsyncWebClient) -> None:
    who, handling = _requester(click), deps.handling
    if click.action_id == ActionId.CLAIM:
        await handling.claim(click.card_id, who)
    elif click.action_id == ActionId.RELEASE:
        await handling.release(click.card_id, who)
    elif click.action_id == ActionId.REASSIGN and click.selected_user:
        await handling.reassign(click.card_id, who, click.selected_user)
    elif click.action_id == ActionId.ACCEPT_TRANSFER and deps.transfer is not None:
        await deps.transfer.accept(click.card_id, who)
    elif click.action_id == ActionId.CALL_NOW and deps.kept is not None:
        await _call_now(click, deps, who)
    elif click.action_id == ActionId.CALLBACK_DONE:
        await handling.perform(ActionRequest(ActionId.CALLBACK_DONE, click.card_id), who)
    elif click.action_id in _MODAL_ACTIONS:
        await _open_card_modal(click, deps, client)


_MODAL_ACTIONS = (
    ActionId.ADD_NOTE,
    ActionId.SCHEDULE_CALLBACK,
    ActionId.RESCHEDULE_CALLBACK,
    ActionId.RESOLVE,
)


async def _call_now(click: Click, deps: SlackDeps, who: Requester) -> None:
    """Click-to-call; when it cannot ring, the person is told why (privately, through the outbox)."""
    assert deps.kept is not None
    refused = await deps.kept.call_now(click.card_id, who.channel, who.user_ref)
    if refused is not None:
        await deps.handling.tell(who, refused, click.card_id)


async def _open_card_modal(click: Click, deps: SlackDeps, client: AsyncWebClient) -> None:
    found = deps.directory.by_staff("slack", click.user)
    locale = found[0].locale if found else deps.directory.default.locale
    metadata = modal_context(click.card_id, click.channel)
    if click.action_id == ActionId.ADD_NOTE:
        view = modals.note_modal(locale, metadata)
    elif click.action_id == ActionId.RESOLVE:
        view = modals.resolve_modal(locale, metadata, click.outcome or Outcome.RESOLVED)
    else:
        view = modals.callback_modal(locale, metadata, deps.clock.now(), click.user)
    await client.views_open(trigger_id=click.trigger_id, view=view)


def _register_modals(bolt: AsyncApp, deps: SlackDeps) -> None:
    @bolt.view(modals.NOTE)
    async def on_note(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        card_id, channel = read_modal_context(view)
        if card_id is not None:
            who = Requester("slack", body["user"]["id"], channel)
            work = deps.handling.add_note(card_id, who, state_value(view, "note"))
            deps.after_ack.run(work, "note", _failure_notice(client, deps, who.user_ref, channel))

    @bolt.view(modals.RESOLVE)
    async def on_resolve(
        ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = body["user"]["id"]
        try:
            outcome = Outcome(state_value(view, "outcome") or "")
        except ValueError:
            error = t(_org_of(deps, user).locale, "modal.error.outcome")
            await ack(response_action="errors", errors={"outcome": error})
            return
        await ack()
        card_id, channel = read_modal_context(view)
        if card_id is not None:
            who, note = Requester("slack", user, channel), state_value(view, "note") or ""
            tell = _failure_notice(client, deps, user, channel)
            deps.after_ack.run(deps.handling.resolve(card_id, who, outcome, note), "resolve", tell)

    @bolt.view(modals.CALLBACK)
    async def on_callback(
        ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        card_id, channel = read_modal_context(view)
        when, user = state_value(view, "when"), body["user"]["id"]
        locale = _org_of(deps, user).locale
        if when is None or when <= deps.clock.now():
            await ack(response_action="errors", errors={"when": t(locale, "ephemeral.callback_past")})
            return
        await ack()
        if card_id is not None:
            who = Requester("slack", user, channel)
            work = deps.handling.schedule_callback(
                card_id,
                who,
                when,
                state_value(view, "assignee"),
                state_value(view, "note"),
                tell_caller=bool(state_value(view, "tell_caller")),
            )
            deps.after_ack.run(work, "callback", _failure_notice(client, deps, user, channel))

    @bolt.view(modals.RECADO)
    async def on_recado(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        user = body["user"]["id"]
        org = _org_of(deps, user)
        draft, errors = _draft_from_modal(view, org.locale, org_region(org.config.organization))
        if errors or draft is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        _, channel = read_modal_context(view)
        work = deps.recados.post(Requester("slack", user, channel or user), draft)
        deps.after_ack.run(work, "recado", _failure_notice(client, deps, user, channel))


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


def _org_of(deps: SlackDeps, user: str) -> Org:
    """The organisation of the staff member behind a Slack user, else the default one."""
    found = deps.directory.by_staff("slack", user)
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
        who = Requester("slack", command["user_id"], None)
        author = deps.recados.author(who)
        if isinstance(author, RecadoResult):
            await ack(author.message)
            return
        org, _ = author
        text = (command.get("text") or "").strip()
        if not text:
            await ack()
            metadata = modal_context(None, command.get("channel_id"))
            modal = modals.recado_modal(org.config, metadata)
            opening = client.views_open(trigger_id=command["trigger_id"], view=modal)
            deps.after_ack.run(opening, "recado-modal")
            return
        result = await deps.recados.post(who, parse_recado(text, org.config))
        await ack(result.message)
