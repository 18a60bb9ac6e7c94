"""README.es.md (the installer's part, in Spanish) is kept in step with README.md: the same
environment variables and the same commands."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _section(text: str, start: str, end: str) -> str:
    begin = text.index(start) + len(start)
    return text[begin : text.index(end, begin)]


def test_the_spanish_readme_names_every_variable_and_command_of_the_english_one() -> None:
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    spanish = (ROOT / "README.es.md").read_text(encoding="utf-8")
    variables = re.findall(
        r"^\| `([A-Z][A-Z0-9_]+)`", _section(english, "### Environment variables", "###"), re.M
    )
    commands = re.findall(
        r"^\| `(centralita [a-z-]+(?: [a-z]+)?)", _section(english, "## CLI reference", "## "), re.M
    )

    assert len(variables) > 10 and len(commands) > 8
    assert [v for v in variables if f"`{v}`" not in spanish] == []
    assert [c for c in commands if c not in spanish] == []
