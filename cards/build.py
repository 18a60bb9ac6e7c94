"""What a card shows in each state: facts in, neutral view out."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.phones import format_phone
from bot.i18n import t, t_or
from cards.actions import ActionId, CardStatus, Outcome
from cards.customer import customer_fields, is_customer_card
from cards.model import (
    ActionView,
    CardFacts,
    CardView,
    FieldView,
    FormView,
    InputView,
    OptionView,
    Style,
    TransferFacts,
)

PRIORITY_EMOJI = {"urgent": "🔴", "high": "🟠", "normal": "🔵", "low": "⚪"}
_ACTIONS_BY_STATUS: dict[CardStatus, tuple[ActionId, ...]] = {
    CardStatus.OPEN: (ActionId.CLAIM, ActionId.SCHEDULE_CALLBACK, ActionId.ADD_NOTE, ActionId.REASSIGN),
    CardStatus.CLAIMED: (ActionId.RELEASE, ActionId.SCHEDULE_CALLBACK, ActionId.ADD_NOTE, ActionId.REASSIGN),
    CardStatus.CALLBACK: (ActionId.RELEASE, ActionId.SCHEDULE_CALLBACK, ActionId.ADD_NOTE, ActionId.REASSIGN),
    CardStatus.RESOLVED: (),
}
_DIRECT_ACTIONS_BY_STATUS: dict[CardStatus, frozenset[ActionId]] = {
    CardStatus.OPEN: frozenset({ActionId.CLAIM}),
    CardStatus.CLAIMED: frozenset(),
    CardStatus.CALLBACK: frozenset({ActionId.CALL_NOW, ActionId.RESCHEDULE_CALLBACK, ActionId.CALLBACK_DONE}),
    CardStatus.RESOLVED: frozenset(),
}
"""What a direct message may offer in each state of its card (an escalation DM: Claim while the
card is open; a callback reminder: Call now and Done while the callback stands)."""


def build_card(facts: CardFacts, now: datetime) -> CardView:
    """The neutral view of a card in its current state, as seen at ``now``."""
    title = card_title(facts)
    headline = (
        facts.caller_name or format_phone(facts.caller_number) or t(facts.locale, "card.unknown_caller")
    )
    summary = facts.summary or _source_summary(facts)
    return CardView(
        card_id=facts.card_id,
        revision=facts.version,
        status=facts.status,
        priority=facts.priority,
        title=title,
        headline=headline,
        fields=_fields(facts, now),
        said_label=t(facts.locale, "card.said"),
        summary=summary,
        status_line=_status_line(facts, now),
        escalation_line=_escalation_line(facts),
        recording_label=t(facts.locale, "card.recording") if facts.recording_url else None,
        recording_url=facts.recording_url,
        actions=_actions(facts),
        fallback_text=t(facts.locale, "card.fallback", title=title, caller=headline, summary=summary),
        timezone=facts.timezone,
    )


def card_title(facts: CardFacts) -> str:
    return t(
        facts.locale,
        "card.title",
        emoji=PRIORITY_EMOJI.get(facts.priority, "⚪"),
        priority=priority_label(facts.locale, facts.priority),
        category=category_label(facts.locale, facts.category),
    )


def priority_label(locale: str, priority: str) -> str:
    return t_or(locale, f"priority.{priority}", priority.capitalize())


def category_label(locale: str, category: str) -> str:
    return t_or(locale, f"category.{category}", category.replace("_", " ").capitalize())


def outcome_label(locale: str, outcome: Outcome) -> str:
    return t(locale, f"outcome.{outcome.value}")


def format_when(moment: datetime, timezone: str, locale: str, now: datetime) -> str:
    """``hoy 10:32``, ``mañana 09:00`` or ``24/11 09:00``, in the organisation's time zone."""
    zone = ZoneInfo(timezone)
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return t(locale, "time.today", time=clock)
    if local.date() == today + timedelta(days=1):
        return t(locale, "time.tomorrow", time=clock)
    return t(locale, "time.date", date=local.strftime("%d/%m" if locale == "es" else "%m/%d"), time=clock)


def _source_summary(facts: CardFacts) -> str:
    if facts.source in ("missed", "voicemail"):
        return t(facts.locale, f"card.summary.{facts.source}")
    if is_customer_card(facts) and facts.media:
        return t(facts.locale, "card.summary.media")
    return ""


