"""One module per figure or group of figures. The main server's: (a) webhook, (b) claims, (c)
card_latency, (d) burst, (u) slack_outage, direct (the Slack-side baselines); then (e) escalation,
(t) slow_slack, (s) outage. Those listed in bench/extras.py give the table their own rows: (g, h, d)
teams, (i) transfer, (j) reminders, (k, l) messaging, (m, n, o) reports, (p, r) organisations,
(q) erase.

(f), memory, is read from the servers the other figures run against.
"""
