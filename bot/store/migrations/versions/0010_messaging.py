"""messaging: SMS and WhatsApp conversations, their messages, and the customer's side of a card

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 22:30:00.000000

``conversation`` is one customer who writes to an organisation (the card their messages join, the
channel they last used, their opt-out); ``message`` every SMS or WhatsApp message either way, unique
on Twilio's MessageSid. ``card`` gains the customer's last message time (WhatsApp's 24-hour
window), their opt-out, the status of the last reply and the links to what they sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0010"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = bot.store.types.UTCDateTime(timezone=True)


def _text(length: int | None = None) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", _text(64), nullable=False),
        sa.Column("customer", _text(32), nullable=False),
        sa.Column("channel", _text(16), nullable=False),
        sa.Column("our_number", _text(32), nullable=True),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("last_inbound_at", _TIME, nullable=True),
        sa.Column("opted_out_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "customer"),
    )
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", _text(64), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("direction", _text(8), nullable=False),
        sa.Column("channel", _text(16), nullable=False),
        sa.Column("sid", _text(64), nullable=True),
        sa.Column("customer", _text(32), nullable=False),
        sa.Column("body", _text(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("template", sa.Boolean(), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("error_code", _text(16), nullable=True),
        sa.Column("sent_by", _text(64), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sid"),
    )
    with op.batch_alter_table("message") as batch:
        batch.create_index(batch.f("ix_message_card_id"), ["card_id"], unique=False)
    with op.batch_alter_table("card") as batch:
        batch.add_column(sa.Column("last_inbound_at", _TIME, nullable=True))
        batch.add_column(sa.Column("opted_out", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reply_status", _text(16), nullable=True))
        batch.add_column(sa.Column("reply_error", _text(16), nullable=True))
        batch.add_column(sa.Column("media", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("card") as batch:
        for column in ("media", "reply_error", "reply_status", "opted_out", "last_inbound_at"):
            batch.drop_column(column)
    op.drop_table("message")
    op.drop_table("conversation")
