"""Pure domain: card states, triage, business hours, policies. No I/O, no SDK, no project imports."""
