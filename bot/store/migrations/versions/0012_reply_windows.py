"""reply windows: when a WhatsApp card is re-rendered to say its 24-hour window closed

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-02 01:40:00.000000

``card.window_closes_at`` is a due time like ``escalate_at``: the heartbeat re-renders the card when
it passes and clears it. Open WhatsApp cards whose window is still open get theirs.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = bot.store.types.UTCDateTime(timezone=True)
_WINDOW = timedelta(hours=24)


def upgrade() -> None:
    with op.batch_alter_table("card") as batch:
        batch.add_column(sa.Column("window_closes_at", _TIME, nullable=True))
        batch.create_index("ix_card_window_due", ["window_closes_at"], unique=False)
    _open_windows()


def _open_windows() -> None:
    card = sa.table(
        "card",
        sa.column("id", sa.Integer()),
        sa.column("source", sa.String()),
        sa.column("status", sa.String()),
        sa.column("last_inbound_at", _TIME),
        sa.column("window_closes_at", _TIME),
    )
    connection = op.get_bind()
    since = datetime.now(UTC) - _WINDOW
    rows = connection.execute(
        sa.select(card.c.id, card.c.last_inbound_at).where(
            card.c.source == "whatsapp", card.c.status != "resolved", card.c.last_inbound_at > since
        )
    ).all()
    for row in rows:
        closes = row.last_inbound_at + _WINDOW
        connection.execute(sa.update(card).where(card.c.id == row.id).values(window_closes_at=closes))


def downgrade() -> None:
    with op.batch_alter_table("card") as batch:
        batch.drop_index("ix_card_window_due")
        batch.drop_column("window_closes_at")
