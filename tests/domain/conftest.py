"""A small clinic shared by the domain tests, built in memory."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.hours import BusinessCalendar
from bot.domain.org import OrgConfig

CLINIC: dict[str, Any] = {
    "organization": {
        "name": "Clínica Dental Sonrisa",
        "timezone": "Europe/Madrid",
        "phone_numbers": ["+34910000000"],
        "holidays": {"country": "ES", "subdivision": "MD"},
        "business_hours": {"mon-fri": ["09:00-14:00", "16:00-19:00"], "sat": ["10:00-13:00"]},
    },
    "staff": [
        {"id": "ana", "name": "Ana García", "slack_user": "U0ANA"},
        {"id": "luis", "name": "Luis Martín", "slack_user": "U0LUIS"},
        {"id": "marta", "name": "Marta López", "roles": ["manager"], "slack_user": "U0MARTA"},
        {"id": "rocio", "name": "Rocío Díaz", "roles": ["receptionist"]},
    ],
    "teams": [
        {"id": "recepcion", "name": "Recepción", "slack_channel": "C0RECEP", "members": ["ana", "luis"]},
        {"id": "facturacion", "name": "Facturación", "members": ["marta"]},
    ],
    "contacts": [
        {"name": "Juan Pérez", "phone": "+34911222333", "tags": ["vip", "client"], "owner": "ana"},
        {"name": "Carmen Ruiz", "phone": "+34600555666", "tags": ["client"], "owner": "rocio"},
        {"name": "Spam", "phone": "+34902000111", "tags": ["blocked"]},
    ],
    "triage": [
        {"category": "blocked", "when": {"contact_tag": "blocked"}, "action": "reject"},
        {
            "category": "urgent",
            "priority": "urgent",
            "when": {"keywords": ["urgente", "urgencia", "dolor", "emergencia"]},
            "route": "recepcion",
            "transfer": True,
        },
        {"category": "lead", "priority": "high", "when": {"keywords": ["presupuesto", "primera cita"]}},
        {"category": "client", "when": {"contact_tag": "client"}, "route": "owner"},
        {"category": "billing", "when": {"keywords": ["factura"]}, "route": "marta"},
        {"category": "lost", "when": {"keywords": ["perdido"]}, "route": "nadie"},
        {"category": "night", "when": {"hours": "out", "known_caller": False}, "route": "luis"},
    ],
}


@pytest.fixture
def clinic() -> OrgConfig:
    return OrgConfig.model_validate(CLINIC)


@pytest.fixture
def calendar(clinic: OrgConfig) -> BusinessCalendar:
    return BusinessCalendar.from_config(clinic.organization)
