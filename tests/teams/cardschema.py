"""The Adaptive Cards 1.5 JSON schema (from microsoft/AdaptiveCards, schemas/1.5.0/adaptive-card.json,
kept in tests/schemas/) as a validator every card the tests see goes through."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

SCHEMA = Path(__file__).parent.parent / "schemas" / "adaptive-card-1.5.json"


@cache
def _validator() -> Draft6Validator:
    return Draft6Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def assert_valid_card(card: dict[str, Any]) -> None:
    errors = sorted(_validator().iter_errors(card), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])
    assert card["version"] == "1.5"
