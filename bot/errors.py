"""Mistakes the person running Centralita can fix (settings, files, servers that are not there)."""

from __future__ import annotations


class UserError(Exception):
    """The command line prints the message (what is wrong, what to do) and exits with status 2,
    without a traceback."""
