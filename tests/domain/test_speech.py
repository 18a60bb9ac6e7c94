"""A caller's name, read from what they said, whatever its letter case."""

from __future__ import annotations

import pytest

from bot.domain.speech import name_from_speech


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("Hola, soy Juan Pérez, es urgente", "Juan Pérez"),
        ("hola soy juan pérez", "Juan Pérez"),
        ("HOLA SOY JUAN PÉREZ, QUERÍA CITA", "JUAN PÉREZ"),
        ("buenos días me llamo maría de la fuente y quería pedir cita", "María de la Fuente"),
        ("soy Eva Gil quería una primera cita", "Eva Gil"),
        ("hi, my name is john smith, calling about my invoice", "John Smith"),
        ("soy cliente vuestro desde hace años", None),
        ("soy de Madrid", None),
        ("quería pedir presupuesto", None),
        ("", None),
    ],
)
def test_the_name_is_read_whatever_the_case(said: str, name: str | None) -> None:
    assert name_from_speech(said) == name
