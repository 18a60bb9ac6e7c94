from bot.domain.text import contains_keyword, normalize_text


def test_normalize_text() -> None:
    assert normalize_text("URGÉNCIA") == "urgencia"
    assert normalize_text("  Rocío\t Díaz \n") == "rocio diaz"
    assert normalize_text("Straße") == "strasse"
    assert normalize_text("") == ""


def test_contains_keyword() -> None:
    text = normalize_text("Quería la PRIMERA cita, tengo dolores")
    assert contains_keyword(text, "primera cita")
    assert contains_keyword(text, "Dolor")
    assert contains_keyword(text, "cita")
    assert not contains_keyword(text, "lores")
    assert not contains_keyword(text, "urgente")
    assert not contains_keyword(text, "  ")
