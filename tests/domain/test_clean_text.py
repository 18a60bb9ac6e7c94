"""Text from outside is made storable: no NUL, no lone surrogates, no control characters."""

from __future__ import annotations

import pytest

from bot.domain.text import clean_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Juan\x00 Pérez", "Juan Pérez"),
        ("línea uno\r\nlínea dos\tfin", "línea uno\nlínea dos\tfin"),
        ("\x1b[31mrojo\x1b[0m\x7f\x85\x9f", "[31mrojo[0m"),
        ("mitad \ud800 de un par \udfff", "mitad  de un par "),
        ("😀 👨‍👩‍👧 ¿qué tal? ñ", "😀 👨‍👩‍👧 ¿qué tal? ñ"),
        ("'; DROP TABLE card; --", "'; DROP TABLE card; --"),
        ("", ""),
    ],
)
def test_clean_text_keeps_what_people_write_and_drops_what_databases_refuse(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
    assert clean_text(clean) == clean
    clean_text(raw).encode("utf-8")  # no lone surrogate left: it encodes
