"""The figures the issue asks for, each with its baseline, ratio and target, from one database's run."""

from __future__ import annotations

from bench.figure import Figure, Target
from bench.results import BareRun, DbRun
from bench.stats import Summary

ONCALL_CARDS_PER_S = 5.3
ONCALL_P50_MS = 124.0
BASELINES = {
    "minimal": "FastAPI endpoint that checks the same X-Twilio-Signature and INSERTs one row",
    "bare": "FastAPI endpoint returning constant TwiML (no check, no database)",
    "bare 200": "bare endpoint answering 200 to the same click body",
    "sdk → stand-in": "one chat.postMessage from slack_sdk straight to the stand-in (send → arrival)",
    "sdk burst": "slack_sdk posting the same number of cards straight to the stand-in, same concurrency",
    "OnCall ref.": "Grafana OnCall hobby deployment, same kind of machine (not measured in this run)",
    "1 due alone": "the same server and table, one card falling due at a time",
    "bare RSS": "resident memory of the bare FastAPI server, idle",
    "Slack at once": "the same clicks on a fresh server whose Slack stand-in answers at once",
    "database up": "the same calls with the database up, just before the cut (time: the slowest webhook → card)",
    "slack up": "the same number of calls with Slack up: first request → last card",
    "Slack click → 200": "a Slack claim click → 200 on the same (Teams) server",
    "Slack claim → Slack update": "a Slack claim → Slack's own chat.update, same server",
    "Slack only": "the same burst on a Slack-only server",
    "twilio client → stand-in": "the twilio SDK making the same request straight to the Twilio stand-in",
    "a call's card, same harness": "a call's card (/twilio/voice/gather → card) on the same in-process server",
    "count(*) of the cards": "one count(*) of the organisation's cards on the same report engine",
    "nothing beside": "the same clicks on the same server just before, with no report running",
    "csv.reader alone": "the same CSV lines through csv.reader, nothing else",
    "empty database": "the same load on a second server, same run, on an empty database",
    "3 cards only": "the same erasure on a database holding only the number's 3 cards",
    "1 organisation": "the same server with one organisation, after one call",
}


def figures(run: DbRun, bare: BareRun) -> list[Figure]:
    return [
        *webhook(run, bare),
        *claim(run, bare),
        *card(run),
        *burst(run),
        *escalation(run),
        *memory(run, bare),
        *slow_slack(run),
        *outage(run),
        *slack_outage(run),
        *(figure for outcome in run.extras.values() for figure in outcome.figures),
    ]


def webhook(run: DbRun, bare: BareRun) -> list[Figure]:
    ours, minimal = run.voice.summary(), run.minimal.summary()
    label = "minimal"
    return [
        Figure("a.rps", "(a) POST /twilio/voice, 50 conns", "req/s", run.voice.rate, run.minimal.rate, label,
               Target(">=", 0.8, of_baseline=True)),
        Figure("a.rps_bare", "(a) POST /twilio/voice vs bare", "req/s", run.voice.rate, bare.voice.rate,
               "bare"),
        Figure("a.p50", "(a) /twilio/voice p50", "ms", ours.p50, minimal.p50, label),
        Figure("a.p99", "(a) /twilio/voice p99", "ms", ours.p99, minimal.p99, label),
    ]  # fmt: skip


def claim(run: DbRun, bare: BareRun) -> list[Figure]:
    ours, floor = run.claims.summary(), bare.acks.summary()
    label = "bare 200"
    return [
        Figure("b.p50", "(b) claim click → 200, p50", "ms", ours.p50, floor.p50, label),
        Figure("b.p99", "(b) claim click → 200, p99", "ms", ours.p99, floor.p99, label, Target("<=", 50)),
    ]


