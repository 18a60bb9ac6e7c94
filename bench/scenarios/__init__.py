"""One module per figure: (a) webhook, (b) claims, (c) card latency, (d) burst, (e) escalation.

(f), memory, is read from the servers the other figures run against.
"""