def _fields(facts: CardFacts, now: datetime) -> tuple[FieldView, ...]:
    loc = facts.locale

    def when(moment: datetime) -> str:
        return format_when(moment, facts.timezone, loc, now)

    rows: list[tuple[str, str | None]] = [
        ("card.field.phone", format_phone(facts.caller_number) if facts.caller_name else None),
        ("card.field.company", facts.company),
        ("card.field.for", facts.addressee_name),
        ("card.field.team", facts.team_name),
        ("card.field.received", when(facts.created_at)),
        (
            "card.field.deadline",
            when(facts.claim_deadline) if facts.claim_deadline and _awaits_claim(facts) else None,
        ),
        ("card.field.taken_by", facts.created_by_name),
        ("card.field.transfer_wait", _hold_left(facts, now)),
        ("card.field.calls", _calls(facts)),
    ]
    rows += customer_fields(facts, now)
    return tuple(FieldView(t(loc, key), value) for key, value in rows if value)


def _local_time(moment: datetime, timezone: str, fmt: str = "%H:%M") -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime(fmt)


def _hold_left(facts: CardFacts, now: datetime) -> str | None:
    """The caller's time left on hold, while the card offers the transfer."""
    transfer = facts.transfer
    if transfer is None or transfer.state != "waiting" or transfer.hold_until is None:
        return None
    seconds = int((transfer.hold_until - now).total_seconds())
    if seconds <= 0:
        return t(facts.locale, "card.transfer.over")
    until = _local_time(transfer.hold_until, facts.timezone, "%H:%M:%S")
    return t(facts.locale, "card.transfer.left", seconds=seconds, until=until)


def _calls(facts: CardFacts) -> str | None:
    """ "called 3 times, last at 10:41", for a card that more calls were merged into."""
    if facts.call_count < 2 or facts.last_call_at is None:
        return None
    time = _local_time(facts.last_call_at, facts.timezone)
    return t(facts.locale, "card.calls", count=facts.call_count, time=time)


def _awaits_claim(facts: CardFacts) -> bool:
    return facts.status is CardStatus.OPEN and facts.claim_deadline is not None


def _status_line(facts: CardFacts, now: datetime) -> str:
    if facts.transfer is not None and facts.status is not CardStatus.RESOLVED:
        line = _transfer_line(facts, facts.transfer)
        if line is not None:
            return line
    loc = facts.locale
    if facts.status is CardStatus.CLAIMED:
        return t(loc, "card.status.claimed", name=facts.claimed_by_name or "?")
    if facts.status is CardStatus.CALLBACK:
        when = format_when(facts.callback_at, facts.timezone, loc, now) if facts.callback_at else "?"
        return t(loc, "card.status.callback", name=facts.claimed_by_name or "?", when=when)
    if facts.status is CardStatus.RESOLVED:
        outcome = outcome_label(loc, facts.outcome or Outcome.RESOLVED)
        return t(loc, "card.status.resolved", name=facts.resolved_by_name or "?", outcome=outcome)
    return t(loc, "card.status.open")


def _transfer_line(facts: CardFacts, transfer: TransferFacts) -> str | None:
    """What a live transfer says about the card, in the states it decides (None: the card's own)."""
    loc, name = facts.locale, transfer.staff_name or "?"
    if transfer.state == "connected" and transfer.connected_at is not None:
        time = _local_time(transfer.connected_at, facts.timezone)
        return t(loc, "card.status.transfer_connected", name=name, time=time)
    if transfer.state == "ringing" and facts.status is CardStatus.CLAIMED:
        line = t(loc, "card.status.transfer_ringing", name=name)
        return f"{line} · {transfer.notice}" if transfer.notice else line
    if facts.status is not CardStatus.OPEN:
        return None
    line = t(loc, f"card.status.transfer_{transfer.state}")
    if transfer.notice and transfer.state == "waiting":
        line += " · " + t(loc, "card.transfer.notice", notice=transfer.notice)
    return line


def _escalation_line(facts: CardFacts) -> str | None:
    if not facts.escalated_to_names or facts.status is CardStatus.RESOLVED:
        return None
    return t(facts.locale, "card.escalated", names=", ".join(facts.escalated_to_names))


