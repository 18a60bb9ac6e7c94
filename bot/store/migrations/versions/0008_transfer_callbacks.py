"""live transfer, kept callbacks, repeat callers (issue 10)

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0008"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = bot.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("transfer_state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("transfer_until", _UTC, nullable=True))
        batch_op.add_column(
            sa.Column("transfer_staff_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("transfer_attempt", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("transfer_leg_sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("transfer_connected_at", _UTC, nullable=True))
        batch_op.add_column(
            sa.Column("transfer_notice", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("call_count", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("last_call_at", _UTC, nullable=True))
        batch_op.create_index("ix_card_transfer_due", ["transfer_until"], unique=False)
        batch_op.create_index("ix_card_caller", ["org_id", "caller_number"], unique=False)
    with op.batch_alter_table("callback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tell_caller", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("escalate_at", _UTC, nullable=True))
        batch_op.add_column(sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("last_result", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("call_attempt", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("calling_staff_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_result_attempt", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index("ix_callback_overdue", ["escalate_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("callback", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_overdue")
        for column in (
            "last_result_attempt",
            "calling_staff_id",
            "call_attempt",
            "last_result",
            "escalation_level",
            "escalate_at",
            "tell_caller",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_index("ix_card_caller")
        batch_op.drop_index("ix_card_transfer_due")
        for column in (
            "last_call_at",
            "call_count",
            "transfer_notice",
            "transfer_connected_at",
            "transfer_leg_sid",
            "transfer_attempt",
            "transfer_staff_id",
            "transfer_until",
            "transfer_state",
        ):
            batch_op.drop_column(column)
