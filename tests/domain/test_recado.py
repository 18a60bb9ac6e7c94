import pytest

from bot.domain.org import OrgConfig, TeamConfig
from bot.domain.recado import RecadoDraft, parse_recado, separator_index


@pytest.fixture
def english(clinic: OrgConfig) -> OrgConfig:
    front_desk = TeamConfig(id="reception", name="Front desk", members=["ana"])
    return clinic.model_copy(update={"teams": [*clinic.teams, front_desk]})


def test_spanish_message(clinic: OrgConfig) -> None:
    draft = parse_recado("Juan Pérez +34 600 111 222 para Ana urgente: quiere presupuesto", clinic)
    assert draft == RecadoDraft(
        caller_name="Juan Pérez",
        caller_number="+34600111222",
        addressee_kind="person",
        addressee_id="ana",
        urgent=True,
        reason="quiere presupuesto",
    )


def test_english_message(english: OrgConfig) -> None:
    draft = parse_recado("John Smith 600111222 for reception urgent: wants a quote", english)
    assert (draft.caller_name, draft.caller_number) == ("John Smith", "+34600111222")
    assert (draft.addressee_kind, draft.addressee_id) == ("team", "reception")
    assert draft.urgent
    assert draft.reason == "wants a quote"


def test_team_by_name_with_accents_and_case(clinic: OrgConfig) -> None:
    draft = parse_recado("Carmen 600555666 a la atención de RECEPCION: cambiar la cita", clinic)
    assert (draft.addressee_kind, draft.addressee_id) == ("team", "recepcion")
    assert draft.caller_name == "Carmen"
    assert draft.reason == "cambiar la cita"


def test_staff_by_full_name_id_and_mention(clinic: OrgConfig) -> None:
    assert parse_recado("Pepe para Luis Martín: llamar", clinic).addressee_id == "luis"
    assert parse_recado("Pepe para rocio: llamar", clinic).addressee_id == "rocio"
    assert parse_recado("Pepe @marta llamar", clinic).addressee_id == "marta"
    assert parse_recado("Pepe @ana llamar", clinic).addressee_id == "ana"


def test_a_neutral_mention_names_a_staff_member_or_a_team_by_id(clinic: OrgConfig) -> None:
    draft = parse_recado("Pepe 600111222 @recepcion: cambiar la cita", clinic)
    assert (draft.addressee_kind, draft.addressee_id, draft.reason) == (
        "team",
        "recepcion",
        "cambiar la cita",
    )


def test_no_phone(clinic: OrgConfig) -> None:
    draft = parse_recado("María de la Fuente para Rocío: llamar a las 10:30", clinic)
    assert draft.caller_name == "María de la Fuente"
    assert draft.caller_number is None
    assert (draft.addressee_kind, draft.addressee_id) == ("person", "rocio")
    assert not draft.urgent
    assert draft.reason == "llamar a las 10:30"


def test_no_phone_and_no_name(clinic: OrgConfig) -> None:
    draft = parse_recado("ha llamado alguien para Ana: que le devuelva la llamada", clinic)
    assert draft.caller_name is None
    assert draft.addressee_id == "ana"
    assert draft.reason == "que le devuelva la llamada"


def test_no_addressee(clinic: OrgConfig) -> None:
    draft = parse_recado("Juan Pérez, 600 111 222, quiere cita para mañana", clinic)
    assert draft.addressee_kind is None and draft.addressee_id is None
    assert draft.caller_name == "Juan Pérez"
    assert draft.reason == "quiere cita para mañana"


def test_without_colon_the_rest_is_the_reason(clinic: OrgConfig) -> None:
    draft = parse_recado("Juan Pérez 600111222 para Ana URGENTE quiere presupuesto", clinic)
    assert (draft.caller_name, draft.addressee_id, draft.urgent) == ("Juan Pérez", "ana", True)
    assert draft.reason == "quiere presupuesto"


def test_urgency_words_leave_the_reason(clinic: OrgConfig) -> None:
    draft = parse_recado("Pedro: emergencia, se le ha caído un empaste", clinic)
    assert draft.urgent
    assert draft.caller_name == "Pedro"
    assert draft.reason == "se le ha caído un empaste"


def test_phone_in_the_reason_is_kept(clinic: OrgConfig) -> None:
    draft = parse_recado("Juan Pérez: que llamen al 600 111 222", clinic)
    assert draft.caller_number == "+34600111222"
    assert draft.reason == "que llamen al 600 111 222"


def test_reason_is_never_empty(clinic: OrgConfig) -> None:
    text = "Juan Pérez 600111222 para Ana urgente"
    assert parse_recado(text, clinic).reason == text
    assert parse_recado("   ", clinic).reason == ""


def test_ambiguous_first_names_are_not_guessed(clinic: OrgConfig) -> None:
    staff = [*clinic.staff, clinic.staff[0].model_copy(update={"id": "ana2", "name": "Ana Ruiz"})]
    twins = clinic.model_copy(update={"staff": staff})
    assert parse_recado("Pepe para Ana: hola", twins).addressee_id is None
    assert parse_recado("Pepe para Ana Ruiz: hola", twins).addressee_id == "ana2"


def test_separator_ignores_times_and_urls() -> None:
    assert separator_index("a las 10:30: llamar") == 11
    assert separator_index("ver https://x.es") is None
    assert separator_index("sin separador") is None