def _actions(facts: CardFacts) -> tuple[ActionView, ...]:
    ids = list(_ACTIONS_BY_STATUS[facts.status])
    if _offers_transfer(facts):
        ids.insert(0, ActionId.ACCEPT_TRANSFER)
    if facts.status is not CardStatus.RESOLVED:
        if is_customer_card(facts) and not facts.opted_out:
            ids.insert(1, ActionId.REPLY_CUSTOMER)
        ids.append(ActionId.RESOLVE)
    return tuple(action_view(a, facts.card_id, facts.locale, facts.staff) for a in ids)


def _offers_transfer(facts: CardFacts) -> bool:
    """Accept transfer is offered while the card is open and its caller waits on hold."""
    return (
        facts.status is CardStatus.OPEN and facts.transfer is not None and facts.transfer.state == "waiting"
    )


def direct_actions(facts: CardFacts, wanted: list[ActionId]) -> tuple[ActionView, ...]:
    """The ``wanted`` actions of a DM that the card, as it is now, still offers."""
    offered = _DIRECT_ACTIONS_BY_STATUS[facts.status]
    return tuple(action_view(a, facts.card_id, facts.locale) for a in wanted if a in offered)


def action_view(
    action: ActionId, card_id: int, locale: str, staff: tuple[OptionView, ...] = ()
) -> ActionView:
    """What doing ``action`` on the card takes: its label and, when a click is not enough, its form
    (``staff``: the organisation's staff members, label their name and value their staff id)."""
    style: Style = "primary" if action in (ActionId.CLAIM, ActionId.ACCEPT_TRANSFER) else "default"
    label = t(locale, f"card.action.{action.value}")
    return ActionView(action, label, card_id, style=style, form=action_form(action, locale, staff))


def action_form(
    action: ActionId,
    locale: str,
    staff: tuple[OptionView, ...] = (),
    *,
    outcome: Outcome | None = None,
    when: datetime | None = None,
) -> FormView | None:
    """The form ``action`` needs (None: a click does it). ``outcome`` and ``when`` are the values
    shown first, where the renderer knows better than the card (the outcome picked on it; the
    next hour, at the time the form is opened)."""
    if action is ActionId.RESOLVE:
        return _form(
            locale,
            "resolve",
            "modal.resolve.submit",
            _outcome_input(locale, outcome),
            _note(locale, "modal.resolve.note", False),
        )
    if action is ActionId.ADD_NOTE:
        return _form(locale, "note", "modal.submit", _note(locale, "modal.note.text", True))
    if action is ActionId.REPLY_CUSTOMER:
        return _form(locale, "reply", "modal.reply.submit", _note(locale, "modal.reply.text", True))
    if action is ActionId.REASSIGN:
        label = t(locale, "card.action.reassign")
        return _form(locale, "reassign", "modal.submit", InputView("assignee", "staff", label, choices=staff))
    if action in (ActionId.SCHEDULE_CALLBACK, ActionId.RESCHEDULE_CALLBACK):
        moment = InputView(
            "when", "datetime", t(locale, "modal.callback.when"), initial=when.isoformat() if when else None
        )
        who = InputView(
            "assignee", "staff", t(locale, "modal.callback.assignee"), choices=staff, actor_default=True
        )
        tell = InputView(
            "tell_caller",
            "choice",
            t(locale, "modal.callback.tell_caller"),
            required=False,
            choices=(OptionView(t(locale, "modal.callback.tell_caller_yes"), "yes"),),
        )
        note = _note(locale, "modal.callback.note", False)
        return _form(locale, "callback", "modal.submit", moment, who, note, tell)
    return None


def next_hour(now: datetime) -> datetime:
    """The first time a callback form offers: the next full hour."""
    return (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)


def _form(locale: str, name: str, submit: str, *inputs: InputView) -> FormView:
    return FormView(t(locale, f"modal.{name}.title"), t(locale, submit), t(locale, "modal.cancel"), inputs)


def _note(locale: str, label: str, required: bool) -> InputView:
    return InputView("note", "text", t(locale, label), required=required, multiline=True)


def _outcome_input(locale: str, chosen: Outcome | None) -> InputView:
    choices = tuple(OptionView(outcome_label(locale, o), o.value) for o in Outcome)
    label = t(locale, "modal.resolve.outcome")
    return InputView("outcome", "choice", label, choices=choices, initial=chosen.value if chosen else None)
