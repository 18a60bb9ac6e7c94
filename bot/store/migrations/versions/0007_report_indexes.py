"""reports: indexes for a day of one organisation, and the runs that make each report go once

Revision ID: 0007
Revises: 0008
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0007"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reportrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("report", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("staff_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "report", "day", "staff_id"),
    )
    op.create_index("ix_card_org_created", "card", ["org_id", "created_at"], unique=False)
    op.create_index("ix_auditevent_org_at", "auditevent", ["org_id", "at"], unique=False)
    op.create_index("ix_call_org_started", "call", ["org_id", "started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_call_org_started", table_name="call")
    op.drop_index("ix_auditevent_org_at", table_name="auditevent")
    op.drop_index("ix_card_org_created", table_name="card")
    op.drop_table("reportrun")
