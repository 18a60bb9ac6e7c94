"""Centralita's benchmark suite: ``python -m bench`` (or ``make bench``); see bench/README.md."""
