"""What one run measured: the bare baseline once, then each database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.figure import Outcome
from bench.load import LoadResult
from bench.scenarios.burst import Burst
from bench.scenarios.escalation import EscalationRun
from bench.scenarios.outage import OutageRun
from bench.scenarios.slack_outage import SlackOutage
from bench.scenarios.slow_slack import SlowSlackRun
from bench.stats import Summary, samples_ms


@dataclass
class BareRun:
    voice: LoadResult
    acks: LoadResult
    rss_idle_mb: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "voice": self.voice.as_dict(),
            "acks": self.acks.as_dict(),
            "rss_idle_mb": round(self.rss_idle_mb, 1),
        }


@dataclass
class DbRun:
    kind: str
    minimal: LoadResult = field(default_factory=LoadResult)
    minimal_rows: int = 0
    voice: LoadResult = field(default_factory=LoadResult)
    voice_rows: int = 0
    burst: Burst = field(default_factory=lambda: Burst(0))
    latency: list[float] = field(default_factory=list)
    claims: LoadResult = field(default_factory=LoadResult)
    claims_done: int = 0
    round_trips: list[float] = field(default_factory=list)
    blast: Burst = field(default_factory=lambda: Burst(0))
    escalation: EscalationRun = field(default_factory=lambda: EscalationRun(0, 0))
    slow_slack: SlowSlackRun = field(default_factory=SlowSlackRun)
    outage: OutageRun = field(default_factory=OutageRun)
    """(s), PostgreSQL only."""
    rss_idle_mb: float = 0.0
    rss_after_burst_mb: float = 0.0
    rss_end_mb: float = 0.0
    slack_outage: SlackOutage = field(default_factory=lambda: SlackOutage(0))
    extras: dict[str, Outcome] = field(default_factory=dict)
    """The figures of bench/extras.py, by their letters."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "minimal_voice": self.minimal.as_dict() | {"rows": self.minimal_rows},
            "voice": self.voice.as_dict() | {"rows": self.voice_rows},
            "burst": self.burst.as_dict(),
            "card_latency_ms": Summary.of_seconds(self.latency).as_dict(),
            "card_latency_samples_ms": samples_ms(self.latency),
            "claims": self.claims.as_dict() | {"claimed": self.claims_done},
            "standin_round_trip_ms": Summary.of_seconds(self.round_trips).as_dict(),
            "standin_round_trip_samples_ms": samples_ms(self.round_trips),
            "direct_blast": self.blast.as_dict(),
            "escalation": self.escalation.as_dict(),
            "slow_slack_claims": self.slow_slack.as_dict(),
            "outage": self.outage.as_dict(),
            "slack_outage": self.slack_outage.as_dict(),
            "extras": {letters: outcome.raw for letters, outcome in self.extras.items()},
            "rss_mb": {
                "idle": round(self.rss_idle_mb, 1),
                "after_burst": round(self.rss_after_burst_mb, 1),
                "end": round(self.rss_end_mb, 1),
            },
        }
