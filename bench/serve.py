"""``python -m bench.serve WHICH PORT [--db URL] [--schema S] [--slack URL] [--clock office|real]
[--config FILE] [--setting NAME=VALUE …]``

Serves one app the way ``centralita serve`` does (uvicorn.run, same options) in its own process,
so the load generator in the bench process never shares the server's CPU or event loop.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Sequence
from typing import Any

import uvicorn

from bench.constants import HOST

APPS = ("bare", "minimal", "centralita")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _logging()
    app = build(args)
    uvicorn.run(app, host=HOST, port=args.port, log_level="warning", proxy_headers=True)
    return 0


def build(args: argparse.Namespace) -> Any:
    module = importlib.import_module(f"bench.apps.{args.which}")
    if args.which == "bare":
        return module.build_app()
    connect_args = {"server_settings": {"search_path": args.schema}} if args.schema else {}
    public_url = f"http://{HOST}:{args.port}"
    if args.which == "minimal":
        return module.build_app(args.db, connect_args, public_url)
    settings = dict(_setting(item) for item in args.setting)
    return module.build_app(
        args.db, connect_args, public_url, args.slack, args.clock, args.spool, args.config, settings
    )


def _setting(item: str) -> tuple[str, str]:
    name, equals, value = item.partition("=")
    if not equals:
        raise SystemExit(f"--setting {item!r}: expected NAME=VALUE")
    return name, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("which", choices=APPS)
    parser.add_argument("port", type=int)
    parser.add_argument("--db", help="async database URL (minimal, centralita)")
    parser.add_argument("--schema", help="PostgreSQL schema (search_path)")
    parser.add_argument("--slack", help="Slack Web API base URL (centralita)")
    parser.add_argument("--clock", choices=("office", "real"), default="office")
    parser.add_argument("--spool", help="outage spool directory (centralita; default: a fresh temporary one)")
    parser.add_argument(
        "--config", help="organisation file (centralita; default: tests/fixtures/clinic.yaml)"
    )
    parser.add_argument(
        "--setting", action="append", default=[], help="NAME=VALUE, a setting over the defaults (centralita)"
    )
    return parser


def _logging() -> None:
    """As ``centralita serve`` logs (bot.cli.main), minus the level taken from the environment."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


if __name__ == "__main__":
    raise SystemExit(main())
