"""Values the bench process and the servers it starts share. Imports nothing heavy: the bare
baseline server reads it too, and its memory is a baseline."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "clinic.yaml"
RESULTS = REPO / "bench" / "results"

HOST = "127.0.0.1"
TWILIO_TOKEN = "bench-twilio-auth-token"
SLACK_SECRET = "bench-slack-signing-secret"
SLACK_TOKEN = "xoxb-bench"
CLINIC_NUMBER = "+34910000000"
CARD_CHANNEL = "C0RECEP"
CLAIMER = "U0ANA"

# The TwiML our /twilio/voice answers in office hours (greeting + speech gather), as a constant for
# the baselines, so every server sends a body of the same size.
GATHER_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="http://127.0.0.1:8000/twilio/voice/'
    'gather" actionOnEmptyResult="true" input="speech" language="es-ES" method="POST" speechTimeout="auto"'
    ' timeout="6"><Say language="es-ES">Gracias por llamar a Clínica Dental Sonrisa.</Say><Say language="'
    'es-ES">Díganos su nombre y el motivo de su llamada, por favor.</Say></Gather></Response>'
)
