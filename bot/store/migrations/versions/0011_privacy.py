"""privacy: retention runs, message references kept, indexes for export and erase by number

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-01 23:00:00.000000

``retentionrun`` holds one row per organisation and day (the daily retention job runs once);
``sentmessage`` keeps the references of messages sent about a card when their outbox rows are
purged; ``card.caller_number`` and ``call.from_number`` are indexed so that finding one number among
millions of cards is an index lookup.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from bot.store.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retentionrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "day"),
    )
    op.create_table(
        "sentmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("external_ref", sa.Text(), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sentmessage_card_id"), "sentmessage", ["card_id"], unique=False)
    op.create_index("ix_card_caller_number", "card", ["caller_number"], unique=False)
    op.create_index("ix_call_from_number", "call", ["from_number"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_call_from_number", table_name="call")
    op.drop_index("ix_card_caller_number", table_name="card")
    op.drop_index(op.f("ix_sentmessage_card_id"), table_name="sentmessage")
    op.drop_table("sentmessage")
    op.drop_table("retentionrun")
