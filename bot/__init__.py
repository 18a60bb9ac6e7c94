"""Centralita: calls and messages become cards that staff claim, and that escalate when nobody does."""
