"""channel conversations: where a chat platform (Teams) let the bot in, with its reference

Revision ID: 0009
Revises: 0002
Create Date: 2026-12-01 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0009"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channelconversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("conversation_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("team_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("user_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("service_url", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("updated_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "conversation_id"),
    )
    with op.batch_alter_table("channelconversation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channelconversation_team_id"), ["team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channelconversation_user_ref"), ["user_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("channelconversation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channelconversation_user_ref"))
        batch_op.drop_index(batch_op.f("ix_channelconversation_team_id"))
    op.drop_table("channelconversation")