def card(run: DbRun) -> list[Figure]:
    ours, floor = Summary.of_seconds(run.latency), Summary.of_seconds(run.round_trips)
    label = "sdk → stand-in"
    return [
        Figure(
            "c.p50", "(c) gather → card at Slack, p50", "ms", ours.p50, floor.p50, label, Target("<=", 15)
        ),
        Figure(
            "c.p99", "(c) gather → card at Slack, p99", "ms", ours.p99, floor.p99, label, Target("<=", 60)
        ),
    ]


def burst(run: DbRun) -> list[Figure]:
    latency = Summary.of_seconds(run.burst.latencies)
    return [
        Figure("d.rate", "(d) burst: cards/s", "cards/s", run.burst.cards_per_s, run.blast.cards_per_s,
               "sdk burst", Target(">=", 100)),
        Figure("d.p50", "(d) burst: gather → card p50", "ms", latency.p50, ONCALL_P50_MS,
               "OnCall ref."),
    ]  # fmt: skip


def escalation(run: DbRun) -> list[Figure]:
    crowd, lone = run.escalation.crowd, run.escalation.lone
    audit, audit_lone = Summary.of_seconds(crowd.audit), Summary.of_seconds(lone.audit)
    seen, seen_lone = Summary.of_seconds(crowd.visible), Summary.of_seconds(lone.visible)
    label = "1 due alone"
    second = Target("<=", 1000)
    return [
        Figure("e.p50", "(e) escalation lateness p50", "ms", audit.p50, audit_lone.p50, label),
        Figure("e.p99", "(e) escalation lateness p99", "ms", audit.p99, audit_lone.p99, label, second),
        Figure("e.max", "(e) escalation lateness max", "ms", audit.max, audit_lone.max, label),
        Figure("e.seen_p99", "(e) due → seen on Slack, p99", "ms", seen.p99, seen_lone.p99, label),
    ]


def memory(run: DbRun, bare: BareRun) -> list[Figure]:
    label, limit = "bare RSS", Target("<=", 150)
    return [
        Figure("f.idle", "(f) RSS idle", "MB", run.rss_idle_mb, bare.rss_idle_mb, label, limit),
        Figure("f.burst", "(f) RSS after the burst", "MB", run.rss_after_burst_mb, bare.rss_idle_mb, label, limit),
        Figure("f.escalation", "(f) RSS, escalation server", "MB", run.escalation.rss_after_mb,
               bare.rss_idle_mb, label, limit),
    ]  # fmt: skip


def slow_slack(run: DbRun) -> list[Figure]:
    slow, fast = run.slow_slack.slow.summary(), run.slow_slack.fast.summary()
    first = run.slow_slack.first_ms
    label, limit = "Slack at once", Target("<=", 50)
    return [
        Figure("t.p99", "(t) claim → 200, Slack in 5 s, p99", "ms", slow.p99, fast.p99, label, limit),
        Figure("t.first", "(t) first click after start, Slack in 5 s", "ms", first(run.slow_slack.slow),
               first(run.slow_slack.fast), label, limit),
    ]  # fmt: skip


def outage(run: DbRun) -> list[Figure]:
    """(s): PostgreSQL only (the proxy cuts a TCP connection); SQLite shows a dash."""
    up, down, label = run.outage.up, run.outage.down, "database up"
    full = Target(">=", 100)
    return [
        Figure("s.answered", "(s) outage: webhooks answered with TwiML", "%", down.answered_share,
               up.answered_share, label, full),
        Figure("s.carded", "(s) outage: calls carded after recovery", "%", down.carded_share,
               up.carded_share, label, full),
        Figure("s.recovery", "(s) outage: recovery → last card", "ms", run.outage.recovery_ms,
               run.outage.baseline_ms, label, Target("<=", 5000)),
    ]  # fmt: skip


def slack_outage(run: DbRun) -> list[Figure]:
    found = run.slack_outage
    label = f"(u) Slack back → last of {found.cards} queued"
    return [
        Figure(
            "u.drain", label, "ms", found.drain * 1000, found.baseline * 1000, "slack up", Target("<=", 5000)
        ),
    ]
