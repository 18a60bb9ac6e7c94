"""The apps ``python -m bench.serve`` can serve: Centralita and its two baselines.

Each module imports only what its app needs, so the bare baseline's memory is a fair floor.
"""
